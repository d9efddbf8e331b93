package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/usage"
)

// TestInsightsConcurrentBreakdowns has four replicas ingest overlapping
// batches at once and checks every packed breakdown (subjects, an actor's
// routes, a user's actors) and the totals against counts taken straight
// from the events: merges racing on the same rows must neither lose nor
// double an entry.
func TestInsightsConcurrentBreakdowns(t *testing.T) {
	dsn := pgtest.DSN(t)
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	const replicas, batches, perBatch, distinct = 4, 12, 600, 5000
	dbs := openReplicas(t, dsn, replicas)
	event := func(i int) insights.Event {
		return insights.Event{
			ID: fmt.Sprintf("ev-%d", i), Timestamp: now.Add(-time.Duration(i*37%(3*24*60)) * time.Minute),
			Org: []string{"acme-web", "octo"}[i%2], ActorType: usage.ActorClassicPAT, ActorID: int64(1 + i%41), ActorName: "tok",
			UserID: int64(1 + i%17), SubjectType: insights.SubjectUser, SubjectID: int64(1 + i%23), SubjectName: "mona",
			HTTPMethod: "GET", APIRoute: fmt.Sprintf("/r/%d", i%29), RateLimited: i%5 == 0,
		}
	}
	cut := insights.Retention{}.Cutoffs(now)
	var wg sync.WaitGroup
	sent := map[int]bool{}
	var mu sync.Mutex
	for r, db := range dbs {
		wg.Go(func() {
			for b := range batches {
				evs := make([]insights.Event, perBatch)
				for i := range evs {
					k := (r*7919 + b*perBatch + i*13) % distinct
					evs[i] = event(k)
					mu.Lock()
					sent[k] = true
					mu.Unlock()
				}
				if _, err := db.InsightsIngest(t.Context(), evs, cut); err != nil {
					t.Errorf("replica %d batch %d: %v", r, b, err)
					return
				}
			}
		})
	}
	wg.Wait()
	end := insights.Minute.Floor(now.Unix()) + 60
	segs := insights.Segments(end-4*86400, end, insights.Day)
	for _, org := range []string{"acme-web", "octo"} {
		subj := map[int64]int64{}
		route := map[string]int64{}
		userActors := map[int64]int64{}
		var total int64
		for k := range sent {
			e := event(k)
			if e.Org != org {
				continue
			}
			total++
			subj[e.SubjectID]++
			if e.ActorID == 5 {
				route[e.APIRoute]++
			}
			if e.UserID == 3 {
				userActors[e.ActorID]++
			}
		}
		for i, db := range dbs {
			c, err := db.InsightsTotals(t.Context(), insights.Scope{Org: org}, segs)
			if err != nil || c.Total != total {
				t.Errorf("db %d org %s total %d want %d (%v)", i, org, c.Total, total, err)
			}
			subjects, err := insights.AllSubjects(t.Context(), db, org, segs)
			wantTotals(t, fmt.Sprintf("db %d org %s subjects", i, org), subj,
				totalsBy(t, subjects, err, func(r insights.SubjectRow) int64 { return r.ID }, func(r insights.SubjectRow) int64 { return r.Total }))
			routes, err := insights.AllActorRoutes(t.Context(), db, org, insights.ActorRef{Type: usage.ActorClassicPAT, ID: 5}, segs)
			wantTotals(t, fmt.Sprintf("db %d org %s routes of actor 5", i, org), route,
				totalsBy(t, routes, err, func(r insights.RouteRow) string { return r.Route }, func(r insights.RouteRow) int64 { return r.Total }))
			actors, err := insights.AllUserActors(t.Context(), db, org, 3, segs)
			wantTotals(t, fmt.Sprintf("db %d org %s actors of user 3", i, org), userActors,
				totalsBy(t, actors, err, func(r insights.ActorRow) int64 { return r.ID }, func(r insights.ActorRow) int64 { return r.Total }))
		}
		t.Logf("org %s: %d events, %d subjects, %d routes", org, total, len(subj), len(route))
	}
}

// totalsBy maps each row's key to its total, failing on an error or a key
// that comes twice.
func totalsBy[R any, K comparable](t *testing.T, rows []R, err error, key func(R) K, total func(R) int64) map[K]int64 {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[K]int64, len(rows))
	for _, r := range rows {
		k := key(r)
		if _, dup := m[k]; dup {
			t.Errorf("key %v in two rows", k)
		}
		m[k] = total(r)
	}
	return m
}

// wantTotals reports every key whose total differs from want, and keys
// missing on either side.
func wantTotals[K comparable](t *testing.T, what string, want, got map[K]int64) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %v has %d, want %d", what, k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %v is not in the events", what, k)
		}
	}
}
