package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
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
