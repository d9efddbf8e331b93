package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/testenv"
)

// routeStats returns the routes of an actor's route-stats (method and
// route, with their totals), over the last two hours.
func routeStats(t *testing.T, env *testenv.Env, actorType string, actorID int64, now time.Time) map[string]int64 {
	t.Helper()
	q := url.Values{"min_timestamp": {now.Add(-2 * time.Hour).Format(time.RFC3339)}, "per_page": {"100"}}
	resp, body := env.Get(t, fmt.Sprintf("/orgs/acme-web/insights/api/route-stats/%s/%d?%s", actorType, actorID, q.Encode()), env.AdminToken)
	if resp.StatusCode != 200 {
		t.Fatalf("route-stats: %d %s", resp.StatusCode, body)
	}
	var items []insights.RouteStat
	if err := json.Unmarshal([]byte(body), &items); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, it := range items {
		out[it.HTTPMethod+" "+it.APIRoute] = it.TotalRequestCount
	}
	return out
}

// TestIngestMapsRawPathsToGitHubRoutes: a gateway that ships raw request
// paths gets GitHub's route templates in route-stats, one per template,
// and unknown paths fold into a bounded bucket instead of one route per
// URL; templates are kept.
func TestIngestMapsRawPathsToGitHubRoutes(t *testing.T) {
	env := testenv.New(t)
	now := time.Now().UTC()
	var events []insights.Event
	add := func(method, route string) {
		e := testEvent(0, now)
		e.ID = fmt.Sprint("raw-", len(events))
		e.Timestamp = now.Add(-time.Minute).Truncate(time.Second)
		e.ActorID = 9001
		e.HTTPMethod, e.APIRoute = method, route
		events = append(events, e)
	}
	for i := range 300 {
		add("GET", fmt.Sprintf("/repos/acme/web/issues/%d", i))
		add("GET", fmt.Sprintf("/api/v3/repos/acme/r%d/contents/src/f%d.go?ref=main", i, i))
		add("POST", fmt.Sprintf("/repos/acme/web/no-such/%d", i))
	}
	add("GET", "/repos/{owner}/{repo}/pulls")
	add("GET", "/repositories/:repository_id")
	if resp, body := postEvents(t, env, env.AdminToken, ndjson(t, events)); resp.StatusCode != 200 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	got := routeStats(t, env, string(events[0].ActorType), 9001, now)
	want := map[string]int64{
		"GET /repos/:owner/:repo/issues/:issue_number": 300,
		"GET /repos/:owner/:repo/contents/:path":       300,
		"POST /repos/:owner/:repo/*":                   300,
		"GET /repos/:owner/:repo/pulls":                1,
		"GET /repositories/:repository_id":             1,
	}
	if len(got) != len(want) {
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.Fatalf("route-stats has %d routes, want %d: %v", len(got), len(want), keys[:min(len(keys), 10)])
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("route-stats %q = %d, want %d", k, got[k], n)
		}
	}
}

// fieldsOf returns the "field" values of a 422 body's errors array.
func fieldsOf(t *testing.T, body string) []string {
	t.Helper()
	var e struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	var out []string
	for _, f := range e.Errors {
		out = append(out, f.Field)
	}
	return out
}

// TestIngestRefusesEventsOutsideTheDedupWindow: an event older than the
// deduplication window (7 days) could have been recorded and its id
// forgotten, so it is refused (422 naming the line's timestamp) rather
// than counted a second time; an event of 2020 too. Newer events are
// accepted, and the batch is all or nothing.
func TestIngestRefusesEventsOutsideTheDedupWindow(t *testing.T) {
	env := testenv.New(t)
	now := time.Now().UTC()
	fresh := testEvent(1, now)
	fresh.Timestamp = now.Add(-6 * 24 * time.Hour).Truncate(time.Second)
	old := testEvent(2, now)
	old.Timestamp = now.Add(-8 * 24 * time.Hour).Truncate(time.Second)
	ancient := testEvent(3, now)
	ancient.Timestamp = time.Date(2020, 5, 1, 12, 0, 0, 0, time.UTC)
	resp, body := postEvents(t, env, env.AdminToken, ndjson(t, []insights.Event{fresh, old, ancient}))
	if resp.StatusCode != 422 || !slices.Equal(fieldsOf(t, body), []string{"line 2: timestamp", "line 3: timestamp"}) {
		t.Fatalf("events 8 days old and from 2020: %d %s, want 422 naming lines 2 and 3: timestamp", resp.StatusCode, body)
	}
	resp, body = postEvents(t, env, env.AdminToken, ndjson(t, []insights.Event{fresh}))
	if resp.StatusCode != 200 || !strings.Contains(body, `"recorded":1`) {
		t.Fatalf("an event 6 days old: %d %s", resp.StatusCode, body)
	}
}

// TestIngestRefusesUnknownOrganizations: events of an organization that
// does not exist are a 422 naming the line's org, not counted for an
// organization someone may create later.
func TestIngestRefusesUnknownOrganizations(t *testing.T) {
	env := testenv.New(t)
	now := time.Now().UTC()
	good, bad := testEvent(1, now), testEvent(2, now)
	bad.Org = "no-such-org"
	resp, body := postEvents(t, env, env.AdminToken, ndjson(t, []insights.Event{good, bad}))
	if resp.StatusCode != 422 || !slices.Equal(fieldsOf(t, body), []string{"line 2: org"}) {
		t.Fatalf("an event of a missing organization: %d %s, want 422 naming line 2: org", resp.StatusCode, body)
	}
	good.Org = "ACME-Web" // logins are case-insensitive
	if resp, body := postEvents(t, env, env.AdminToken, ndjson(t, []insights.Event{good})); resp.StatusCode != 200 {
		t.Fatalf("an event of acme-web: %d %s", resp.StatusCode, body)
	}
}

// TestTimeStatsRefusesInstantsOutsideRFC3339: ranges whose buckets would
// start before 1970 or in year 10000 are a 422 naming the parameter, so
// every timestamp answered is RFC 3339 (go-github decodes it).
func TestTimeStatsRefusesInstantsOutsideRFC3339(t *testing.T) {
	env := testenv.New(t)
	for _, c := range []struct{ query, field string }{
		{"min_timestamp=0000-01-01&max_timestamp=0001-01-01&timestamp_increment=366d", "min_timestamp"},
		{"min_timestamp=1969-12-31T23:59:59Z&max_timestamp=1970-01-02&timestamp_increment=1d", "min_timestamp"},
		{"min_timestamp=9999-12-01&max_timestamp=9999-12-31T24:00Z&timestamp_increment=1d", "max_timestamp"},
	} {
		resp, body := env.Get(t, "/orgs/acme-web/insights/api/time-stats?"+c.query, env.AdminToken)
		if resp.StatusCode != 422 || !slices.Equal(fieldsOf(t, body), []string{c.field}) {
			t.Errorf("time-stats?%s: %d %s, want 422 naming %s", c.query, resp.StatusCode, body, c.field)
		}
	}
	// The edges themselves are fine.
	resp, body := env.Get(t, "/orgs/acme-web/insights/api/time-stats?min_timestamp=9999-12-01&max_timestamp=9999-12-31T23:59:59Z&timestamp_increment=1w", env.AdminToken)
	var series []insights.TimeStat
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &series) != nil || len(series) == 0 {
		t.Fatalf("time-stats to 9999-12-31T23:59:59Z: %d %.200s", resp.StatusCode, body)
	}
	for _, b := range series {
		if _, err := time.Parse(time.RFC3339, b.Timestamp); err != nil {
			t.Errorf("bucket %q is not RFC 3339: %v", b.Timestamp, err)
		}
	}
}
