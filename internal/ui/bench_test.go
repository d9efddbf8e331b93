package ui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/testenv"
)

// benchPages are the pages BenchmarkPages times: every view, with the
// heaviest ranges each offers.
var benchPages = []string{
	"/ui/insights",
	"/ui/insights/acme-web",
	"/ui/insights/acme-web?period=7d",
	"/ui/insights/acme-web?period=31d",
	"/ui/insights/acme-web?period=31d&interval=6h&type=user&rl=limited",
	"{user}", // a user of acme-web over 31 days, found on its page
	"/ui/insights/acme-web/actors/installation/1?period=31d",
	"/ui/rate-limits",
	"/ui/billing",
	"/ui/billing/enterprise/acme",
	"/ui/billing/enterprise/acme?group=sku&frame=last-month",
	"/ui/billing/enterprise/acme?frame=this-year",
	"/ui/billing/enterprise/acme?group=costcenter&frame=this-year",
	"/ui/billing/enterprise/acme/usage.csv?group=repository&frame=this-year",
	"/ui/billing/org/acme-data?frame=this-year",
	"/ui/copilot",
	"/ui/copilot/enterprise/acme",
	"/ui/copilot/enterprise/acme?days=90",
	"/ui/copilot/enterprise/acme?days=365",
	"/ui/copilot/org/acme-web?days=90",
	"/ui/server-stats",
	"/ui/server-stats/acme",
	"/ui/server-stats/acme?days=90",
	"/ui/server-stats/acme?days=365",
}

// BenchmarkPages renders each view over HTTP on the demo data of
// `serve --demo` at its default scale (demoEnv),
// signed in as the administrator, and reports each page's p50 and p95
// (ms) besides ns/op. The issue asks for every page under 200 ms at p95:
//
//	go test -run X -bench Pages -benchtime 40x ./internal/ui
//
// The goal is checked by reading the figures, not asserted (timings on a
// shared machine are no test); static/ui.css is timed beside the pages as
// the baseline of the server's own overhead.
func BenchmarkPages(b *testing.B) {
	env := demoEnv(b)
	c := newClient(b, env)
	c.signIn(env.AdminToken)
	_, org := c.get("/ui/insights/acme-web?period=31d&type=user")
	user := regexp.MustCompile(`href="(/ui/insights/acme-web/users/\d+)\?`).FindStringSubmatch(org)
	if user == nil {
		b.Fatal("no user link on acme-web's page")
	}
	pages := append([]string{"/ui/static/ui.css"}, benchPages...)
	for _, page := range pages {
		if page == "{user}" {
			page = user[1] + "?period=31d"
		}
		b.Run(strings.TrimPrefix(page, "/ui/"), func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				start := time.Now()
				resp, err := c.c.Get(env.URL + page)
				if err != nil {
					b.Fatal(err)
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				times = append(times, time.Since(start))
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d %v", page, resp.StatusCode, err)
				}
			}
			slices.Sort(times)
			b.ReportMetric(ms(percentile(times, 50)), "p50-ms")
			b.ReportMetric(ms(percentile(times, 95)), "p95-ms")
		})
	}
}

// percentile is the nearest-rank p-th percentile of sorted times.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100 // ceil(n·p/100), 1-based
	return sorted[max(i, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// demoEnv starts a server on the whole demo dataset at scale 1, as
// `ghusage serve --demo` seeds it (server.SeedDemo: the accounts, 30 days
// of traffic, two months of billing ledger, cost centers and budgets, 90
// days of server statistics for two servers, 60 days of Copilot
// activity), with the Copilot reports built as the report job would.
func demoEnv(b *testing.B) *testenv.Env {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "ghusage.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Now()
	d, err := server.SeedDemo(ctx, st, demo.Options{Seed: 1, Scale: 1, Now: now}, nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.DataDir = b.TempDir()
	srv, err := server.New(cfg, st, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	if srv.API.Signer != nil {
		srv.API.Signer.PublicURL = hs.URL
	}
	srv.API.Copilot.Builder.Settle = 0
	if _, err := srv.API.Copilot.Builder.Run(ctx); err != nil {
		b.Fatal(err)
	}
	return &testenv.Env{URL: hs.URL, AdminToken: d.AdminToken, Store: st, Data: d, Server: srv, HTTP: hs}
}
