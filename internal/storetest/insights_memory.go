package storetest

import (
	"fmt"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// RunInsightsListMemory runs testInsightsListMemory on its own, not in
// parallel with anything: it measures the process's allocations. Call it
// from a top-level test that is not parallel.
func RunInsightsListMemory(t *testing.T, open func(t *testing.T) Backend) {
	is, ok := open(t).Store.(insights.Store)
	if !ok {
		t.Skip("backend does not implement insights.Store")
	}
	testInsightsListMemory(t, is)
}

// testInsightsListMemory checks that a page of subject-stats or
// route-stats costs memory in proportion to the page, not to the groups
// in range: over 20,000 subjects (and 20,000 routes of one actor) with
// distinct totals, one answer with per_page=1 allocates less than 320
// bytes per group in all, garbage included (the compact per-group counts
// and the stored lists as they are decoded; no row, name or identity per
// group). Reading and sorting every group, as answers did before, costs
// 470-870 bytes per group.
func testInsightsListMemory(t *testing.T, s insights.Store) {
	const n = 20_000
	org := "acme-web"
	base := insightsNow.Add(-3 * time.Hour)
	var events []insights.Event
	for i := range n {
		// Subject i and route i get 1+i requests (one event of that
		// weight) in one of 120 minutes: totals are distinct, so the
		// page is decided by counts alone.
		events = append(events, insights.Event{
			Timestamp: base.Add(time.Duration(i%120) * time.Minute), Org: org,
			ActorType: usage.ActorClassicPAT, ActorID: 9, ActorName: "tok",
			SubjectType: insights.SubjectInstallation, SubjectID: int64(1 + i), SubjectName: fmt.Sprintf("subject-%d", i),
			HTTPMethod: "GET", APIRoute: fmt.Sprintf("/repos/:owner/:repo/m%d", i), Weight: int64(1 + i),
		})
	}
	ingest(t, s, events)
	svc := service(s)
	q := url.Values{"min_timestamp": {base.Add(-time.Hour).Format(time.RFC3339)}, "per_page": {"1"}}
	ctx := t.Context()
	for _, c := range []struct {
		name string
		ep   insights.Endpoint
		run  func(p *insights.Params) (int, error)
	}{
		{"subject-stats", insights.EndpointSubjects, func(p *insights.Params) (int, error) {
			pg, err := svc.SubjectStats(ctx, org, p)
			return pg.Total, err
		}},
		{"route-stats", insights.EndpointRoutes, func(p *insights.Params) (int, error) {
			pg, err := svc.RouteStats(ctx, org, insights.ActorRef{Type: usage.ActorClassicPAT, ID: 9}, p)
			return pg.Total, err
		}},
	} {
		p := params(t, c.ep, q)
		if total, err := c.run(p); err != nil || total != n { // warm caches
			t.Fatalf("%s: total %d, %v; want %d", c.name, total, err, n)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := c.run(p); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if per := float64(after.TotalAlloc-before.TotalAlloc) / n; per > 320 {
			t.Errorf("%s with per_page=1 over %d groups allocated %.0f bytes per group, want < 320 (memory in proportion to the page)", c.name, n, per)
		} else {
			t.Logf("%s: %.0f bytes per group", c.name, per)
		}
	}
}
