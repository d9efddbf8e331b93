// Package server assembles ghusage: it opens the configured store, builds
// the HTTP API and serves it. It is the one place that imports every adapter.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ghusage/ghusage/internal/httpapi"
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/jobs"
	"github.com/ghusage/ghusage/internal/metrics"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/usage"
)

// Config is everything serve needs; cli fills it from flags and GHUSAGE_* variables.
type Config struct {
	Addr    string
	DataDir string
	// Store is "sqlite" (default) or "postgres".
	Store             string
	PostgresDSN       string
	RedisURL          string
	SQLiteSynchronous string
	// InsightsRetention says how long each insights roll-up level and
	// ingested event ids are kept.
	InsightsRetention insights.Retention
	InsightsGate      insights.GateConfig // admission of list answers; zero: insights.DefaultGate

	// Billing configures the billing ledger (billing.go).
	Billing BillingConfig

	// ServerStats configures the server statistics collector.
	ServerStats ServerStatsConfig

	// RedisCluster treats RedisURL as a Redis Cluster node.
	RedisCluster bool
	// RateLimit configures rate limiting; RateLimitBackend is "memory",
	// "redis" or "" (redis when RedisURL is set).
	RateLimit        ratelimit.Config
	RateLimitBackend string
	RedisKeyPrefix   string // starts every Redis key; "ghusage:rl:" when empty

	// PublicURL is the base URL clients reach ghusage on (behind a proxy,
	// say); absolute links such as download links are built on it. Empty
	// uses the listen address.
	PublicURL string
	// LinkSecret signs download links; every replica must share it. Empty
	// uses a key generated once and kept in the store.
	LinkSecret string
	// LinkTTL is how long a download link stays valid.
	LinkTTL time.Duration
	// Copilot configures the Copilot report builder (copilot.go).
	Copilot CopilotConfig

	// UISessionTTL is how long a dashboard sign-in lasts (ui.DefaultSessionTTL when 0).
	UISessionTTL time.Duration

	// BudgetAlerts configures the budget alert job (costcenters.go).
	BudgetAlerts BudgetAlertConfig

	// IngestLimit bounds the ingest batches decoded at once, across every
	// ingest route (httpapi.IngestLimit).
	IngestLimit httpapi.IngestLimit

	TokenCacheTTL     time.Duration
	MaxBodyBytes      int64
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration

	// TLS serves HTTPS from certificate files or a self-signed certificate (tls.go).
	TLS TLSConfig

	Version string
}

// DefaultConfig returns the defaults every flag starts from.
func DefaultConfig() Config {
	return Config{
		InsightsRetention: insights.DefaultRetention,
		Addr:              "127.0.0.1:8080",
		DataDir:           "data",
		Store:             "sqlite",
		SQLiteSynchronous: "FULL",
		TokenCacheTTL:     2 * time.Second,
		LinkTTL:           time.Hour,
		Copilot:           DefaultCopilotConfig(),
		MaxBodyBytes:      1 << 20,
		IngestLimit:       httpapi.DefaultIngestLimit(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ShutdownTimeout:   20 * time.Second,
		RateLimit:         ratelimit.DefaultConfig(),
	}
}

// SQLitePath is the embedded store's file in the data directory.
func SQLitePath(cfg Config) string { return filepath.Join(cfg.DataDir, "ghusage.db") }

// OpenStore opens the configured store, bringing its schema up to date.
func OpenStore(ctx context.Context, cfg Config) (usage.Store, error) {
	switch cfg.Store {
	case "", "sqlite":
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		return sqlite.Open(ctx, SQLitePath(cfg), sqlite.Options{Synchronous: cfg.SQLiteSynchronous})
	case "postgres":
		if cfg.PostgresDSN == "" {
			return nil, errors.New("--store postgres needs --postgres-dsn (or GHUSAGE_POSTGRES_DSN)")
		}
		// Migration runs under an advisory lock, so replicas may start together.
		return postgres.Open(ctx, cfg.PostgresDSN, postgres.Options{Migrate: true})
	}
	return nil, fmt.Errorf("unknown store %q: use sqlite or postgres", cfg.Store)
}

// Server is a running ghusage.
type Server struct {
	cfg     Config
	logger  *slog.Logger
	Store   usage.Store
	API     *httpapi.Server
	Metrics *metrics.Registry
	// Jobs runs background jobs once across replicas; register jobs
	// before Serve.
	Jobs  *jobs.Scheduler
	http  *http.Server
	ln    net.Listener
	certs *certReloader // nil without TLS (tls.go)

	closeLimiter func() error
}

// New builds a server on an open store; it does not listen yet.
func New(cfg Config, st usage.Store, logger *slog.Logger, now func() time.Time) (*Server, error) {
	if cfg.IngestLimit.Bytes < 0 {
		return nil, fmt.Errorf("--ingest-concurrent-bytes %d: must not be negative (0 is the default, %d)", cfg.IngestLimit.Bytes, httpapi.DefaultIngestLimit().Bytes)
	}
	if cfg.IngestLimit.Wait < 0 {
		return nil, fmt.Errorf("ingest admission wait %s: must not be negative", cfg.IngestLimit.Wait)
	}
	reg := metrics.New()
	limiter, closeLimiter, err := newLimiter(cfg, reg, logger, now)
	if err != nil {
		return nil, err
	}
	api := &httpapi.Server{Limiter: limiter,
		Store: st, Logger: logger, Now: now, Metrics: reg,
		MaxBodyBytes: cfg.MaxBodyBytes, TokenCacheTTL: cfg.TokenCacheTTL, Version: cfg.Version,
		IngestLimit: cfg.IngestLimit,
	}
	api.Insights, api.Meter = newInsights(cfg, st, logger, now)
	if api.Billing, err = newBilling(cfg, st, now); err != nil {
		closeLimiter()
		return nil, err
	}
	api.WebhookSecret = cfg.Billing.WebhookSecret
	if api.Blobs, api.Signer, err = newFiles(cfg, st, now); err != nil {
		closeLimiter()
		return nil, err
	}
	api.Admin, _ = st.(usage.AdminStore) // site-admin API (httpapi/admin.go)
	api.ReadyChecks, api.PublicURL, api.StoreName = readyChecks(cfg, limiter), cfg.PublicURL, storeName(cfg)
	if api.Meter != nil {
		reg.CounterFunc("ghusage_insights_metering_dropped_total",
			"Metered request events dropped because the store fell too far behind.", api.Meter.Dropped)
	}
	s := &Server{cfg: cfg, logger: logger, Store: st, API: api, Metrics: reg, closeLimiter: closeLimiter,
		Jobs: newScheduler(st, api.Insights, reg, logger, now)}
	s.addBillingJobs()
	if err := s.wireServerStats(cfg); err != nil {
		closeLimiter()
		return nil, err
	}
	if s.certs, err = setupTLS(cfg, logger, now()); err != nil {
		closeLimiter()
		return nil, err
	}
	wireCostCenters(cfg, s, now) // cost centers and budgets (costcenters.go)
	if api.Copilot, err = newCopilot(cfg, st, api.Blobs, api.Billing, s.Jobs, logger, now); err != nil {
		closeLimiter()
		return nil, err
	}
	s.http = &http.Server{
		Handler:           s.dashboard(api, logger, now), // the API, and the web UI under /ui/
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Listen binds the configured address, so a bad address fails before serving.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	if s.cfg.PublicURL == "" && s.API.Signer != nil {
		s.API.Signer.PublicURL = s.URL()
	}
	return nil
}

// URL is the base URL the server answers on, once listening.
func (s *Server) URL() string {
	if s.certs != nil {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// Serve answers requests until ctx is done, then shuts down gracefully:
// it stops accepting, lets requests in flight finish within
// ShutdownTimeout, and closes the store.
func (s *Server) Serve(ctx context.Context) error {
	jctx, stopJobs := context.WithCancel(ctx)
	jobsDone := make(chan struct{})
	go func() { s.Jobs.Run(jctx); close(jobsDone) }()
	defer func() { stopJobs(); <-jobsDone }() // last: running jobs end before the store closes
	if s.API.Meter != nil {
		go s.API.Meter.Run(context.WithoutCancel(ctx))
		defer s.API.Meter.Close() // after shutdown: the last metered requests are written
	}
	defer s.closeLimiter()
	errc := make(chan error, 1)
	hup, stopHUP := notifyHUP() // SIGHUP and certificate files (tls.go)
	defer stopHUP()
	go s.watchReload(jctx, hup, s.cfg.TLS.ReloadInterval)
	if s.certs != nil {
		s.http.TLSConfig = &tls.Config{GetCertificate: s.certs.getCertificate, MinVersion: tls.VersionTLS12}
		go func() { errc <- s.http.ServeTLS(s.ln, "", "") }()
	} else {
		go func() { errc <- s.http.Serve(s.ln) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if err != nil {
		// Requests still running after the timeout are cut off here, so
		// none of them outlives the store the caller closes next.
		s.logger.Warn("shutdown timed out; closing the remaining connections", "timeout", s.cfg.ShutdownTimeout)
		s.http.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return err
}
