package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/jobs"
	"github.com/ghusage/ghusage/internal/metrics"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/usage"
)

// RetentionEvery is how often the insights retention job runs.
const RetentionEvery = time.Hour

// newScheduler builds the background job scheduler. On PostgreSQL, leases
// live in the database, so each job runs once across every replica; on
// the embedded store, one process owns the data and leases stay in memory.
// Families register their jobs on the returned scheduler before Serve.
func newScheduler(st usage.Store, svc *insights.Service, reg *metrics.Registry, logger *slog.Logger, now func() time.Time) *jobs.Scheduler {
	var locker jobs.Locker = jobs.NewMemoryLocker()
	if pg, ok := st.(*postgres.DB); ok {
		locker = pg.Leases()
	}
	if now == nil {
		now = time.Now
	}
	ran := func(job string, err error) {
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		reg.Counter("ghusage_jobs_runs_total", "Background job runs made by this replica, by job and outcome.",
			"job", job, "outcome", outcome).Inc()
	}
	s := jobs.New(locker, jobs.Options{Now: now, Logger: logger.With("component", "jobs"), Ran: ran})
	if svc != nil {
		s.Add(jobs.Job{Name: "insights-retention", Every: RetentionEvery, Timeout: 30 * time.Minute,
			Run: func(ctx context.Context) error {
				n, err := svc.Prune(ctx)
				if err == nil && n > 0 {
					logger.Info("insights retention pruned rows", "rows", n)
				}
				return err
			}})
	}
	return s
}
