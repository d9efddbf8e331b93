package insights

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

var now = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func TestParseTimestamp(t *testing.T) {
	good := map[string]string{
		"2024-09-11T15:04:05Z":        "2024-09-11T15:04:05Z",
		"2024-09-11T15:04:05.123456Z": "2024-09-11T15:04:05.123456Z",
		"2024-09-11T15:04:05+02:00":   "2024-09-11T13:04:05Z",
		"2024-09-11T15:04:05-0130":    "2024-09-11T16:34:05Z",
		"2024-09-11T15:04Z":           "2024-09-11T15:04:00Z",
		"2024-09-11":                  "2024-09-11T00:00:00Z",
		"2024-09-11 15:04:05":         "2024-09-11T15:04:05Z",
		"2024-02-29T00:00:00Z":        "2024-02-29T00:00:00Z",
		"2024-09-11T24:00:00Z":        "2024-09-12T00:00:00Z",
	}
	for in, want := range good {
		got, err := ParseTimestamp(in)
		if err != nil || got.Format(time.RFC3339Nano) != want {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "yesterday", "2024-9-11", "2023-02-29", "2024-09-11T15:04:05ZZ", "2024-09-11T25:00:00Z",
		"2024-13-01T00:00:00Z", "2024-09-11T15:04:05+24:00", "2024-09-11T15", "1726067045", "2024-09-11T15:04:05."} {
		if _, err := ParseTimestamp(in); err == nil {
			t.Errorf("ParseTimestamp(%q) accepted", in)
		}
	}
}

func TestParseIncrement(t *testing.T) {
	good := map[string]time.Duration{"1m": time.Minute, "5m": 5 * time.Minute, "10m": 10 * time.Minute, "1h": time.Hour, "1d": 24 * time.Hour, "2w": 14 * 24 * time.Hour}
	for in, want := range good {
		if got, err := ParseIncrement(in); err != nil || got != want {
			t.Errorf("ParseIncrement(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0m", "7x", "m", "5", "-5m", "1.5h", "5M", "367d", "99999999999m", "1 h"} {
		if _, err := ParseIncrement(in); err == nil {
			t.Errorf("ParseIncrement(%q) accepted", in)
		}
	}
}

func TestSegmentsCoverExactly(t *testing.T) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Unix()
	for _, rg := range [][2]int64{{0, 60}, {17 * 60, 3 * 86400}, {86400, 2 * 86400}, {59 * 60, 61 * 60}, {3600 - 60, 86400 + 3600 + 60}} {
		a, b := base+rg[0], base+rg[1]
		for _, max := range Levels {
			segs := Segments(a, b, max)
			if len(segs) > 7 {
				t.Errorf("Segments(%d, %d, %v): %d segments", rg[0], rg[1], max, len(segs))
			}
			at := a
			for _, s := range segs {
				if s.Start != at || s.End <= s.Start || s.Level > max || s.Start%s.Level.Seconds() != 0 || s.End%s.Level.Seconds() != 0 {
					t.Fatalf("Segments(%d, %d, %v) = %+v: not a tiling", rg[0], rg[1], max, segs)
				}
				at = s.End
			}
			if at != b {
				t.Fatalf("Segments(%d, %d, %v) = %+v ends at %d", rg[0], rg[1], max, segs, at)
			}
		}
	}
}

func TestParseParams(t *testing.T) {
	q := url.Values{"min_timestamp": {"2026-03-14T10:00:30Z"}, "max_timestamp": {"2026-03-14T11:00:00Z"},
		"sort": {"subject_name,last_request_timestamp", "total_request_count"}, "direction": {"asc"}, "per_page": {"5"}, "page": {"2"},
		"subject_name_substring": {"50%_off"}}
	p, err := ParseParams(q, EndpointSubjects, now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Start != time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC).Unix() || p.End != time.Date(2026, 3, 14, 11, 1, 0, 0, time.UTC).Unix() {
		t.Errorf("range = %d..%d", p.Start, p.End)
	}
	if strings.Join(p.Sort, ",") != "subject_name,last_request_timestamp,total_request_count" || p.Desc || p.PerPage != 5 || p.Page != 2 || p.Substring != "50%_off" {
		t.Errorf("params = %+v", p)
	}
	p, err = ParseParams(url.Values{"min_timestamp": {"2026-03-14T00:00:00Z"}}, EndpointSummary, now)
	if err != nil || p.End != Minute.Floor(now.Unix())+60 {
		t.Errorf("max_timestamp should default to now: %+v %v", p, err)
	}
	var ue *usage.Error
	_, err = ParseParams(url.Values{"min_timestamp": {"2026-03-14T00:00:00Z"}, "sort": {"api_route"}}, EndpointSubjects, now)
	if !errors.As(err, &ue) || ue.Kind != usage.KindInvalid || ue.Fields[0].Field != "sort" {
		t.Errorf("sort=api_route on subject-stats: %v", err)
	}
}

func TestFilterIsLiteralAndCaseInsensitive(t *testing.T) {
	names := []string{"50% OFF_Bot", "5000 of bots", "octocat"}
	match := func(sub string) (out []string) {
		for _, n := range names {
			if containsFold(n, strings.ToLower(sub)) {
				out = append(out, n)
			}
		}
		return out
	}
	if got := match("50%_off"); len(got) != 0 {
		t.Errorf("%%_ matched as wildcards: %+v", got)
	}
	if got := match("% off_"); len(got) != 1 || got[0] != "50% OFF_Bot" {
		t.Errorf("literal match failed: %+v", got)
	}
}

func validEvent() Event {
	return Event{ID: "e1", Timestamp: now.Add(-time.Minute), Org: "Acme-Web", ActorType: usage.ActorClassicPAT, ActorID: 1,
		ActorName: "tok", UserID: 2, UserLogin: "octocat", SubjectType: SubjectUser, SubjectID: 2, SubjectName: "octocat",
		HTTPMethod: "get", APIRoute: "/user"}
}

// TestDecodeAllManyEvents decodes batches around the decoder's chunk size
// (4,096 events), with blank and bad lines among them: every event comes
// back once, in order.
func TestDecodeAllManyEvents(t *testing.T) {
	for _, n := range []int{0, 1, 4095, 4096, 4097, 10_000} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for i := 0; i < n; i++ {
			e := validEvent()
			e.ID = "id-" + strconv.Itoa(i)
			enc.Encode(e)
			if i%1000 == 0 {
				buf.WriteString("\n")
			}
		}
		events, err := DecodeAll(bytes.NewReader(buf.Bytes()), now, n)
		if err != nil || len(events) != n {
			t.Fatalf("%d events: got %d, %v", n, len(events), err)
		}
		for i := range events {
			if events[i].ID != "id-"+strconv.Itoa(i) {
				t.Fatalf("%d events: event %d has id %q", n, i, events[i].ID)
			}
		}
		if n > 0 {
			if _, err := DecodeAll(bytes.NewReader(buf.Bytes()), now, n-1); usage.ErrorKind(err) != usage.KindTooLarge {
				t.Errorf("%d events, at most %d: %v", n, n-1, err)
			}
			buf.WriteString("not json\n")
			if _, err := DecodeAll(bytes.NewReader(buf.Bytes()), now, n+1); usage.ErrorKind(err) != usage.KindInvalid {
				t.Errorf("%d events and a bad line: %v", n, err)
			}
		}
	}
}

// BenchmarkDecodeAll decodes batches of 100,000 events.
func BenchmarkDecodeAll(b *testing.B) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := 0; i < 100_000; i++ {
		e := validEvent()
		e.ID = "id-" + strconv.Itoa(i)
		e.ActorID = int64(1 + i%400)
		enc.Encode(e)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeAll(bytes.NewReader(buf.Bytes()), now, 100_000); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100_000)/b.Elapsed().Seconds(), "events/s")
}

func TestDecodeAll(t *testing.T) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := 0; i < 3; i++ {
		e := validEvent()
		e.ID = string(rune('a' + i))
		enc.Encode(e)
	}
	buf.WriteString("\n") // blank lines are skipped
	events, err := DecodeAll(bytes.NewReader(buf.Bytes()), now, 10)
	if err != nil || len(events) != 3 || events[0].Org != "acme-web" || events[0].HTTPMethod != "GET" {
		t.Fatalf("DecodeAll = %+v, %v", events, err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(buf.Bytes())
	zw.Close()
	if events, err := DecodeAll(&gz, now, 10); err != nil || len(events) != 3 {
		t.Fatalf("gzip: %d events, %v", len(events), err)
	}
	if _, err := DecodeAll(bytes.NewReader(buf.Bytes()), now, 2); usage.ErrorKind(err) != usage.KindTooLarge {
		t.Errorf("too many events: %v", err)
	}
	bad := []struct{ line, field string }{
		{`{"id":"x","timestamp":"2026-03-14T15:00:00Z","org":"acme","actor_type":"robot"}`, "line 2: actor_type"},
		{`{"id":"x","actor_id":"12"}`, "line 2: actor_id"},
		{`{"id":"x","nested":{}}`, "line 2: nested"},
		{`not json`, "line 2"},
		{`{"id":"x","timestamp":"2030-01-01T00:00:00Z"}`, "line 2: timestamp"},
	}
	first, _ := json.Marshal(validEvent())
	for _, b := range bad {
		_, err := DecodeAll(strings.NewReader(string(first)+"\n"+b.line+"\n"), now, 10)
		var ue *usage.Error
		if !errors.As(err, &ue) || ue.Kind != usage.KindInvalid || !strings.HasPrefix(ue.Fields[0].Field, b.field) {
			t.Errorf("line %s: error %v, want a 422 naming %q", b.line, err, b.field)
		}
	}
}

func TestAggregateLevels(t *testing.T) {
	e1, e2 := validEvent(), validEvent()
	e1.Normalize()
	e2.Normalize()
	e2.Timestamp = e1.Timestamp.Add(-2 * time.Hour)
	e2.RateLimited = true
	r := Aggregate([]Event{e1, e2}, Cutoffs{})
	var minutes, fives, hours, days int64
	for k, c := range r.Orgs {
		switch k.Level {
		case Minute:
			minutes += c.Total
		case FiveMinutes:
			fives += c.Total
		case Hour:
			hours += c.Total
		case Day:
			days += c.Total
			if c.RateLimited != 1 || c.LastRateLimited != e2.Timestamp.Unix() || c.Last != e1.Timestamp.Unix() {
				t.Errorf("day bucket = %+v", c)
			}
		}
	}
	if minutes != 2 || fives != 2 || hours != 2 || days != 2 {
		t.Errorf("levels hold %d/%d/%d/%d requests, want 2 each", minutes, fives, hours, days)
	}
	cut := Cutoffs{}
	cut.Level[Minute] = Minute.Floor(e1.Timestamp.Unix())
	r = Aggregate([]Event{e1, e2}, cut)
	n := 0
	for k := range r.Orgs {
		if k.Level == Minute {
			n++
		}
	}
	if n != 1 {
		t.Errorf("a minute bucket older than the cutoff was kept")
	}
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2024-09-11T15:04:05Z", "2024-09-11", "2024-09-11T15:04:05.999+05:30", "2024-02-29T24:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTimestamp(s)
		if err != nil {
			return
		}
		// What parses re-parses to the same instant from its RFC 3339 form.
		again, err := ParseTimestamp(tm.Format(time.RFC3339Nano))
		if err != nil || !again.Equal(tm) {
			t.Fatalf("%q -> %v -> %v, %v", s, tm, again, err)
		}
	})
}

func FuzzParseIncrement(f *testing.F) {
	for _, s := range []string{"5m", "10m", "1h", "1d", "0m", "7x", "366d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseIncrement(s)
		if err == nil && (d <= 0 || d > MaxIncrement || d%time.Minute != 0) {
			t.Fatalf("ParseIncrement(%q) = %v", s, d)
		}
	})
}

func FuzzParseSort(f *testing.F) {
	f.Add("total_request_count,subject_name", "last_request_timestamp")
	f.Fuzz(func(t *testing.T, a, b string) {
		keys, err := ParseSort([]string{a, b}, EndpointRoutes.SortKeys())
		if err != nil {
			return
		}
		if len(keys) == 0 {
			t.Fatal("no keys")
		}
		for _, k := range keys {
			if !strings.Contains(strings.Join(EndpointRoutes.SortKeys(), " "), k) {
				t.Fatalf("accepted %q", k)
			}
		}
	})
}

func FuzzParseEventJSON(f *testing.F) {
	line, _ := json.Marshal(validEvent())
	f.Add(line)
	f.Add([]byte(`{"id":"\u00e9\ud83d\ude00","actor_id":-1,"rate_limited":null}`))
	f.Add([]byte(`{"id":"a\"b\\c\/\n","user_id":9223372036854775807}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Event
		if ParseEventJSON(b, &e) != nil {
			return
		}
		// Decoding with the decoder's string interning, cold and warm,
		// gives the same event.
		in := &stringSet{m: map[string]string{}}
		for i := 0; i < 2; i++ {
			var e2 Event
			if fe := parseEvent(b, &e2, in); fe != nil || e2 != e {
				t.Fatalf("interned decoding differs: %+v %v vs %+v", e2, fe, e)
			}
		}
		// Whatever the fast scanner accepts, encoding/json reads the same.
		type alias struct {
			ID          string `json:"id"`
			Org         string `json:"org"`
			ActorName   string `json:"actor_name"`
			SubjectName string `json:"subject_name"`
			APIRoute    string `json:"api_route"`
		}
		var a alias
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("scanner accepted %q, encoding/json refuses it: %v", b, err)
		}
		if a.ID != e.ID || a.Org != e.Org || a.ActorName != e.ActorName || a.SubjectName != e.SubjectName || a.APIRoute != e.APIRoute {
			t.Fatalf("scanner read %+v, encoding/json %+v from %q", e, a, b)
		}
	})
}

// TestAggregatePackedMatchesAggregate checks the packed form holds the
// same deltas as the Rollup maps.
func TestAggregatePackedMatchesAggregate(t *testing.T) {
	var events []Event
	for i := 0; i < 500; i++ {
		e := validEvent()
		e.Timestamp = now.Add(-time.Duration(i*37) * time.Second)
		e.ActorID = int64(1 + i%7)
		e.UserID = int64(i % 4) // 0: no user
		e.SubjectID = int64(1 + i%5)
		e.APIRoute = "/r/:id/" + string(rune('a'+i%6))
		e.RateLimited = i%9 == 0
		e.Normalize()
		events = append(events, e)
	}
	cut := Cutoffs{}
	cut.Level[Minute] = Minute.Floor(now.Add(-2 * time.Hour).Unix())
	r := Aggregate(events, cut)
	p := AggregatePacked(events, cut)
	want := map[string]int64{}
	for _, c := range r.Orgs {
		want["org total"] += c.Total
	}
	for _, c := range r.Subjects {
		want["subject entries"] += c.Total
		want["subject rl"] += c.RateLimited
	}
	for _, c := range r.Routes {
		want["route entries"] += c.Total
		want["route last"] += c.Last
	}
	for _, c := range r.Users {
		want["user entries"] += c.Total
		want["user rl last"] += c.LastRateLimited
	}
	got := map[string]int64{}
	for _, row := range p.OrgRows {
		got["org total"] += row.Total
		for _, e := range row.Entries {
			got["subject entries"] += e.Total
			got["subject rl"] += e.RateLimited
		}
	}
	for _, row := range p.ActorRows {
		for _, e := range row.Entries {
			got["route entries"] += e.Total
			got["route last"] += e.Last
		}
	}
	for _, row := range p.UserRows {
		var sum int64
		for _, e := range row.Entries {
			got["user entries"] += e.Total
			got["user rl last"] += e.LastRateLimited
			sum += e.Total
		}
		if sum != row.Total {
			t.Errorf("user row total %d, entries sum to %d", row.Total, sum)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: packed %d, rollup %d", k, got[k], v)
		}
	}
	if len(p.Orgs) != 1 || len(p.Actors) != 7 || len(p.Routes) != 6 || len(p.Subjects) != 5 {
		t.Errorf("dictionaries: %d orgs, %d actors, %d routes, %d subjects", len(p.Orgs), len(p.Actors), len(p.Routes), len(p.Subjects))
	}
}

// TestAggregatePackedExact checks every packed row and entry against the
// Rollup maps, over events in random order with repeated timestamps,
// several organizations and cutoffs at every level.
func TestAggregatePackedExact(t *testing.T) {
	var events []Event
	for i := 0; i < 3000; i++ {
		e := validEvent()
		x := uint64(i)*0x9e3779b97f4a7c15 ^ uint64(i)>>3
		e.Timestamp = now.Add(-time.Duration(x%(3*86400)) * time.Second)
		e.Org = []string{"acme-web", "Acme-Data"}[i%2]
		e.ActorID = int64(1 + x%11)
		e.ActorName = "n" + strconv.Itoa(int(x%3))
		e.UserID = int64(x % 4)
		e.SubjectID = int64(1 + x%5)
		e.SubjectName = "s" + strconv.Itoa(int(x%2))
		e.APIRoute = "/r/" + string(rune('a'+x%6))
		e.RateLimited = x%9 == 0
		e.Weight = int64(x % 3)
		e.Normalize()
		events = append(events, e)
	}
	cut := Cutoffs{}
	cut.Level[Minute] = Minute.Floor(now.Add(-20 * time.Hour).Unix())
	cut.Level[FiveMinutes] = cut.Level[Minute]
	cut.Level[Hour] = Hour.Floor(now.Add(-40 * time.Hour).Unix())
	cut.Level[Day] = Day.Floor(now.Add(-48 * time.Hour).Unix())
	r := Aggregate(events, cut)
	p := AggregatePacked(events, cut)
	type k struct {
		table string
		org   string
		key   any
		BucketKey
		ref any
	}
	want, got := map[k]Counts{}, map[k]Counts{}
	for key, c := range r.Orgs {
		want[k{"org", key.Org, nil, key.BucketKey, nil}] = Counts{Total: c.Total, RateLimited: c.RateLimited}
	}
	for key, c := range r.Subjects {
		want[k{"subject", key.Org, nil, key.BucketKey, key.Subject}] = *c
	}
	for key, c := range r.Actors {
		want[k{"actor", key.Org, key.Actor, key.BucketKey, nil}] = Counts{Total: c.Total, RateLimited: c.RateLimited}
	}
	for key, c := range r.Routes {
		want[k{"route", key.Org, key.Actor, key.BucketKey, key.Route}] = *c
	}
	for key, c := range r.Users {
		want[k{"user", key.Org, key.UserID, key.BucketKey, key.Actor}] = *c
		tk := k{"user total", key.Org, key.UserID, key.BucketKey, nil}
		have := want[tk]
		have.Total += c.Total
		have.RateLimited += c.RateLimited
		want[tk] = have
	}
	put := func(key k, c Counts) {
		if _, dup := got[key]; dup {
			t.Errorf("packed holds %+v twice", key)
		}
		got[key] = c
	}
	for _, row := range p.OrgRows {
		bk := BucketKey{row.Level, row.Bucket}
		put(k{"org", p.Orgs[row.Org], nil, bk, nil}, Counts{Total: row.Total, RateLimited: row.RateLimited})
		for _, e := range row.Entries {
			put(k{"subject", p.Orgs[row.Org], nil, bk, p.Subjects[e.Ref]}, e.Counts)
		}
	}
	for _, row := range p.ActorRows {
		bk := BucketKey{row.Level, row.Bucket}
		put(k{"actor", p.Orgs[row.Org], p.Actors[row.Key], bk, nil}, Counts{Total: row.Total, RateLimited: row.RateLimited})
		for _, e := range row.Entries {
			put(k{"route", p.Orgs[row.Org], p.Actors[row.Key], bk, p.Routes[e.Ref]}, e.Counts)
		}
	}
	for _, row := range p.UserRows {
		bk := BucketKey{row.Level, row.Bucket}
		put(k{"user total", p.Orgs[row.Org], row.Key, bk, nil}, Counts{Total: row.Total, RateLimited: row.RateLimited})
		for _, e := range row.Entries {
			put(k{"user", p.Orgs[row.Org], row.Key, bk, p.Actors[e.Ref]}, e.Counts)
		}
	}
	if len(want) < 1000 {
		t.Fatalf("only %d roll-up cells: the test data is too narrow", len(want))
	}
	for key, c := range want {
		if got[key] != c {
			t.Errorf("%+v: packed %+v, rollup %+v", key, got[key], c)
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("%+v: packed only", key)
		}
	}
	if !maps.Equal(p.ActorInfo, r.ActorInfo) || !maps.Equal(p.SubjectInfo, r.SubjectInfo) {
		t.Errorf("names differ:\npacked %v %v\nrollup %v %v", p.ActorInfo, p.SubjectInfo, r.ActorInfo, r.SubjectInfo)
	}
}

// TestAggregatePackedFolded checks the folded form (PackOptions.FoldMinutes)
// against the plain one: no actor or user minute row; each five-minute
// row's entries are the minute entries of its five minutes, one per group
// and minute (also the minutes before the minute cutoff, when its five
// minutes are kept), summing to its totals; every other row is the same.
func TestAggregatePackedFolded(t *testing.T) {
	var events []Event
	for i := 0; i < 3000; i++ {
		e := validEvent()
		x := uint64(i)*0x9e3779b97f4a7c15 ^ uint64(i)>>3
		e.Timestamp = now.Add(-time.Duration(x%(2*86400)) * time.Second)
		e.Org = []string{"acme-web", "Acme-Data"}[i%2]
		e.ActorID = int64(1 + x%11)
		e.UserID = int64(x % 4)
		e.SubjectID = int64(1 + x%5)
		e.APIRoute = "/r/" + string(rune('a'+x%6))
		e.RateLimited = x%9 == 0
		e.Weight = int64(x % 3)
		e.Normalize()
		events = append(events, e)
	}
	// in time order (and for one organization) the rows are found
	// without a map; out of order through one
	for _, order := range []string{"as generated", "time order", "one organization in time order"} {
		if order != "as generated" {
			slices.SortStableFunc(events, func(a, b Event) int { return a.Timestamp.Compare(b.Timestamp) })
		}
		if order == "one organization in time order" {
			for i := range events {
				events[i].Org = "acme-web"
			}
		}
		t.Run(order, func(t *testing.T) { testAggregatePackedFolded(t, events) })
	}
}

func testAggregatePackedFolded(t *testing.T, events []Event) {
	cut := Cutoffs{}
	cut.Level[Minute] = Minute.Floor(now.Add(-20*time.Hour).Unix()) + 120 // inside a five-minute bucket
	cut.Level[FiveMinutes] = FiveMinutes.Floor(cut.Level[Minute])
	cut.Level[Hour] = Hour.Floor(now.Add(-30 * time.Hour).Unix())
	all := cut
	all.Level[Minute] = 0
	plain := AggregatePacked(events, all)
	fold := AggregatePackedWith(events, cut, PackOptions{FoldMinutes: true})
	type k struct {
		table    string
		org      string
		key      any
		level    Level
		bucket   int64
		ref      any
		minute   int64
		rowTotal bool
	}
	collect := func(p *Packed, folded bool) map[k]Counts {
		out := map[k]Counts{}
		add := func(key k, c Counts) {
			have := out[key]
			if folded && !key.rowTotal && have != (Counts{}) {
				t.Errorf("%+v: two entries", key)
			}
			have.Add(c)
			out[key] = have
		}
		for _, tb := range []struct {
			name string
			rows []PackedRow
			key  func(r *PackedRow) any
			ref  func(e *PackedEntry) any
		}{
			{"actor", p.ActorRows, func(r *PackedRow) any { return p.Actors[r.Key] }, func(e *PackedEntry) any { return p.Routes[e.Ref] }},
			{"user", p.UserRows, func(r *PackedRow) any { return r.Key }, func(e *PackedEntry) any { return p.Actors[e.Ref] }},
			{"org", p.OrgRows, func(r *PackedRow) any { return nil }, func(e *PackedEntry) any { return p.Subjects[e.Ref] }},
		} {
			for i := range tb.rows {
				r := &tb.rows[i]
				lvl, b := r.Level, r.Bucket
				fine := tb.name != "org" && lvl <= FiveMinutes
				if fine && folded && lvl == Minute {
					t.Errorf("%s: a minute row in the folded form", tb.name)
				}
				if fine && !folded {
					if lvl == FiveMinutes {
						continue // the folded form's five minutes are the minutes
					}
					if b = FiveMinutes.Floor(b); b < cut.Level[FiveMinutes] {
						continue
					}
					lvl = FiveMinutes
				}
				var sum Counts
				for j := range r.Entries {
					e := &r.Entries[j]
					m := int64(0)
					if fine {
						m = Minute.Floor(e.Last)
					}
					add(k{tb.name, p.Orgs[r.Org], tb.key(r), lvl, b, tb.ref(e), m, false}, e.Counts)
					sum.Total += e.Total
					sum.RateLimited += e.RateLimited
				}
				if sum.Total != r.Total || sum.RateLimited != r.RateLimited {
					t.Errorf("%s row %d/%d: totals %d/%d, entries sum to %d/%d", tb.name, lvl, r.Bucket, r.Total, r.RateLimited, sum.Total, sum.RateLimited)
				}
				add(k{tb.name, p.Orgs[r.Org], tb.key(r), lvl, b, nil, 0, true}, Counts{Total: r.Total, RateLimited: r.RateLimited})
			}
		}
		return out
	}
	want, got := collect(plain, false), collect(fold, true)
	for key := range want { // the plain form with all minutes has the organization's old minutes too
		if key.table == "org" && key.level == Minute && key.bucket < cut.Level[Minute] {
			delete(want, key)
		}
	}
	if len(want) < 1000 {
		t.Fatalf("only %d cells: the test data is too narrow", len(want))
	}
	if !maps.Equal(want, got) {
		n := 0
		for key, c := range want {
			if got[key] != c && n < 10 {
				t.Errorf("%+v: folded %+v, plain %+v", key, got[key], c)
				n++
			}
		}
		for key := range got {
			if _, ok := want[key]; !ok && n < 20 {
				t.Errorf("%+v: folded only", key)
				n++
			}
		}
		t.Fatalf("folded form differs: %d cells, want %d", len(got), len(want))
	}
}

func BenchmarkAggregatePacked(b *testing.B) {
	events := make([]Event, 100_000)
	for i := range events {
		e := validEvent()
		x := uint64(i) * 0x9e3779b97f4a7c15
		e.Timestamp = now.Add(-36*time.Hour + time.Duration(i)*36*time.Hour/time.Duration(len(events)))
		e.ActorID = int64(1 + x%400)
		e.UserID = int64(x % 200)
		e.SubjectID = int64(1 + x%200)
		e.APIRoute = "/r/" + strconv.Itoa(int(x%300))
		e.Normalize()
		events[i] = e
	}
	cut := DefaultRetention.Cutoffs(now)
	for _, o := range []PackOptions{{}, {FoldMinutes: true}} {
		b.Run(fmt.Sprintf("fold=%v", o.FoldMinutes), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				AggregatePackedWith(events, cut, o)
			}
			b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// TestAggregatePackedHourMinutes checks PackOptions.HourMinutes against the
// plain form: no actor or user minute or five-minute row; every other row
// the same; and each hour row's Minutes are the plain form's minute
// entries of that hour that the cutoffs keep, one per group and minute.
func TestAggregatePackedHourMinutes(t *testing.T) {
	var events []Event
	for i := 0; i < 3000; i++ {
		e := validEvent()
		x := uint64(i)*0x9e3779b97f4a7c15 ^ uint64(i)>>3
		e.Timestamp = now.Add(-time.Duration(x%(2*86400)) * time.Second)
		e.Org = []string{"acme-web", "Acme-Data"}[i%2]
		e.ActorID = int64(1 + x%11)
		e.UserID = int64(x % 4)
		e.SubjectID = int64(1 + x%5)
		e.APIRoute = "/r/" + string(rune('a'+x%6))
		e.RateLimited = x%9 == 0
		e.Weight = int64(x % 3)
		e.Normalize()
		events = append(events, e)
	}
	// in time order (and for one organization) the rows are found
	// without a map; out of order through one
	for _, order := range []string{"as generated", "time order", "one organization in time order"} {
		if order != "as generated" {
			slices.SortStableFunc(events, func(a, b Event) int { return a.Timestamp.Compare(b.Timestamp) })
		}
		if order == "one organization in time order" {
			for i := range events {
				events[i].Org = "acme-web"
			}
		}
		t.Run(order, func(t *testing.T) { testAggregatePackedHourMinutes(t, events) })
	}
}

func testAggregatePackedHourMinutes(t *testing.T, events []Event) {
	cut := Cutoffs{}
	cut.Level[Minute] = Minute.Floor(now.Add(-20*time.Hour).Unix()) + 120 // inside an hour
	cut.Level[FiveMinutes] = FiveMinutes.Floor(cut.Level[Minute])
	cut.Level[Hour] = Hour.Floor(now.Add(-30 * time.Hour).Unix())
	// the hour rows keep the minutes of the five minutes the cutoffs keep
	all := cut
	all.Level[Minute] = cut.Level[FiveMinutes]
	plain := AggregatePacked(events, all)
	hm := AggregatePackedWith(events, cut, PackOptions{HourMinutes: true})
	type k struct {
		table  string
		org    string
		key    any
		level  Level
		bucket int64
		ref    any
	}
	collect := func(p *Packed, hourMinutes bool) map[k]Counts {
		out := map[k]Counts{}
		for _, tb := range []struct {
			name string
			rows []PackedRow
			key  func(r *PackedRow) any
			ref  func(e *PackedEntry) any
		}{
			{"actor", p.ActorRows, func(r *PackedRow) any { return p.Actors[r.Key] }, func(e *PackedEntry) any { return p.Routes[e.Ref] }},
			{"user", p.UserRows, func(r *PackedRow) any { return r.Key }, func(e *PackedEntry) any { return p.Actors[e.Ref] }},
			{"org", p.OrgRows, func(r *PackedRow) any { return nil }, func(e *PackedEntry) any { return p.Subjects[e.Ref] }},
		} {
			for i := range tb.rows {
				r := &tb.rows[i]
				if tb.name != "org" && r.Level == FiveMinutes {
					if hourMinutes {
						t.Errorf("%s: a five-minute row", tb.name)
					}
					continue
				}
				if tb.name != "org" && r.Level == Minute && hourMinutes {
					t.Errorf("%s: a minute row", tb.name)
				}
				if tb.name != "org" && r.Level == Minute { // compared with the hour rows' minutes
					for j := range r.Entries {
						e := &r.Entries[j]
						out[k{tb.name, p.Orgs[r.Org], tb.key(r), -1, r.Bucket, tb.ref(e)}] = e.Counts
					}
					continue
				}
				var sum Counts
				for j := range r.Entries {
					e := &r.Entries[j]
					out[k{tb.name, p.Orgs[r.Org], tb.key(r), r.Level, r.Bucket, tb.ref(e)}] = e.Counts
					sum.Total += e.Total
					sum.RateLimited += e.RateLimited
				}
				if sum.Total != r.Total || sum.RateLimited != r.RateLimited {
					t.Errorf("%s row %d/%d: totals %d/%d, entries sum to %d/%d", tb.name, r.Level, r.Bucket, r.Total, r.RateLimited, sum.Total, sum.RateLimited)
				}
				if !hourMinutes && len(r.Minutes) > 0 {
					t.Errorf("%s row %d/%d: minutes in the plain form", tb.name, r.Level, r.Bucket)
				}
				for j := range r.Minutes {
					e := &r.Minutes[j]
					m := Minute.Floor(e.Last)
					if r.Level != Hour || Hour.Floor(m) != r.Bucket {
						t.Errorf("%s row %d/%d: minute %d", tb.name, r.Level, r.Bucket, m)
					}
					key := k{tb.name, p.Orgs[r.Org], tb.key(r), -1, m, tb.ref(e)}
					if _, ok := out[key]; ok {
						t.Errorf("%+v: two entries", key)
					}
					out[key] = e.Counts
				}
			}
		}
		return out
	}
	want, got := collect(plain, false), collect(hm, true)
	for key := range want { // the plain form has the organization's minutes of the five minutes too
		if key.table == "org" && key.level == Minute && key.bucket < cut.Level[Minute] {
			delete(want, key)
		}
	}
	if len(want) < 1000 {
		t.Fatalf("only %d cells: the test data is too narrow", len(want))
	}
	if !maps.Equal(want, got) {
		n := 0
		for key, c := range want {
			if got[key] != c && n < 10 {
				t.Errorf("%+v: hour minutes %+v, plain %+v", key, got[key], c)
				n++
			}
		}
		for key := range got {
			if _, ok := want[key]; !ok && n < 20 {
				t.Errorf("%+v: hour minutes only", key)
				n++
			}
		}
		t.Fatalf("hour-minutes form differs: %d cells, want %d", len(got), len(want))
	}
}

// TestUpperMethodIsHTTPMethods holds upperMethod's switch (the fast path of
// normalize and Validate) to httpMethods, the list the error names.
func TestUpperMethodIsHTTPMethods(t *testing.T) {
	for _, m := range httpMethods {
		if !upperMethod(m) || !validMethod(m) || !validMethod(strings.ToLower(m)) {
			t.Errorf("%s: upperMethod %v, validMethod %v, lower case %v", m, upperMethod(m), validMethod(m), validMethod(strings.ToLower(m)))
		}
		if upperMethod(strings.ToLower(m)) {
			t.Errorf("upperMethod(%q) is true", strings.ToLower(m))
		}
	}
	for _, m := range []string{"", "CONNECT", "TRACE", "GETS", "get "} {
		if upperMethod(m) || validMethod(m) {
			t.Errorf("%q taken as an HTTP method", m)
		}
	}
}
