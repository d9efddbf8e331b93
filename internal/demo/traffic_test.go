package demo_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/sqlite"
)

func seedTraffic(t *testing.T, now time.Time) *insights.Service {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := demo.Seed(ctx, st, demo.Options{Seed: 1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := demo.SeedTraffic(ctx, st, d, 1, now); err != nil {
		t.Fatal(err)
	}
	t.Logf("demo traffic written in %v", time.Since(start))
	return &insights.Service{Store: st, Now: func() time.Time { return now }}
}

func TestDemoTraffic(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC) // a Saturday
	svc := seedTraffic(t, now)
	ctx := context.Background()
	q := url.Values{"min_timestamp": {now.Add(-30 * 24 * time.Hour).Format(time.RFC3339)}, "timestamp_increment": {"1d"}}
	for _, org := range demo.OrgLogins {
		p, err := insights.ParseParams(q, insights.EndpointTime, now)
		if err != nil {
			t.Fatal(err)
		}
		days, err := svc.TimeStats(ctx, insights.Scope{Org: org}, p)
		if err != nil {
			t.Fatal(err)
		}
		var weekday, weekend, rl int64
		for _, d := range days[1 : len(days)-1] {
			ts, _ := time.Parse(time.RFC3339, d.Timestamp)
			if ts.Weekday() == time.Saturday || ts.Weekday() == time.Sunday {
				weekend += d.TotalRequestCount
			} else {
				weekday += d.TotalRequestCount
			}
			rl += d.RateLimitedRequestCount
			if d.TotalRequestCount == 0 {
				t.Errorf("%s: no traffic on %s", org, d.Timestamp)
			}
		}
		if weekday/5 < 2*weekend/2 {
			t.Errorf("%s: weekdays average %d requests, weekends %d: no weekly rhythm", org, weekday/20, weekend/8)
		}
		if rl == 0 {
			t.Errorf("%s: no rate-limited requests", org)
		}
		ps, _ := insights.ParseParams(url.Values{"min_timestamp": q["min_timestamp"], "per_page": {"100"}}, insights.EndpointSubjects, now)
		subs, err := svc.SubjectStats(ctx, org, ps)
		if err != nil {
			t.Fatal(err)
		}
		if subs.Total < 5 {
			t.Errorf("%s: only %d subjects", org, subs.Total)
		}
	}
}

func TestDemoTrafficIsDeterministic(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	p, _ := insights.ParseParams(url.Values{"min_timestamp": {"2026-02-01T00:00:00Z"}}, insights.EndpointSummary, now)
	var totals [2]insights.SummaryStats
	for i := range totals {
		s, err := seedTraffic(t, now).Summary(context.Background(), insights.Scope{Org: "acme-web"}, p)
		if err != nil {
			t.Fatal(err)
		}
		totals[i] = s
	}
	if totals[0] != totals[1] || totals[0].TotalRequestCount == 0 {
		t.Errorf("two seedings with the same seed differ: %+v", totals)
	}
}
