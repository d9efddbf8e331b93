package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ghusage/ghusage/internal/jobs"
	"github.com/ghusage/ghusage/internal/serverstats"
)

// ServerStatsConfig configures server statistics: the GHES instances the
// collector polls and how often (doc/server-statistics.md).
type ServerStatsConfig struct {
	// InstancesFile is a JSON file listing the instances; empty collects nothing.
	InstancesFile string
	// CollectEvery is the collector's period (once across replicas).
	CollectEvery time.Duration
}

// DefaultCollectEvery is the collector's default period: daily, as GHES's
// own server statistics job.
const DefaultCollectEvery = 24 * time.Hour

// CollectJob is the collector job's name (its lease key).
const CollectJob = "server-statistics-collect"

// wireServerStats gives the API the server statistics service when the
// store keeps them, and registers the collector job when instances are
// configured. A bad instances file fails the start.
func (s *Server) wireServerStats(cfg Config) error {
	ss, ok := s.Store.(serverstats.Store)
	if !ok {
		return nil
	}
	now := s.API.Now
	if now == nil {
		now = time.Now
	}
	svc := serverstats.NewService(ss, s.Store, now)
	s.API.ServerStats = svc
	if cfg.ServerStats.InstancesFile == "" {
		return nil
	}
	insts, err := serverstats.LoadInstances(cfg.ServerStats.InstancesFile)
	if err != nil {
		return err
	}
	every := cfg.ServerStats.CollectEvery
	if every <= 0 {
		every = DefaultCollectEvery
	}
	c := NewCollector(cfg, s.logger, now)
	return s.Jobs.Add(jobs.Job{Name: CollectJob, Every: every, Timeout: time.Hour,
		Run: func(ctx context.Context) error {
			_, err := c.CollectAll(ctx, svc, insts)
			if err != nil {
				return errors.New("server statistics: some instances failed (see the log lines above)")
			}
			return nil
		}})
}

// NewCollector is the collector serve and `ghusage stats collect` use.
// A nil logger discards.
func NewCollector(cfg Config, logger *slog.Logger, now func() time.Time) *serverstats.Collector {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &serverstats.Collector{Logger: logger.With("component", "serverstats"), Now: now, UserAgent: "ghusage/" + cfg.Version}
}
