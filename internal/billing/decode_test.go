package billing

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// TestParseRecordFastAgrees checks that the fast path either declines a
// line or decodes it exactly as ParseRecordJSON does.
func TestParseRecordFastAgrees(t *testing.T) {
	base := Record{ID: "r-1", Timestamp: time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC), Product: "actions", SKU: "actions_linux",
		Quantity: Units(3), Unit: "minutes", Enterprise: "acme", Organization: "acme-web", Repository: "acme-web/api",
		Username: "mona", WorkflowPath: ".github/workflows/ci.yml", Model: "GPT-5", Public: true}
	good, _ := json.Marshal(base)
	lines := []string{string(good),
		`{"id":"a","timestamp":"2026-01-15T10:00:00.5+02:00","product":"copilot","sku":"copilot_premium_request","quantity":1.25,"unit":"requests","organization":"o"}`,
		`  { "id" : "a" , "quantity" : 0 , "public" : false }  `,
		`{"id":"a","quantity":-0}`, `{"id":"a","quantity":-3.5}`, `{"id":"a","quantity":1e3}`, `{"id":"a","quantity":01}`,
		`{"id":"a","quantity":1.}`, `{"id":"a","quantity":.5}`, `{"id":"a","quantity":"1"}`, `{"id":"a","quantity":null}`,
		`{"id":"a","quantity":0.0000000001}`, `{"id":"a","quantity":9223372036.854775807}`, `{"id":"a","quantity":9223372036.854775808}`,
		`{"id":"a","quantity":99999999999}`, `{"id":"a"}`, `{}`, `{"ID":"a","quantity":1}`, `{"id":"a","quantity":1,"extra":1}`,
		`{"id":"a\"b","quantity":1}`, `{"id":"é","quantity":1}`, "{\"id\":\"\xff\",\"quantity\":1}", `{"id":5,"quantity":1}`,
		`{"id":"a","quantity":1,"public":"true"}`, `{"id":"a","quantity":1,"public":null}`, `{"id":"a","quantity":1} {}`,
		`{"id":"a","quantity":1,}`, `{"id":"a","quantity":1`, `{"id":"a","timestamp":"yesterday","quantity":1}`,
		`{"id":"a","timestamp":"2026-01-15","quantity":1}`, `{"id":"a","quantity":1,"id":"b"}`, `[]`, `null`, ``,
		`{"id":"a","quantity":1,"public":true,"public":false}`, `{"id":"a","quantity":2,"quantity":3}`,
	}
	for i := range 200 {
		r := base
		r.ID = fmt.Sprintf("gen-%d", i)
		r.Quantity = Quantity(int64(i) * 123_456_789)
		b, _ := json.Marshal(r)
		lines = append(lines, string(b))
	}
	fast := 0
	for _, l := range lines {
		if checkFastAgrees(t, l) {
			fast++
		}
	}
	if fast < 200 {
		t.Fatalf("the fast path took only %d of the lines", fast)
	}
}

// FuzzParseRecordFast checks on any line that the fast path either
// declines it or decodes it exactly as ParseRecordJSON does (DecodeAll
// then gives the same records and the same error messages either way).
func FuzzParseRecordFast(f *testing.F) {
	for _, l := range []string{`{"id":"a","quantity":1}`, `{"id":"abcdefgh\"ijklmnop","quantity":1}`,
		`{"id":"abcdefghijklmnopqrstuvwxyz","sku":"actions_linux","quantity":12.5,"public":true}`,
		"{\"id\":\"abcdefg\x7f\x80hijklmn\",\"quantity\":1}", "{\"id\":\"abcdefg\x1fhijklmn\",\"quantity\":1}",
		`{"id":"abcdefg\\hijklmnop","quantity":1}`, `{"timestamp":"2026-01-15T10:00:00Z","quantity":3,"id":"12345678"}`} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, l string) { checkFastAgrees(t, l) })
}

func checkFastAgrees(t *testing.T, l string) bool {
	t.Helper()
	var got Record
	if !parseRecordFast(l, &got) {
		return false
	}
	var want Record
	if fe := ParseRecordJSON([]byte(l), &want); fe != nil {
		t.Fatalf("%s: fast path accepted what ParseRecordJSON rejects (%v)", l, fe)
	}
	if !got.Timestamp.Equal(want.Timestamp) {
		t.Fatalf("%s: timestamp %v, want %v", l, got.Timestamp, want.Timestamp)
	}
	got.Timestamp = want.Timestamp
	if got != want {
		t.Fatalf("%s:\n got %+v\nwant %+v", l, got, want)
	}
	return true
}

// TestParseTimeZAgrees checks that the fast timestamp form gives what
// ParseTime gives, and declines what it rejects.
func TestParseTimeZAgrees(t *testing.T) {
	for _, s := range []string{"2026-01-15T10:00:00Z", "2024-02-29T23:59:59Z", "2025-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-12-31T24:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T00:60:00Z",
		"2026-01-01T00:00:60Z", "0000-01-01T00:00:00Z", "2026-01-01T00:00:00z", "2026-01-01 00:00:00Z", "2026-1-01T00:00:00Z",
		"+026-01-01T00:00:00Z", "2026-01-01T0a:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z"} {
		got, ok := parseTimeZ(s)
		want, err := ParseTime(s)
		if ok && (err != nil || !got.Equal(want) || got.Location() != want.Location()) {
			t.Errorf("%s: fast %v, ParseTime %v %v", s, got, want, err)
		}
	}
	for d := range 3000 {
		tm := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(d) * 7 * time.Hour).Add(time.Duration(d) * time.Second)
		s := tm.Format("2006-01-02T15:04:05Z")
		got, ok := parseTimeZ(s)
		if !ok || !got.Equal(tm) {
			t.Fatalf("%s: fast %v %v", s, got, ok)
		}
	}
}

// TestDecodeAllSegments decodes bodies whose lines cross the reader's
// segments, with lines too long within a segment and longer than one.
func TestDecodeAllSegments(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c := DefaultCatalog()
	line := func(i int) string {
		return fmt.Sprintf(`{"id":"seg-%d","timestamp":"2026-02-01T10:00:00Z","product":"actions","sku":"actions_linux","quantity":%d,"unit":"minutes","organization":"acme-web"}`, i, i%7)
	}
	var body strings.Builder
	const n = 30_000 // about 4 MB: several segments
	for i := range n {
		body.WriteString(line(i))
		body.WriteString("\n")
	}
	recs, err := DecodeAll(strings.NewReader(body.String()), c, now, MaxBatch)
	if err != nil || len(recs) != n {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	for i, r := range recs {
		if r.ID != fmt.Sprintf("seg-%d", i) || r.Quantity != Units(int64(i%7)) {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	for _, long := range []int{MaxLineBytes, 100 << 10, decodeSegment + 10, 3*decodeSegment + 5} {
		for _, at := range []int{0, 4, 7000} {
			var b strings.Builder
			for i := range 8000 {
				if i == at {
					b.WriteString(`{"id":"` + strings.Repeat("x", long) + `"}`)
				} else {
					b.WriteString(line(i))
				}
				b.WriteString("\n")
			}
			_, err := DecodeAll(strings.NewReader(b.String()), c, now, MaxBatch)
			var ue *usage.Error
			if !errors.As(err, &ue) || len(ue.Fields) != 1 || ue.Fields[0].Field != fmt.Sprintf("line %d", at+1) ||
				!strings.Contains(ue.Fields[0].Message, "longer than") {
				t.Fatalf("long %d at %d: %v %+v", long, at, err, ue)
			}
		}
	}
}
