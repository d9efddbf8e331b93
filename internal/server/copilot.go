package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/blob"
	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/jobs"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/usage"
)

// CopilotConfig configures the Copilot usage metrics reports.
type CopilotConfig struct {
	// Settle is how long after a UTC day ends its reports are first built.
	Settle time.Duration
	// Every is how often the report job looks for work (dirty or newly closed days).
	Every time.Duration
	// ShardRows is the most records one per-user report file holds.
	ShardRows int
	// RetentionDays is how long activity and reports are kept (0: forever).
	RetentionDays int
	// Billing makes the seats and premium requests recorded here the
	// billing ledger's Copilot licences and premium requests: the report
	// job derives them (copilot_billing.go) and billing-usage ingestion
	// refuses those SKUs (--copilot-billing).
	Billing bool
}

// DefaultCopilotConfig is GitHub's one-year history, files of 10,000 users.
func DefaultCopilotConfig() CopilotConfig {
	return CopilotConfig{Settle: copilot.DefaultSettle, Every: 5 * time.Minute,
		ShardRows: copilot.DefaultShardRows, RetentionDays: copilot.DefaultRetention}
}

// OpenFiles opens the store of downloadable files as the server does:
// PostgreSQL's blob tables in scale-out, the files directory otherwise.
func OpenFiles(cfg Config, st usage.Store) (blob.Store, error) {
	if pg, ok := st.(*postgres.DB); ok {
		return pg.Blobs(), nil
	}
	return blob.NewDir(FilesDir(cfg))
}

// CopilotJob names the report job's lease.
const CopilotJob = "copilot-reports"

// newCopilot builds the Copilot service when the store implements
// copilot.Store, and registers the report job on sched; nil otherwise.
func newCopilot(cfg Config, st usage.Store, files blob.Store, bs *billing.Service, sched *jobs.Scheduler, logger *slog.Logger, now func() time.Time) (*copilot.Service, error) {
	cs, ok := st.(copilot.Store)
	if !ok || files == nil {
		if cfg.Copilot.Billing {
			return nil, errors.New("--copilot-billing: this store keeps no Copilot data")
		}
		return nil, nil
	}
	if now == nil {
		now = time.Now
	}
	c := cfg.Copilot
	keep := 2 * cfg.LinkTTL
	if keep <= 0 {
		keep = copilot.DefaultKeepFiles
	}
	b := &copilot.Builder{Store: cs, Accounts: st, Files: files, Now: now, Settle: c.Settle, ShardRows: c.ShardRows,
		KeepReplaced: keep, RetentionDays: c.RetentionDays, Logger: logger.With("component", "copilot")}
	svc := copilot.NewService(cs, st, now, b)
	svc.RetentionDays = c.RetentionDays
	if c.Billing {
		if bs == nil {
			return nil, errors.New("--copilot-billing: this store keeps no billing ledger")
		}
		b.Ledger = &copilotLedger{cs: cs, accounts: st, billing: bs, retentionDays: c.RetentionDays, now: now,
			logger: logger.With("component", "copilot-billing")}
		svc.BillingLedger = true
	}
	// Recorded for `ghusage ingest billing-usage` into the local store,
	// which refuses the derived SKUs while it is 1.
	on := int64(0)
	if c.Billing {
		on = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	was, _, err := cs.CopilotState(ctx, StateCopilotBilling)
	if err != nil {
		return nil, fmt.Errorf("reading the --copilot-billing state: %w", err)
	}
	if on == 1 && was != 1 {
		// Switched on: corrections ingested while off were not derived;
		// the next run re-derives the premium requests of every kept day.
		if err := cs.CopilotSetState(ctx, stateBillingRescan, 1); err != nil {
			return nil, fmt.Errorf("recording --copilot-billing: %w", err)
		}
	}
	if err := cs.CopilotSetState(ctx, StateCopilotBilling, on); err != nil {
		return nil, fmt.Errorf("recording --copilot-billing: %w", err)
	}
	every := c.Every
	if every <= 0 {
		every = 5 * time.Minute
	}
	sched.Add(jobs.Job{Name: CopilotJob, Every: every, Timeout: time.Hour, Run: func(ctx context.Context) error {
		st, err := b.Run(ctx)
		if err == nil && (st.Days > 0 || st.Windows > 0 || st.Deleted > 0) {
			logger.Info("copilot reports built", "days", st.Days, "aggregate_days", st.AggregateDays, "windows", st.Windows, "files_deleted", st.Deleted)
		}
		return err
	}})
	return svc, nil
}
