package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/usage"
)

// serveFlags registers every serve flag on f.
func serveFlags(f *flagSet, cfg *server.Config, o *serveOptions) {
	f.stringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (host:port; port 0 picks a free port)")
	storeFlags(f, cfg)
	tlsFlags(f, cfg)
	f.stringVar(&cfg.RedisURL, "redis-url", cfg.RedisURL, "Redis URL for shared rate-limit counters (redis://host:port/db); empty keeps them in process")
	rateLimitFlags(f, cfg)
	insightsFlags(f, cfg)
	billingFlags(f, cfg)
	filesFlags(f, cfg)
	serverStatsFlags(f, cfg)
	dashboardFlags(f, cfg)
	costCenterFlags(f, cfg)
	copilotFlags(f, cfg)
	f.boolVar(&o.demo, "demo", false, "fill an empty data directory with the demo dataset and print a token and examples")
	f.uint64Var(&o.demoSeed, "demo-seed", 1, "seed of the demo dataset")
	f.float64Var(&o.demoScale, "demo-scale", 1, "size multiplier of the demo dataset")
	f.stringVar(&o.adminToken, "admin-token", "", "value of the site administrator's token (a well-formed ghp_ token; see 'ghusage token generate')")
	f.durationVar(&cfg.TokenCacheTTL, "token-cache-ttl", cfg.TokenCacheTTL, "how long a resolved token is trusted before the store is asked again")
	f.int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest request body accepted by ordinary routes")
	f.int64Var(&cfg.IngestLimit.Bytes, "ingest-concurrent-bytes", cfg.IngestLimit.Bytes, "total body bytes of the ingest batches decoded at once, across every ingest route; a batch that cannot be admitted within 10s gets 503 with Retry-After")
	f.durationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", cfg.ReadHeaderTimeout, "time allowed to read request headers")
	f.durationVar(&cfg.ReadTimeout, "read-timeout", cfg.ReadTimeout, "time allowed to read a whole request")
	f.durationVar(&cfg.WriteTimeout, "write-timeout", cfg.WriteTimeout, "time allowed to write a response")
	f.durationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "how long an idle keep-alive connection stays open")
	f.durationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long shutdown waits for requests in flight")
	f.stringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.stringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
}

type serveOptions struct {
	demo       bool
	demoSeed   uint64
	demoScale  float64
	adminToken string
	logFormat  string
	logLevel   string
	// copilotBilling is --copilot-billing, for the demo dataset (one source).
	copilotBilling bool
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: use text or json", format)
}

func runServe(ctx context.Context, e *env, args []string) error {
	cfg := server.DefaultConfig()
	cfg.Version = Version
	var o serveOptions
	f := newFlagSet("serve", e.getenv, e.stderr)
	serveFlags(f, &cfg, &o)
	if err := f.parse(args); err != nil {
		return err
	}
	o.copilotBilling = cfg.Copilot.Billing
	logger, err := newLogger(e.stderr, o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	release, err := lockEmbedded(cfg) // one serve per data directory (backup.go)
	if err != nil {
		return err
	}
	defer release()
	// On the embedded store the demo dataset is written into a new file
	// and renamed into place, so an interrupted first start leaves nothing.
	fresh, err := seedDemoFile(ctx, cfg, o, time.Now(), e.stdout)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	adminToken, seeded, err := prepareData(ctx, st, o, time.Now(), e.stdout)
	if err != nil {
		return err
	}
	if fresh != nil {
		adminToken, seeded = fresh.AdminToken, true
	}
	srv, err := server.New(cfg, st, logger, time.Now)
	if err != nil {
		return err
	}
	if err := srv.CheckBackends(ctx); err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	base := srv.URL()
	fmt.Fprintf(e.stdout, "ghusage %s listening on %s (store: %s, rate limits: %s)\n", Version, base, cfg.Store, cfg.RateLimitBackendName())
	if cfg.TLS.SelfSigned {
		fmt.Fprintf(e.stdout, "TLS certificate (self-signed): %s; trust it with SSL_CERT_FILE=%s or curl --cacert\n", srv.TLSCertFile(), srv.TLSCertFile())
	}
	if o.demo {
		printDemoIntro(e.stdout, base, adminToken, seeded)
	}
	logger.Info("serving", "url", base, "store", cfg.Store, "rate_limits", cfg.RateLimitBackendName(), "rate_limit_fail_open", cfg.RateLimit.FailOpen)
	return srv.Serve(ctx)
}

// seedDemoFile writes the demo dataset as a new embedded store when --demo
// is given, the store is SQLite and its file does not exist yet; it
// returns nil otherwise (prepareData then seeds other empty stores).
func seedDemoFile(ctx context.Context, cfg server.Config, o serveOptions, now time.Time, stdout io.Writer) (*demo.Dataset, error) {
	if !o.demo || (cfg.Store != "" && cfg.Store != "sqlite") {
		return nil, nil
	}
	path := server.SQLitePath(cfg)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil, err // nil when it exists: the store is opened as it is
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	d, err := server.SeedDemoFile(ctx, path, demo.Options{Seed: o.demoSeed, Scale: o.demoScale, Now: now, AdminToken: o.adminToken, CopilotBilling: o.copilotBilling},
		cfg.SQLiteSynchronous, func(d *demo.Dataset) { fmt.Fprintf(stdout, "Admin token: %s\n", d.AdminToken) })
	if err != nil {
		return nil, fmt.Errorf("writing the demo dataset: %w (nothing was kept; start again)", err)
	}
	return d, nil
}

// prepareData seeds the demo dataset into an empty store when asked and
// makes sure a fixed admin token exists. It returns the admin token when
// it is known and whether the demo data was written now.
func prepareData(ctx context.Context, st usage.Store, o serveOptions, now time.Time, stdout io.Writer) (token string, seeded bool, err error) {
	users, err := st.ListUsers(ctx)
	if err != nil {
		return "", false, err
	}
	if o.demo && len(users) == 0 {
		d, err := server.SeedDemo(ctx, st, demo.Options{Seed: o.demoSeed, Scale: o.demoScale, Now: now, AdminToken: o.adminToken, CopilotBilling: o.copilotBilling},
			func(d *demo.Dataset) { fmt.Fprintf(stdout, "Admin token: %s\n", d.AdminToken) })
		if err != nil {
			return "", false, fmt.Errorf("writing the demo dataset: %w (the store now holds part of it: empty it before starting again)", err)
		}
		return d.AdminToken, true, nil
	}
	if o.adminToken == "" {
		return "", false, nil
	}
	admin, err := st.UserByLogin(ctx, "ghusage-admin")
	if err != nil {
		if usage.IsNotFound(err) {
			return "", false, fmt.Errorf("an admin token was given but the store has no ghusage-admin user; start once with --demo or create the user with 'ghusage account create-user ghusage-admin --site-admin'")
		}
		return "", false, err
	}
	token, err = demo.EnsureAdminToken(ctx, st, admin.ID, o.adminToken, now)
	return token, false, err
}

func printDemoIntro(w io.Writer, base, token string, seeded bool) {
	var b strings.Builder
	if seeded {
		b.WriteString("Demo data written: enterprise acme; organizations acme-web, acme-data, acme-infra.\n")
	} else {
		b.WriteString("The store already holds data; the demo dataset was not written again.\n")
	}
	// A token is printed once, when it is created (a seeded dataset printed
	// its own as soon as it existed); later starts never print it again,
	// so it does not end up in every log.
	shown := token
	if !seeded || shown == "" {
		shown = "$GHUSAGE_ADMIN_TOKEN"
		b.WriteString("Admin token: printed when the data directory was created, not again (or set GHUSAGE_ADMIN_TOKEN; 'ghusage token create' makes new ones).\n")
	}
	since := url.QueryEscape(time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Hour).Format(time.RFC3339))
	b.WriteString("Try:\n")
	fmt.Fprintf(&b, "  curl -H \"Authorization: Bearer %s\" %s/rate_limit\n", shown, base)
	fmt.Fprintf(&b, "  curl -H \"Authorization: Bearer %s\" \"%s/orgs/acme-web/insights/api/summary-stats?min_timestamp=%s\"\n", shown, base, since)
	fmt.Fprintf(&b, "  curl -H \"Authorization: Bearer %s\" \"%s/api/v3/orgs/acme-web/insights/api/route-stats/installation/1?min_timestamp=%s&per_page=5\"\n", shown, base, since)
	io.WriteString(w, b.String())
}

func runDemo(ctx context.Context, e *env, args []string) error {
	cfg := server.DefaultConfig()
	var o serveOptions
	f := newFlagSet("demo", e.getenv, e.stderr)
	storeFlags(f, &cfg)
	f.uint64Var(&o.demoSeed, "demo-seed", 1, "seed of the demo dataset")
	f.float64Var(&o.demoScale, "demo-scale", 1, "size multiplier of the demo dataset")
	f.stringVar(&o.adminToken, "admin-token", "", "value of the site administrator's token (a well-formed ghp_ token)")
	f.boolVar(&o.copilotBilling, "copilot-billing", false, "leave the Copilot licences and premium requests out of the demo ledger: a serve --copilot-billing derives them")
	if err := f.parse(args); err != nil {
		return err
	}
	o.demo = true
	if d, err := seedDemoFile(ctx, cfg, o, time.Now(), io.Discard); err != nil || d != nil {
		if d != nil {
			fmt.Fprintf(e.stdout, "Demo data written to the %s store. Admin token: %s\n", cfg.Store, d.AdminToken)
		}
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.ListUsers(ctx)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("the store in %s already holds data; the demo dataset goes into an empty one", cfg.DataDir)
	}
	d, err := server.SeedDemo(ctx, st, demo.Options{Seed: o.demoSeed, Scale: o.demoScale, Now: time.Now(), AdminToken: o.adminToken, CopilotBilling: o.copilotBilling}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Demo data written to the %s store. Admin token: %s\n", cfg.Store, d.AdminToken)
	return nil
}
