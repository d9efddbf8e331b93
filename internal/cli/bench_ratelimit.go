package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/redis"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/usage"
)

// benchmarks lists the bench subcommands.
func benchmarks() map[string]command {
	return map[string]command{
		"ratelimit":   {"GET /rate_limit through the full pipeline vs a bare net/http handler; limiter decisions/s", runBenchRateLimit},
		"cardinality": {"list endpoints on 100,000 subjects and 300,000 routes under concurrent load: p99 and peak RSS, side by side with --baseline", runBenchCardinality},
		"insights":    {"ingest events/s and p50/p99 of the nine insights endpoints; with --postgres-dsn, the raw-table baseline", runBenchInsights},
		"copilot":     {"building a day's Copilot report files for 100,000 users and the 28-day files: seconds and peak RSS vs reading the records", runBenchCopilot},
		"billing":     {"billing ingest records/s and p50/p99 of the billing endpoints; with --postgres-dsn, the raw-table COPY baseline", runBenchBilling},
	}
}

func runBench(ctx context.Context, e *env, args []string) error {
	bs := benchmarks()
	if len(args) == 0 || bs[args[0]].run == nil {
		names, lines := make([]string, 0, len(bs)), make([]string, 0, len(bs))
		for n, b := range bs {
			names = append(names, n)
			lines = append(lines, fmt.Sprintf("  %-10s %s", n, b.summary))
		}
		sort.Strings(lines)
		fmt.Fprintf(e.stderr, "Usage: ghusage bench <benchmark> [flags]\n\nBenchmarks:\n%s\n", strings.Join(lines, "\n"))
		if len(args) == 0 || isHelp(args[0]) {
			return ErrUsage
		}
		if s := suggest(args[0], names); s != "" {
			return fmt.Errorf("unknown benchmark %q; did you mean %q?", args[0], s)
		}
		sort.Strings(names)
		return fmt.Errorf("unknown benchmark %q; choose one of %s", args[0], strings.Join(names, ", "))
	}
	return bs[args[0]].run(ctx, e, args[1:])
}

type benchRateLimitOptions struct {
	duration time.Duration
	conns    int
	rounds   int
	loader   string // go or wrk
	redisURL string
	limiter  string // full or primary
	backend  string // memory or redis, for the full pipeline
	profile  string // CPU profile of the full-pipeline measurements
	actor    string // installation (metered) or user (not metered: no organization)
	headers  bool   // the bare handler also sends the full pipeline's headers
	timeouts bool   // the bare server has ghusage's read, write and idle timeouts
}

// runBenchRateLimit measures, side by side under the same load generator,
// GET /rate_limit through ghusage's whole pipeline (request id, version
// negotiation, token authentication, rate limiter, handler, ETag, metering
// of an installation token) and a bare net/http handler writing the same
// JSON; then limiter decisions per second in process and, with a Redis URL,
// on Redis.
func runBenchRateLimit(ctx context.Context, e *env, args []string) error {
	var o benchRateLimitOptions
	f := newFlagSet("bench ratelimit", e.getenv, e.stderr)
	f.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measurement")
	f.IntVar(&o.conns, "connections", 32, "concurrent keep-alive connections of the load generator")
	f.IntVar(&o.rounds, "rounds", 2, "alternating rounds of bare and full measurements; the best of each is reported")
	f.StringVar(&o.loader, "load", "go", "load generator: go (built in) or wrk (needs wrk on PATH; 1 thread)")
	f.StringVar(&o.limiter, "limiter", "full", "limiter of the full pipeline: full (primary and secondary limits) or primary (secondary limits off)")
	f.StringVar(&o.actor, "actor", "installation", "token of the load: installation (its requests are metered for its organization) or user (a classic PAT; GET /rate_limit names no organization, so it is not metered)")
	f.StringVar(&o.profile, "cpuprofile", "", "write CPU profiles of the measurements to this file name + .N (full pipeline, round N) and + .bare.N (bare handler)")
	f.BoolVar(&o.headers, "bare-headers", false, "the bare handler also sends every header the full pipeline sends (the same names and values, fixed), to separate net/http's cost of GitHub's header block from the pipeline's own")
	f.BoolVar(&o.timeouts, "bare-timeouts", false, "the bare server also has ghusage's read-header, read, write and idle timeouts, with which net/http sets four connection deadlines per request instead of clearing one")
	f.StringVar(&o.backend, "backend", "memory", "rate-limit backend of the full pipeline: memory or redis (needs --redis-url)")
	f.StringVar(&o.redisURL, "redis-url", e.getenv("GHUSAGE_REDIS_URL"), "also measure Redis decisions against this Redis (redis://host:port/db)")
	if err := f.Parse(args); err != nil {
		return err
	}
	if o.limiter != "full" && o.limiter != "primary" {
		return fmt.Errorf("--limiter %q: use full or primary", o.limiter)
	}
	if o.actor != "installation" && o.actor != "user" {
		return fmt.Errorf("--actor %q: use installation or user", o.actor)
	}
	if o.loader != "go" && o.loader != "wrk" {
		return fmt.Errorf("--load %q: use go or wrk", o.loader)
	}
	out := e.stdout
	dir, err := os.MkdirTemp("", "ghusage-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "ghusage.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		return err
	}
	defer st.Close()
	d, err := demo.Seed(ctx, st, demo.Options{Seed: 1, Scale: 0.1, Now: time.Now()})
	if err != nil {
		return err
	}
	inst := d.Installations[0]
	tok := &usage.Token{Type: usage.ActorInstallation, AppID: inst.AppID, InstallationID: inst.ID,
		Permissions: inst.Permissions, CreatedAt: time.Now()}
	if o.actor == "user" {
		tok = &usage.Token{Type: usage.ActorClassicPAT, UserID: d.Users[0].ID, Scopes: []string{"repo"}, CreatedAt: time.Now()}
	}
	token, err := demo.IssueToken(ctx, st, tok)
	if err != nil {
		return err
	}

	cfg := server.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	// The secondary points limit would refuse a load test after 900
	// requests a minute; raise it so the check runs but never refuses.
	cfg.RateLimit.Secondary.EndpointPoints = 1 << 50
	if o.limiter == "primary" {
		cfg.RateLimit.Secondary = ratelimit.Secondary{}
	}
	if o.backend == "redis" {
		if o.redisURL == "" {
			return errors.New("--backend redis needs --redis-url")
		}
		cfg.RateLimitBackend, cfg.RedisURL = "redis", o.redisURL
		cfg.RedisKeyPrefix = fmt.Sprintf("ghusage-bench-http:%d:", time.Now().UnixNano())
		defer dropKeys(o.redisURL, cfg.RedisKeyPrefix)
	}
	srv, err := server.New(cfg, st, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		return err
	}

	if err := srv.Listen(); err != nil {
		return err
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx) }()
	defer func() { stop(); <-served }()
	fullURL := srv.URL() + "/rate_limit"

	// The bare handler serves the very bytes ghusage answered.
	body, hdr, err := fetch(fullURL, token)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// With --bare-headers the bare handler writes the full pipeline's
	// header block as it was first answered (net/http adds Date and
	// Content-Length itself), assigned by canonical key as the pipeline does.
	extra := http.Header{}
	if o.headers {
		for k, v := range hdr {
			if k != "Date" && k != "Content-Length" && k != "Content-Type" {
				extra[k] = v
			}
		}
	}
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range extra {
			h[k] = v
		}
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.Write(body)
	})}
	if o.timeouts {
		bare.ReadHeaderTimeout, bare.ReadTimeout = cfg.ReadHeaderTimeout, cfg.ReadTimeout
		bare.WriteTimeout, bare.IdleTimeout = cfg.WriteTimeout, cfg.IdleTimeout
	}
	go bare.Serve(ln)
	defer bare.Close()
	bareURL := "http://" + ln.Addr().String() + "/rate_limit"

	fmt.Fprintf(out, "GET /rate_limit, %d connections, %s per measurement, load generator %s, GOMAXPROCS %d, limiter %s on %s\n",
		o.conns, o.duration, o.loader, runtime.GOMAXPROCS(0), o.limiter, o.backend)
	fmt.Fprintf(out, "response: %d bytes; x-ratelimit-resource %s, x-ratelimit-used %s (%s token); %d headers, the bare handler sends %d\n",
		len(body), hdr.Get("X-RateLimit-Resource"), hdr.Get("X-RateLimit-Used"), o.actor, len(hdr), len(extra)+3)
	var bestBare, bestFull float64
	cpuPerReq := map[*float64]float64{} // lowest server CPU µs per request of each side
	for i := range o.rounds {
		for _, m := range []struct {
			name string
			url  string
			best *float64
		}{{"bare net/http", bareURL, &bestBare}, {"ghusage full pipeline", fullURL, &bestFull}} {
			profiling := false
			if o.profile != "" {
				name := fmt.Sprintf("%s.%d", o.profile, i+1)
				if m.best == &bestBare {
					name = fmt.Sprintf("%s.bare.%d", o.profile, i+1)
				}
				pf, err := os.Create(name)
				if err != nil {
					return err
				}
				defer pf.Close()
				profiling = pprof.StartCPUProfile(pf) == nil
			}
			cpu0 := processCPU()
			t0 := time.Now()
			rps, failed, loadCPU, err := runLoad(ctx, o, m.url, token)
			cpu := processCPU() - cpu0
			el := time.Since(t0)
			if profiling {
				pprof.StopCPUProfile()
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "round %d  %-22s %10.0f req/s", i+1, m.name, rps)
			if us := cpu.Seconds() * 1e6 / (rps * el.Seconds()); cpu > 0 && rps > 0 {
				// The load generator is another process (wrk) or, with the
				// built-in one, counted in too; either way this is less
				// sensitive to a busy machine than req/s.
				fmt.Fprintf(out, "  %6.1f µs CPU/req in this process", us)
				if loadCPU > 0 {
					fmt.Fprintf(out, ", %4.1f in wrk", loadCPU.Seconds()*1e6/(rps*el.Seconds()))
				}
				if b, ok := cpuPerReq[m.best]; !ok || us < b {
					cpuPerReq[m.best] = us
				}
			}
			if failed > 0 {
				fmt.Fprintf(out, "  (%d non-200 answers)", failed)
			}
			fmt.Fprintln(out)
			*m.best = max(*m.best, rps)
		}
	}
	fmt.Fprintf(out, "best: bare %.0f req/s, full %.0f req/s, full/bare = %.1f%% (target ≥ 70%%)\n",
		bestBare, bestFull, 100*bestFull/bestBare)
	if b, f := cpuPerReq[&bestBare], cpuPerReq[&bestFull]; b > 0 && f > 0 {
		fmt.Fprintf(out, "lowest CPU per request in this process: bare %.1f µs, full %.1f µs, bare/full = %.1f%%\n", b, f, 100*b/f)
	}

	// Decisions per second.
	mem := ratelimit.New(benchLimiterConfig(), ratelimit.NewMemory(time.Now), nil)
	n, el := decisions(ctx, mem, runtime.GOMAXPROCS(0), o.duration)
	fmt.Fprintf(out, "in-process limiter: %.0f decisions/s, %.0f ns/decision per core (%d workers; each decision: primary window, endpoint points, concurrency slot taken and released)\n",
		float64(n)/el.Seconds(), el.Seconds()*1e9*float64(runtime.GOMAXPROCS(0))/float64(n), runtime.GOMAXPROCS(0))
	if o.redisURL != "" {
		c, err := redis.Connect(o.redisURL, false)
		if err != nil {
			return err
		}
		defer c.Close()
		prefix := fmt.Sprintf("ghusage-bench:%d:", time.Now().UnixNano())
		rs, err := redis.New(c, redis.Options{Prefix: prefix})
		if err != nil {
			return err
		}
		defer dropKeys(o.redisURL, prefix)
		for _, variant := range []struct {
			name string
			cfg  func(*ratelimit.Config)
		}{
			{"primary only: 1 script call per decision", func(c *ratelimit.Config) { c.Secondary = ratelimit.Secondary{} }},
			{"with secondary limits: take + release", func(c *ratelimit.Config) {}},
		} {
			cfg := benchLimiterConfig()
			variant.cfg(&cfg)
			l := ratelimit.New(cfg, rs, nil)
			n, el := decisions(ctx, l, 64, o.duration)
			if st := l.Stats(); st.StoreErrors > 0 {
				return fmt.Errorf("redis benchmark: %d store errors", st.StoreErrors)
			}
			fmt.Fprintf(out, "redis limiter (%s): %.0f decisions/s, 64 workers\n", variant.name, float64(n)/el.Seconds())
		}
	}
	return nil
}

// dropKeys deletes the keys a benchmark wrote under prefix.
func dropKeys(url, prefix string) {
	c, err := redis.Connect(url, false)
	if err != nil {
		return
	}
	defer c.Close()
	ctx := context.Background()
	for it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator(); it.Next(ctx); {
		c.Del(ctx, it.Val())
	}
}

func benchLimiterConfig() ratelimit.Config {
	c := ratelimit.DefaultConfig()
	c.Categories[ratelimit.Core].Authenticated = 1 << 50
	c.Secondary.EndpointPoints = 1 << 50
	return c
}

// decisions runs workers that admit and finish requests of 10,000 users
// for d, and returns how many were decided and the time it took.
func decisions(ctx context.Context, l *ratelimit.Limiter, workers int, d time.Duration) (int64, time.Duration) {
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Go(func() {
			n := int64(0)
			for i := int64(w); ; i += int64(workers) {
				if n%256 == 0 && time.Now().After(deadline) {
					break
				}
				req := ratelimit.Request{Subject: ratelimit.Subject{Pool: ratelimit.UserPool(i % 10000)}, Counted: true,
					Endpoint: "GET /orgs/{org}/insights/api/summary-stats"}
				dec, err := l.Admit(ctx, &req)
				if err == nil {
					l.Finish(ctx, &dec, false)
				}
				n++
			}
			total.Add(n)
		})
	}
	wg.Wait()
	return total.Load(), time.Since(start)
}

func fetch(url, token string) ([]byte, http.Header, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b, resp.Header, nil
}

// runLoad drives url with o.conns keep-alive connections for o.duration
// and returns requests per second and the number of non-200 answers.
// With wrk it also returns wrk's CPU time (user and system); the built-in
// generator runs in this process, so its CPU is in processCPU instead.
func runLoad(ctx context.Context, o benchRateLimitOptions, url, token string) (float64, int64, time.Duration, error) {
	if o.loader == "wrk" {
		return runWrk(ctx, o, url, token)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: o.conns, MaxConnsPerHost: o.conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	lctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	start := time.Now()
	for range o.conns {
		wg.Go(func() {
			for lctx.Err() == nil {
				req, _ := http.NewRequestWithContext(lctx, http.MethodGet, url, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds(), failed.Load(), 0, nil
}

func runWrk(ctx context.Context, o benchRateLimitOptions, url, token string) (float64, int64, time.Duration, error) {
	secs := max(1, int(o.duration/time.Second))
	cmd := exec.CommandContext(ctx, "wrk", "-t1", "-c"+strconv.Itoa(o.conns), "-d"+strconv.Itoa(secs)+"s",
		"-H", "Authorization: Bearer "+token, url)
	outb, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("wrk: %v\n%s", err, outb)
	}
	var loadCPU time.Duration
	if ps := cmd.ProcessState; ps != nil {
		loadCPU = ps.UserTime() + ps.SystemTime()
	}
	var rps float64
	var failed int64
	sc := bufio.NewScanner(strings.NewReader(string(outb)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "Requests/sec:"); ok {
			rps, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
		if v, ok := strings.CutPrefix(line, "Non-2xx or 3xx responses:"); ok {
			failed, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	if rps == 0 {
		return 0, 0, 0, errors.New("wrk: no Requests/sec in its output:\n" + string(outb))
	}
	return rps, failed, loadCPU, nil
}
