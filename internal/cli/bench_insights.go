package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/insights/insightsgen"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/usage"
)

type benchInsightsOptions struct {
	events      int
	days        int
	batch       int
	posters     int
	queries     int
	dataDir     string
	postgresDSN string
	store       string
	pgQueries   int
	seed        uint64
	cpuProfile  string
}

// runBenchInsights generates events for one organization, posts them as
// NDJSON to ghusage's ingest endpoint on the embedded store, then times
// every insights endpoint over the whole range; with a PostgreSQL DSN it
// also COPYs the same events into a raw table and times the equivalent
// GROUP BY queries, and prints the ratios.
func runBenchInsights(ctx context.Context, e *env, args []string) error {
	var o benchInsightsOptions
	f := newFlagSet("bench insights", e.getenv, e.stderr)
	f.IntVar(&o.events, "events", 1_000_000, "events to generate (up to 100000000)")
	f.IntVar(&o.days, "days", 30, "days the events span, ending now")
	f.IntVar(&o.batch, "batch", 100_000, "events per ingest request")
	f.IntVar(&o.posters, "posters", 2, "concurrent ingest requests")
	f.IntVar(&o.queries, "queries", 200, "requests per endpoint")
	f.StringVar(&o.dataDir, "bench-dir", "", "directory for the SQLite file (default: a temporary directory, removed after)")
	f.stringVar(&o.postgresDSN, "postgres-dsn", "", "PostgreSQL to run the baseline on (raw table COPY + GROUP BY); empty skips it")
	f.StringVar(&o.store, "store", "sqlite", "store ghusage runs on: sqlite, or postgres (a scratch schema of --postgres-dsn, dropped after)")
	f.IntVar(&o.pgQueries, "pg-queries", 5, "runs of each baseline query")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the generated events")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the ingest phase to this file")
	if err := f.parse(args); err != nil {
		return err
	}
	if o.events < 1 || o.events > 100_000_000 || o.days < 1 || o.batch < 1 || o.batch > insights.MaxBatch || o.posters < 1 {
		return fmt.Errorf("bench insights: --events 1..100000000, --days ≥ 1, --batch 1..%d, --posters ≥ 1", insights.MaxBatch)
	}
	dir := o.dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ghusage-bench-insights-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	var st usage.Store
	var err error
	storeName := "SQLite (synchronous=FULL)"
	switch o.store {
	case "sqlite":
		st, err = sqlite.Open(ctx, filepath.Join(dir, "bench.db"), sqlite.Options{Synchronous: "FULL"})
	case "postgres":
		if o.postgresDSN == "" {
			return fmt.Errorf("bench insights: --store postgres needs --postgres-dsn")
		}
		var drop func()
		st, drop, err = postgres.OpenScratch(ctx, o.postgresDSN, "ghusage_bench")
		if err == nil {
			defer drop()
		}
		storeName = "PostgreSQL (schema ghusage_bench)"
	default:
		return fmt.Errorf("bench insights: --store is sqlite or postgres, not %q", o.store)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Second)
	d, err := demo.Seed(ctx, st, demo.Options{Seed: 1, Scale: 0.05, Now: now})
	if err != nil {
		return err
	}
	cfg := server.DefaultConfig()
	// The events span --days: ids are remembered (and minute roll-ups kept)
	// at least that long, so none is refused as older than the window.
	span := time.Duration(o.days+1) * 24 * time.Hour
	cfg.InsightsRetention.Dedup = max(cfg.InsightsRetention.Dedup, span)
	cfg.InsightsRetention.Minute = max(cfg.InsightsRetention.Minute, span)
	srv, err := server.New(cfg, st, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		return err
	}
	srv.API.Meter = nil // the benchmark's own queries are not metered
	srv.API.Limiter = nil
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hsrv := &http.Server{Handler: srv.API.Handler()}
	go hsrv.Serve(ln)
	defer hsrv.Close()
	hs := struct{ URL string }{"http://" + ln.Addr().String()}
	gen := insightsgen.New(o.seed, o.events, now.Add(-time.Duration(o.days)*24*time.Hour), now, "acme-data")

	fmt.Fprintf(e.stdout, "ghusage bench insights: %d events over %d days for one organization, %s, %d cores\n",
		o.events, o.days, storeName, runtimeCPUs())
	start := time.Now()
	if o.cpuProfile != "" {
		pf, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	err = benchIngest(ctx, hs.URL, d.AdminToken, gen, o)
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	ingestSecs := time.Since(start).Seconds()
	ingestRate := float64(o.events) / ingestSecs
	fmt.Fprintf(e.stdout, "ingest (NDJSON over HTTP, batches of %d, %d in flight): %.1f s, %.0f events/s\n", o.batch, o.posters, ingestSecs, ingestRate)
	decodeRate, err := benchDecode(gen, now, o.batch)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "decode only (the NDJSON parser on one core, no validation against accounts, no store): %.0f events/s; ingest is %.2f× that\n",
		decodeRate, ingestRate/decodeRate)
	if fi, err := os.Stat(filepath.Join(dir, "bench.db")); err == nil {
		fmt.Fprintf(e.stdout, "database file: %.1f MiB\n", float64(fi.Size())/(1<<20))
	}

	qs := benchQueries(gen, now, o.days)
	ghTimes := map[string][]time.Duration{}
	fmt.Fprintf(e.stdout, "\n%-22s %9s %9s %9s\n", "endpoint", "p50", "p99", "max")
	for _, q := range qs {
		var lat []time.Duration
		for i := 0; i < o.queries; i++ {
			path := q.path(i)
			t0 := time.Now()
			if err := benchGet(hs.URL+path, d.AdminToken); err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		ghTimes[q.name] = lat
		fmt.Fprintf(e.stdout, "%-22s %9s %9s %9s\n", q.name, pct(lat, 50), pct(lat, 99), lat[len(lat)-1].Round(time.Microsecond))
	}
	if o.postgresDSN == "" {
		fmt.Fprintln(e.stdout, "\n(no --postgres-dsn: PostgreSQL baseline skipped)")
		return nil
	}
	return benchPostgres(ctx, e.stdout, o, gen, now, ingestRate, ghTimes)
}

func runtimeCPUs() int { return max(1, int(cpuCount())) }

func pct(lat []time.Duration, p int) time.Duration {
	i := (len(lat)*p + 99) / 100
	if i > 0 {
		i--
	}
	return lat[min(i, len(lat)-1)].Round(time.Microsecond)
}

func benchGet(u, token string) error {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", resp.Status, truncateOutput(body))
	}
	return nil
}

func benchIngest(ctx context.Context, base, token string, g *insightsgen.Traffic, o benchInsightsOptions) error {
	sink := &httpSink{base: base, token: token, retryFor: time.Minute, client: &http.Client{Timeout: 10 * time.Minute}}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, o.posters)
	for p := 0; p < o.posters; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body []byte
			for {
				first := int(next.Add(int64(o.batch))) - o.batch
				if first >= g.N {
					return
				}
				last := min(first+o.batch, g.N)
				body = body[:0]
				for i := first; i < last; i++ {
					body = g.AppendJSON(body, i)
				}
				res, err := sink.send(ctx, &batch{body: body, n: last - first, first: first + 1})
				if err == nil && res.Recorded != last-first {
					err = fmt.Errorf("batch at %d: %d of %d events recorded", first, res.Recorded, last-first)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// benchDecode runs the same events, in the same batches, through the
// ingest parser alone on one goroutine, and returns its events/s (the
// batches are generated outside the timed part).
func benchDecode(g *insightsgen.Traffic, now time.Time, size int) (float64, error) {
	var body []byte
	var spent time.Duration
	for first := 0; first < g.N; first += size {
		last := min(first+size, g.N)
		body = body[:0]
		for i := first; i < last; i++ {
			body = g.AppendJSON(body, i)
		}
		t0 := time.Now()
		evs, err := insights.DecodeAll(bytes.NewReader(body), now, size)
		spent += time.Since(t0)
		if err != nil {
			return 0, fmt.Errorf("decode batch at %d: %w", first, err)
		}
		if len(evs) != last-first {
			return 0, fmt.Errorf("decode batch at %d: %d of %d events", first, len(evs), last-first)
		}
	}
	return float64(g.N) / spent.Seconds(), nil
}

type benchQuery struct {
	name string
	path func(i int) string
}

// benchQueries are the nine endpoints over the whole range, for varying
// users, actors, increments and sort keys.
func benchQueries(g *insightsgen.Traffic, now time.Time, days int) []benchQuery {
	min := "min_timestamp=" + url.QueryEscape(now.Add(-time.Duration(days)*24*time.Hour).Format(time.RFC3339))
	base := "/orgs/" + g.Org + "/insights/api/"
	user := func(i int) int64 {
		for j := i; ; j++ {
			if a := g.Actors[j%40]; a.UserID != 0 {
				return a.UserID
			}
		}
	}
	actor := func(i int) insights.Event { return g.Actors[i%60] }
	incs := []string{"1h", "1d", "5m", "6h"}
	sorts := []string{"total_request_count", "last_request_timestamp", "rate_limited_request_count,total_request_count"}
	return []benchQuery{
		{"summary-stats", func(int) string { return base + "summary-stats?" + min }},
		{"summary-stats/users", func(i int) string { return fmt.Sprintf("%ssummary-stats/users/%d?%s", base, user(i), min) }},
		{"summary-stats/actor", func(i int) string {
			a := actor(i)
			return fmt.Sprintf("%ssummary-stats/%s/%d?%s", base, a.ActorType, a.ActorID, min)
		}},
		{"time-stats", func(i int) string { return base + "time-stats?" + min + "&timestamp_increment=" + incs[i%len(incs)] }},
		{"time-stats/users", func(i int) string {
			return fmt.Sprintf("%stime-stats/users/%d?%s&timestamp_increment=%s", base, user(i), min, incs[i%len(incs)])
		}},
		{"time-stats/actor", func(i int) string {
			a := actor(i)
			return fmt.Sprintf("%stime-stats/%s/%d?%s&timestamp_increment=%s", base, a.ActorType, a.ActorID, min, incs[i%len(incs)])
		}},
		{"subject-stats", func(i int) string { return base + "subject-stats?" + min + "&sort=" + sorts[i%len(sorts)] }},
		{"user-stats", func(i int) string {
			return fmt.Sprintf("%suser-stats/%d?%s&sort=%s", base, user(i), min, sorts[i%len(sorts)])
		}},
		{"route-stats", func(i int) string {
			a := actor(i)
			return fmt.Sprintf("%sroute-stats/%s/%d?%s&sort=%s", base, a.ActorType, a.ActorID, min, sorts[i%len(sorts)])
		}},
	}
}

// benchPostgres COPYs the same events into a raw table and runs the
// GROUP BY queries equivalent to each endpoint, printing the ratios.
func benchPostgres(ctx context.Context, w io.Writer, o benchInsightsOptions, g *insightsgen.Traffic, now time.Time, ghRate float64, gh map[string][]time.Duration) error {
	conn, err := pgx.Connect(ctx, o.postgresDSN)
	if err != nil {
		return fmt.Errorf("postgres baseline: %w", err)
	}
	defer conn.Close(ctx)
	// a table of this process: runs side by side on one server do not
	// drop each other's
	table := fmt.Sprintf("ghusage_bench_events_%d", os.Getpid())
	for _, q := range []string{
		"DROP TABLE IF EXISTS " + table,
		"CREATE TABLE " + table + ` (id text, ts timestamptz, org text, actor_type text, actor_id bigint, actor_name text,
			oauth_application_id bigint, integration_id bigint, user_id bigint, user_login text, subject_type text,
			subject_id bigint, subject_name text, http_method text, api_route text, rate_limited boolean)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("postgres baseline: %w", err)
		}
	}
	defer conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+table)
	src := &benchCopySource{g: g}
	start := time.Now()
	n, err := conn.CopyFrom(ctx, pgx.Identifier{table}, []string{"id", "ts", "org", "actor_type", "actor_id", "actor_name",
		"oauth_application_id", "integration_id", "user_id", "user_login", "subject_type", "subject_id", "subject_name",
		"http_method", "api_route", "rate_limited"}, src)
	if err != nil {
		return fmt.Errorf("postgres COPY: %w", err)
	}
	copySecs := time.Since(start).Seconds()
	pgRate := float64(n) / copySecs
	fmt.Fprintf(w, "\nPostgreSQL baseline: COPY of the same %d events into a raw table: %.1f s, %.0f rows/s\n", n, copySecs, pgRate)
	start = time.Now()
	if _, err := conn.Exec(ctx, "CREATE INDEX ON "+table+" (org, ts)"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "ANALYZE "+table); err != nil {
		return err
	}
	fmt.Fprintf(w, "index (org, ts) + ANALYZE: %.1f s (not counted in COPY)\n", time.Since(start).Seconds())

	lo, hi := now.Add(-time.Duration(o.days)*24*time.Hour), now.Add(time.Minute)
	counts := "count(*), count(*) FILTER (WHERE rate_limited)"
	last := counts + ", max(ts), max(ts) FILTER (WHERE rate_limited)"
	where := "WHERE org = $1 AND ts >= $2 AND ts < $3"
	a := g.Actors[1]
	u := g.Actors[0].UserID
	queries := []struct {
		name string
		sql  string
		args []any
	}{
		{"summary-stats", "SELECT " + counts + " FROM " + table + " " + where, nil},
		{"summary-stats/users", "SELECT " + counts + " FROM " + table + " " + where + " AND user_id = $4", []any{u}},
		{"summary-stats/actor", "SELECT " + counts + " FROM " + table + " " + where + " AND actor_type = $4 AND actor_id = $5", []any{string(a.ActorType), a.ActorID}},
		{"time-stats", "SELECT date_bin('1 hour', ts, 'epoch'), " + counts + " FROM " + table + " " + where + " GROUP BY 1 ORDER BY 1", nil},
		{"time-stats/users", "SELECT date_bin('1 hour', ts, 'epoch'), " + counts + " FROM " + table + " " + where + " AND user_id = $4 GROUP BY 1 ORDER BY 1", []any{u}},
		{"time-stats/actor", "SELECT date_bin('1 hour', ts, 'epoch'), " + counts + " FROM " + table + " " + where + " AND actor_type = $4 AND actor_id = $5 GROUP BY 1 ORDER BY 1", []any{string(a.ActorType), a.ActorID}},
		{"subject-stats", "SELECT subject_type, subject_id, max(subject_name), " + last + " FROM " + table + " " + where + " GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2 LIMIT 30", nil},
		{"user-stats", "SELECT actor_type, actor_id, max(actor_name), " + last + " FROM " + table + " " + where + " AND user_id = $4 GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2 LIMIT 30", []any{u}},
		{"route-stats", "SELECT http_method, api_route, " + last + " FROM " + table + " " + where + " AND actor_type = $4 AND actor_id = $5 GROUP BY 1, 2 ORDER BY 3 DESC, 2, 1 LIMIT 30", []any{string(a.ActorType), a.ActorID}},
	}
	fmt.Fprintf(w, "\n%-22s %10s %10s %12s %12s\n", "endpoint", "pg p50", "pg p99", "ghusage p50", "speed-up p50")
	for _, q := range queries {
		var lat []time.Duration
		for i := 0; i < o.pgQueries; i++ {
			t0 := time.Now()
			rows, err := conn.Query(ctx, q.sql, append([]any{g.Org, lo, hi}, q.args...)...)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			for rows.Next() {
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		ours := pct(gh[q.name], 50)
		fmt.Fprintf(w, "%-22s %10s %10s %12s %11.0fx\n", q.name, pct(lat, 50), pct(lat, 99), ours, float64(pct(lat, 50))/float64(max(ours, 1)))
	}
	fmt.Fprintf(w, "\ningest: ghusage %.0f events/s vs PostgreSQL COPY %.0f rows/s: %.2fx\n", ghRate, pgRate, ghRate/pgRate)
	return nil
}

// benchCopySource feeds the generated events to COPY.
type benchCopySource struct {
	g   *insightsgen.Traffic
	i   int
	row []any
}

func (s *benchCopySource) Next() bool {
	if s.i >= s.g.N {
		return false
	}
	e := s.g.Event(s.i)
	s.row = []any{e.ID, e.Timestamp, e.Org, string(e.ActorType), e.ActorID, e.ActorName,
		e.OAuthApplicationID, e.IntegrationID, e.UserID, e.UserLogin, e.SubjectType, e.SubjectID, e.SubjectName,
		e.HTTPMethod, e.APIRoute, e.RateLimited}
	s.i++
	return true
}

func (s *benchCopySource) Values() ([]any, error) { return s.row, nil }
func (s *benchCopySource) Err() error             { return nil }

func cpuCount() int { return runtime.NumCPU() }
