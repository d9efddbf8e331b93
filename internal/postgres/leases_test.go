package postgres_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/jobs"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
)

// TestJobRunsOnceAcrossReplicas gives four schedulers their own connection
// pool on one schema, as four replicas would have, and ticks them together.
func TestJobRunsOnceAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	var runs atomic.Int32
	var scheds []*jobs.Scheduler
	for range 4 {
		db, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s := jobs.New(db.Leases(), jobs.Options{})
		s.Add(jobs.Job{Name: "compaction", Every: time.Hour, Run: func(context.Context) error {
			runs.Add(1)
			return nil
		}})
		scheds = append(scheds, s)
	}
	for range 3 {
		var wg sync.WaitGroup
		for _, s := range scheds {
			wg.Go(func() { s.RunDue(t.Context()) })
		}
		wg.Wait()
	}
	if got := runs.Load(); got != 1 {
		t.Fatalf("a job due once ran %d times on 4 replicas", got)
	}
}
