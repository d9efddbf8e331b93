package serverstats_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/usage"
)

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func TestParseWindow(t *testing.T) {
	for _, c := range []struct {
		query, start, end string
	}{
		{"", "2025-03-15", "2026-03-14"},
		{"date_start=2026-01-01", "2026-01-01", "2026-12-31"},
		{"date_end=2025-12-31", "2025-01-01", "2025-12-31"},
		{"date_start=2024-01-01&date_end=2024-12-30", "2024-01-01", "2024-12-30"}, // 365 days of a leap year
		{"date_start=2026-03-01T23:30:00-02:00&date_end=2026-03-02T00:10:00Z", "2026-03-02", "2026-03-02"},
		{"date_start=2026-03-05&date_end=2026-03-05", "2026-03-05", "2026-03-05"},
	} {
		q, _ := url.ParseQuery(c.query)
		w, err := serverstats.ParseWindow(q, testNow)
		if err != nil || string(w.Start) != c.start || string(w.End) != c.end {
			t.Errorf("ParseWindow(%s) = %v, %v; want %s..%s", c.query, w, err, c.start, c.end)
		}
		if err == nil && w.Days() > serverstats.MaxWindowDays {
			t.Errorf("ParseWindow(%s) covers %d days", c.query, w.Days())
		}
	}
	for _, c := range []struct{ query, field string }{
		{"date_start=2024-01-01&date_end=2024-12-31", "date_end"},
		{"date_start=2026-03-02&date_end=2026-03-01", "date_end"},
		{"date_start=03/01/2026", "date_start"},
		{"date_end=2026-03-01T00:00:00", "date_end"},
	} {
		q, _ := url.ParseQuery(c.query)
		_, err := serverstats.ParseWindow(q, testNow)
		var ue *usage.Error
		if !errors.As(err, &ue) || ue.Kind != usage.KindInvalid || ue.Fields[0].Field != c.field {
			t.Errorf("ParseWindow(%s) = %v, want a 422 naming %s", c.query, err, c.field)
		}
	}
}

const minimal = `{"server_id":"s1","collection_date":"2026-03-14T01:00:00Z"}`

// TestDecodeUploadForms accepts an item, an array, a stream of both and
// gzip, and refuses an empty upload.
func TestDecodeUploadForms(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("[" + minimal + "," + minimal + "]"))
	zw.Close()
	for _, c := range []struct {
		name string
		body []byte
		n    int
	}{
		{"one item", []byte(minimal), 1},
		{"array", []byte("[" + minimal + "," + minimal + "]"), 2},
		{"stream", []byte(minimal + "\n[" + minimal + "," + minimal + "]\n" + minimal + "\n"), 4},
		{"gzip", gz.Bytes(), 2},
	} {
		snaps, err := serverstats.DecodeUpload(bytes.NewReader(c.body), testNow)
		if err != nil || len(snaps) != c.n {
			t.Errorf("%s: %d snapshots, %v; want %d", c.name, len(snaps), err, c.n)
		}
	}
	for _, body := range []string{"", "  \n", "[]", "null", `"x"`} {
		if _, err := serverstats.DecodeUpload(strings.NewReader(body), testNow); usage.ErrorKind(err) != usage.KindInvalid {
			t.Errorf("upload %q: %v, want a 422", body, err)
		}
	}
	snaps, _ := serverstats.DecodeUpload(strings.NewReader(minimal), testNow)
	if s := snaps[0]; s.GHEStats != nil || s.DormantUsers != nil || s.Day() != "2026-03-14" {
		t.Fatalf("minimal item decoded as %+v", s)
	}
}

// TestDecodeUploadPastTheCap: an upload whose items go on past
// MaxUploadBytes (here after whitespace that reaches it) is refused as too
// large, not cut at the cap and taken for the items before it.
func TestDecodeUploadPastTheCap(t *testing.T) {
	body := minimal + strings.Repeat(" ", serverstats.MaxUploadBytes) + minimal
	if _, err := serverstats.DecodeUpload(strings.NewReader(body), testNow); usage.ErrorKind(err) != usage.KindTooLarge {
		t.Fatalf("an item, %d bytes of spaces, an item: %v, want a 413", serverstats.MaxUploadBytes, err)
	}
}

// FuzzDecodeUpload: no input makes the decoder panic, and what it accepts
// encodes to a document it accepts again, unchanged.
func FuzzDecodeUpload(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(`[{"server_id":"a","collection_date":"2026-03-14T01:00:00Z","ghe_stats":{"repos":{"total_repos":1,"root_repos":1,"fork_repos":0,"org_repos":0,"total_pushes":0,"total_wikis":0}},"packages_stats":{"ecosystems":[{"name":"npm","enabled":"TRUE","daily_download_count":3}]},"advisory_db_stats":{"x":[1,2]}}]`))
	f.Add([]byte(`{"server_id":"a","collection_date":"2026-03-14T01:00:00Z","actions_stats":{"percentage_of_repos_using_actions":"12%"},"security_products":{"total_repos":-1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		snaps, err := serverstats.DecodeUpload(bytes.NewReader(b), testNow)
		if err != nil {
			if k := usage.ErrorKind(err); k == usage.KindInternal {
				t.Fatalf("internal error for %q: %v", b, err)
			}
			return
		}
		for _, s := range snaps {
			doc, err := s.MarshalDoc()
			if err != nil {
				t.Fatal(err)
			}
			again, err := serverstats.DecodeUpload(bytes.NewReader(doc), testNow)
			if err != nil || len(again) != 1 {
				t.Fatalf("an accepted snapshot does not upload again: %v\n%s", err, doc)
			}
			if doc2, _ := again[0].MarshalDoc(); !bytes.Equal(doc, doc2) {
				t.Fatalf("round trip changed the document:\n%s\n%s", doc, doc2)
			}
		}
	})
}
