package scaleout_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/jobs"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/server"
)

// TestJobRunsOnceOnTwoReplicas builds two servers on one PostgreSQL, as
// serve does, registers the same job on both and lets both schedulers look
// for due work at once, three times: the job runs once, as does the
// insights retention job every server registers.
func TestJobRunsOnceOnTwoReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	var runs atomic.Int32
	var scheds []*jobs.Scheduler
	var servers []*server.Server
	for range 2 {
		cfg := server.DefaultConfig()
		cfg.Store, cfg.PostgresDSN = "postgres", dsn
		st, err := server.OpenStore(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		srv, err := server.New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Jobs.Add(jobs.Job{Name: "report", Every: time.Hour, Run: func(context.Context) error {
			runs.Add(1)
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		scheds = append(scheds, srv.Jobs)
		servers = append(servers, srv)
	}
	ran := map[string]int{}
	var mu sync.Mutex
	for range 3 {
		var wg sync.WaitGroup
		for _, s := range scheds {
			wg.Go(func() {
				names := s.RunDue(t.Context())
				mu.Lock()
				for _, n := range names {
					ran[n]++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	if runs.Load() != 1 || ran["report"] != 1 {
		t.Fatalf("a job due once on two replicas ran %d times", runs.Load())
	}
	if ran["insights-retention"] != 1 {
		t.Fatalf("insights retention ran %d times on two replicas, want 1", ran["insights-retention"])
	}
	// The replica that ran it says so on /metrics; the other does not.
	counted := 0
	for _, srv := range servers {
		rec := httptest.NewRecorder()
		srv.Metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if strings.Contains(rec.Body.String(), `ghusage_jobs_runs_total{job="report",outcome="ok"} 1`) {
			counted++
		}
	}
	if counted != 1 {
		t.Errorf("%d replicas' /metrics count the job's run, want 1", counted)
	}
}
