package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/usage"
)

// openReplicas opens n stores, each with its own pool, on one schema, as
// n replicas would.
func openReplicas(t *testing.T, dsn string, n int) []*postgres.DB {
	t.Helper()
	var dbs []*postgres.DB
	for range n {
		db, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	return dbs
}

// TestInsightsConcurrentReplicas has four replicas (own pools, one schema)
// ingest overlapping batches into the same buckets at once: every event
// id counts once, whoever wrote it, and no batch fails on a deadlock.
func TestInsightsConcurrentReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	const replicas, batches, perBatch, distinct = 4, 10, 200, 1000
	dbs := openReplicas(t, dsn, replicas)
	event := func(i int) insights.Event {
		return insights.Event{
			ID: fmt.Sprintf("ev-%d", i), Timestamp: now.Add(-time.Duration(i%7) * time.Minute),
			Org: "acme-web", ActorType: usage.ActorClassicPAT, ActorID: int64(1 + i%3), ActorName: "tok",
			UserID: int64(1 + i%2), SubjectType: insights.SubjectUser, SubjectID: int64(1 + i%2), SubjectName: "mona",
			HTTPMethod: "GET", APIRoute: "/rate_limit", RateLimited: i%5 == 0,
		}
	}
	cut := insights.Retention{}.Cutoffs(now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	recorded := 0
	for r, db := range dbs {
		wg.Go(func() {
			for b := range batches {
				evs := make([]insights.Event, perBatch)
				for i := range evs {
					// Replicas overlap: ids are drawn from a shared range.
					evs[i] = event((r*7919 + b*perBatch + i*13) % distinct)
				}
				res, err := db.InsightsIngest(t.Context(), evs, cut)
				if err != nil {
					t.Errorf("replica %d batch %d: %v", r, b, err)
					return
				}
				mu.Lock()
				recorded += res.Recorded
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	seg := []insights.Segment{{Level: insights.Minute, Start: insights.Minute.Floor(now.Add(-time.Hour).Unix()), End: insights.Minute.Floor(now.Unix()) + 60}}
	got, err := dbs[0].InsightsTotals(t.Context(), insights.Scope{Org: "acme-web"}, seg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != int64(recorded) {
		t.Fatalf("stored total %d, but batches reported %d recorded", got.Total, recorded)
	}
	// Which ids were sent at all: count them to know the exact answer.
	sent := map[int]bool{}
	for r := range replicas {
		for b := range batches {
			for i := range perBatch {
				sent[(r*7919+b*perBatch+i*13)%distinct] = true
			}
		}
	}
	if got.Total != int64(len(sent)) {
		t.Fatalf("stored total %d, want %d distinct event ids", got.Total, len(sent))
	}
}

// TestInsightsConcurrentReplicasNewBuckets has four replicas ingest, at
// once, batches of distinct events over the same three hours: each batch
// COPYs the rows it finds no stored row for (all but its first and last
// buckets, see writePacked), so the replicas race to insert the same
// rows. Every event counts once, in every table, and the lists sum up.
func TestInsightsConcurrentReplicasNewBuckets(t *testing.T) {
	dsn := pgtest.DSN(t)
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	const replicas, batches, perBatch = 4, 6, 500
	dbs := openReplicas(t, dsn, replicas)
	event := func(r, b, i int) insights.Event {
		k := (r*batches+b)*perBatch + i
		return insights.Event{
			ID: fmt.Sprintf("ev-%d", k), Timestamp: now.Add(-time.Duration((k*7919)%(3*3600)) * time.Second),
			Org: "acme-web", ActorType: usage.ActorClassicPAT, ActorID: int64(1 + k%3), ActorName: "tok",
			UserID: int64(1 + k%2), SubjectType: insights.SubjectUser, SubjectID: int64(1 + k%5), SubjectName: "mona",
			HTTPMethod: "GET", APIRoute: fmt.Sprintf("/route%d", k%4), RateLimited: k%5 == 0,
		}
	}
	cut := insights.Retention{}.Cutoffs(now)
	var wg sync.WaitGroup
	for r, db := range dbs {
		wg.Go(func() {
			for b := range batches {
				evs := make([]insights.Event, perBatch)
				for i := range evs {
					evs[i] = event(r, b, i)
				}
				res, err := db.InsightsIngest(t.Context(), evs, cut)
				if err != nil {
					t.Errorf("replica %d batch %d: %v", r, b, err)
					return
				}
				if res.Recorded != perBatch {
					t.Errorf("replica %d batch %d: %d of %d recorded", r, b, res.Recorded, perBatch)
				}
			}
		})
	}
	wg.Wait()
	const all = replicas * batches * perBatch
	start, end := insights.Minute.Floor(now.Add(-4*time.Hour).Unix()), insights.Minute.Floor(now.Unix())+60
	for _, max := range []insights.Level{insights.Minute, insights.FiveMinutes, insights.Hour} {
		segs := insights.Segments(start, end, max)
		for _, s := range []insights.Scope{{Org: "acme-web"}, {Org: "acme-web", UserID: 1}, {Org: "acme-web", Actor: insights.ActorRef{Type: usage.ActorClassicPAT, ID: 2}}} {
			want := int64(0)
			for k := range all {
				if s.UserID != 0 && int64(1+k%2) != s.UserID || s.Actor.ID != 0 && int64(1+k%3) != s.Actor.ID {
					continue
				}
				want++
			}
			got, err := dbs[0].InsightsTotals(t.Context(), s, segs)
			if err != nil {
				t.Fatal(err)
			}
			series, err := dbs[1].InsightsSeries(t.Context(), s, segs)
			if err != nil {
				t.Fatal(err)
			}
			var inSeries int64
			for _, b := range series {
				inSeries += b.Total
			}
			var g insights.Groups
			if err := dbs[2].InsightsGroups(t.Context(), s, segs, &g); err != nil {
				t.Fatal(err)
			}
			var inGroups int64
			for _, c := range g.Counts {
				inGroups += c.Total
			}
			if got.Total != want || inSeries != want || inGroups != want {
				t.Errorf("%+v up to %v: totals %d, series %d, groups %d; want %d", s, max, got.Total, inSeries, inGroups, want)
			}
		}
	}
}
