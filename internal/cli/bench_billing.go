package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/usage"
)

type benchBillingOptions struct {
	records     int
	batch       int
	posters     int
	queries     int
	store       string
	postgresDSN string
	pgQueries   int
	seed        uint64
	cpuProfile  string
}

// runBenchBilling generates usage records for enterprise acme over the
// previous and current month, posts them as NDJSON to the billing ingest
// endpoint, and times the billing endpoints; with --postgres-dsn it COPYs
// the same records into a raw table and times the GROUP BY queries that
// answer the same questions, and prints the ratios.
func runBenchBilling(ctx context.Context, e *env, args []string) error {
	var o benchBillingOptions
	f := newFlagSet("bench billing", e.getenv, e.stderr)
	f.IntVar(&o.records, "records", 200_000, "usage records to generate (up to 20000000)")
	f.IntVar(&o.batch, "batch", 20_000, "records per ingest request")
	f.IntVar(&o.posters, "posters", 2, "concurrent ingest requests")
	f.IntVar(&o.queries, "queries", 100, "requests per endpoint")
	f.StringVar(&o.store, "store", "sqlite", "store ghusage runs on: sqlite, or postgres (a scratch schema of --postgres-dsn, dropped after)")
	f.stringVar(&o.postgresDSN, "postgres-dsn", "", "PostgreSQL for the baseline (raw-table COPY + GROUP BY); empty skips it")
	f.IntVar(&o.pgQueries, "pg-queries", 5, "runs of each baseline query")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the generated records")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write CPU profiles of the ingest and query phases to this file name + .ingest and + .query")
	if err := f.parse(args); err != nil {
		return err
	}
	if o.records < 1 || o.records > 20_000_000 || o.batch < 1 || o.batch > billing.MaxBatch || o.posters < 1 || o.queries < 1 {
		return fmt.Errorf("bench billing: --records 1..20000000, --batch 1..%d, --posters ≥ 1, --queries ≥ 1", billing.MaxBatch)
	}
	var st usage.Store
	var err error
	storeName := "SQLite (synchronous=FULL)"
	switch o.store {
	case "sqlite":
		dir, derr := os.MkdirTemp("", "ghusage-bench-billing-")
		if derr != nil {
			return derr
		}
		defer os.RemoveAll(dir)
		st, err = sqlite.Open(ctx, filepath.Join(dir, "bench.db"), sqlite.Options{Synchronous: "FULL"})
	case "postgres":
		if o.postgresDSN == "" {
			return fmt.Errorf("bench billing: --store postgres needs --postgres-dsn")
		}
		var drop func()
		st, drop, err = postgres.OpenScratch(ctx, o.postgresDSN, "ghusage_bench_billing")
		if err == nil {
			defer drop()
		}
		storeName = "PostgreSQL (schema ghusage_bench_billing)"
	default:
		return fmt.Errorf("bench billing: --store is sqlite or postgres, not %q", o.store)
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
	srv, err := server.New(server.DefaultConfig(), st, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		return err
	}
	srv.API.Meter, srv.API.Limiter = nil, nil // only billing is measured
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hsrv := &http.Server{Handler: srv.API.Handler()}
	go hsrv.Serve(ln)
	defer hsrv.Close()
	base := "http://" + ln.Addr().String()

	start := billing.DateOf(now).MonthStart().Time().AddDate(0, -1, 0)
	gen := &billinggen.Gen{Seed: o.seed, N: o.records, Start: start, End: now, Enterprise: "acme",
		Orgs: demo.OrgLogins, Repos: 50, Users: 300, IDPrefix: "bench-"}
	fmt.Fprintf(e.stdout, "bench billing: %d records over %s..%s on %s, %d CPUs\n", o.records, start.Format(time.DateOnly), now.Format(time.DateOnly), storeName, runtimeCPUs())
	// The NDJSON bodies are made before timing: the client's encoding is not ghusage's cost.
	var bodies [][]byte
	for lo := 0; lo < o.records; lo += o.batch {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		for i := lo; i < min(lo+o.batch, o.records); i++ {
			r := gen.Record(i)
			if err := enc.Encode(&r); err != nil {
				return err
			}
		}
		bodies = append(bodies, b.Bytes())
	}
	stopProfile, err := benchStartProfile(o.cpuProfile, ".ingest")
	if err != nil {
		return err
	}
	t0, cpu0 := time.Now(), processCPU()
	if err := benchPostBodies(ctx, base+"/ghusage/v1/ingest/billing-usage", d.AdminToken, bodies, o.posters); err != nil {
		stopProfile()
		return err
	}
	ingestSecs, ingestCPU := time.Since(t0).Seconds(), processCPU()-cpu0
	stopProfile()
	ingestRate := float64(o.records) / ingestSecs
	fmt.Fprintf(e.stdout, "ingest (NDJSON over HTTP, batches of %d, %d in flight): %.1f s, %.0f records/s, %.2f µs CPU/record (server and client)\n",
		o.batch, o.posters, ingestSecs, ingestRate, float64(ingestCPU.Microseconds())/float64(o.records))
	// The baseline COPY runs right after ghusage's ingest, so that both
	// see the same load on a shared machine.
	var pg *benchBillingPG
	if o.postgresDSN != "" {
		if pg, err = benchBillingCopy(ctx, e.stdout, o, gen); err != nil {
			return err
		}
		defer pg.close()
		fmt.Fprintf(e.stdout, "ingest: ghusage %.0f records/s vs PostgreSQL COPY %.0f rows/s (generation excluded): %.2fx\n",
			ingestRate, pg.rate, ingestRate/pg.rate)
	}

	prev := start
	ym := fmt.Sprintf("year=%d&month=%d", prev.Year(), int(prev.Month()))
	queries := []struct {
		name, path string
		current    bool // of the current month (the legacy endpoints)
	}{
		{"usage (month)", "/enterprises/acme/settings/billing/usage?" + ym, false},
		{"usage (day)", fmt.Sprintf("/enterprises/acme/settings/billing/usage?%s&day=15", ym), false},
		{"usage/summary", "/enterprises/acme/settings/billing/usage/summary?" + ym, false},
		{"usage/summary org", "/enterprises/acme/settings/billing/usage/summary?" + ym + "&organization=acme-web&product=actions", false},
		{"premium_request", "/enterprises/acme/settings/billing/premium_request/usage?" + ym, false},
		{"org usage", "/organizations/acme-web/settings/billing/usage?" + ym, false},
		{"actions (legacy)", "/enterprises/acme/settings/billing/actions", true},
		{"packages (legacy)", "/enterprises/acme/settings/billing/packages", true},
		{"shared-storage", "/enterprises/acme/settings/billing/shared-storage", true},
	}
	gh := map[string]time.Duration{}
	if stopProfile, err = benchStartProfile(o.cpuProfile, ".query"); err != nil {
		return err
	}
	// Each endpoint is timed warm (repeated requests, after one not timed)
	// and cold (each request right after a one-record write to the month
	// asked for, the previous or, for the legacy endpoints, the current
	// one; the write not timed): the usage and summary answers are kept
	// until a ledger write changes their days' versions.
	coldWrites := 0
	coldWrite := func(current bool) error {
		r := gen.Record(coldWrites * 7919 % o.records)
		r.ID = fmt.Sprintf("bench-cold-%d", coldWrites)
		r.Timestamp = prev.Add(time.Duration(coldWrites%28)*24*time.Hour + 12*time.Hour)
		if current {
			r.Timestamp = now.Add(-time.Duration(coldWrites%24+1) * time.Hour)
			if ms := billing.DateOf(now).MonthStart().Time(); r.Timestamp.Before(ms) {
				r.Timestamp = ms
			}
		}
		coldWrites++
		b, err := json.Marshal(&r)
		if err != nil {
			return err
		}
		return benchPostBodies(ctx, base+"/ghusage/v1/ingest/billing-usage", d.AdminToken, [][]byte{append(b, '\n')}, 1)
	}
	fmt.Fprintf(e.stdout, "\n%-26s %9s %9s %9s %10s %9s\n", "endpoint", "p50", "p99", "max", "CPU/req", "body")
	for _, q := range queries {
		for _, cold := range []bool{false, true} {
			var lat []time.Duration
			var cpu time.Duration
			size := 0
			if !cold {
				if _, err := benchBillingGet(base+q.path, d.AdminToken); err != nil {
					return fmt.Errorf("%s: %w", q.name, err)
				}
			}
			for range o.queries {
				if cold {
					if err := coldWrite(q.current); err != nil {
						return fmt.Errorf("%s: write: %w", q.name, err)
					}
				}
				t, cpu0 := time.Now(), processCPU()
				n, err := benchBillingGet(base+q.path, d.AdminToken)
				if err != nil {
					return fmt.Errorf("%s: %w", q.name, err)
				}
				lat = append(lat, time.Since(t))
				cpu += processCPU() - cpu0
				size = n
			}
			cpu /= time.Duration(o.queries)
			slices.Sort(lat)
			name := q.name + ", warm"
			if cold {
				name = q.name + ", cold"
				gh[q.name] = pct(lat, 50)
			}
			fmt.Fprintf(e.stdout, "%-26s %9s %9s %9s %10s %8.1fk\n", name, pct(lat, 50), pct(lat, 99), lat[len(lat)-1].Round(time.Microsecond),
				cpu.Round(10*time.Microsecond), float64(size)/1000)
		}
	}
	stopProfile()
	if pg == nil {
		fmt.Fprintln(e.stdout, "\n(no --postgres-dsn: PostgreSQL baseline skipped)")
		return nil
	}
	return pg.queries(ctx, e.stdout, o, prev, gh)
}

// benchBillingGet GETs u and returns the size of the body, which it reads
// whole and drops (the CPU per request the bench prints
// includes reading it, in the same process; a month's answer is about
// 10 MB, and reading it into one growing slice would add some 20 MB of
// the client's own garbage per request to the server's collections).
func benchBillingGet(u, token string) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return 0, fmt.Errorf("%s: %s", resp.Status, body)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	return int(n), err
}

// benchStartProfile starts a CPU profile written to name+suffix (none
// when name is empty) and returns what stops it.
func benchStartProfile(name, suffix string) (func(), error) {
	if name == "" {
		return func() {}, nil
	}
	pf, err := os.Create(name + suffix)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(pf); err != nil {
		pf.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); pf.Close() }, nil
}

// benchPostBodies posts NDJSON bodies with posters requests in flight.
func benchPostBodies(ctx context.Context, url, token string, bodies [][]byte, posters int) error {
	p := &billingPoster{url: url, token: token, retryFor: time.Minute, client: &http.Client{Timeout: 10 * time.Minute}}
	work := make(chan []byte)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range posters {
		wg.Go(func() {
			for b := range work {
				if _, err := p.send(ctx, b); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, b := range bodies {
		work <- b
	}
	close(work)
	wg.Wait()
	return first
}

// benchBillingPG is the PostgreSQL baseline: the same records COPYed into
// a raw table, and GROUP BY queries answering the same questions.
type benchBillingPG struct {
	conn  *pgx.Conn
	table string
	rate  float64 // rows/s of the COPY, record generation excluded
}

func (pg *benchBillingPG) close() {
	ctx := context.Background()
	pg.conn.Exec(ctx, "DROP TABLE IF EXISTS "+pg.table)
	pg.conn.Close(ctx)
}

// benchBillingCopy COPYs the generated records into a raw table and
// indexes it. The records are generated while COPY streams them; the
// time of generating them alone (measured first) is subtracted.
func benchBillingCopy(ctx context.Context, w io.Writer, o benchBillingOptions, g *billinggen.Gen) (*benchBillingPG, error) {
	conn, err := pgx.Connect(ctx, o.postgresDSN)
	if err != nil {
		return nil, fmt.Errorf("postgres baseline: %w", err)
	}
	pg := &benchBillingPG{conn: conn, table: "ghusage_bench_billing_records"}
	for _, q := range []string{"DROP TABLE IF EXISTS " + pg.table, "CREATE TABLE " + pg.table + ` (id text, ts timestamptz, account text,
		product text, sku text, quantity bigint, unit text, enterprise text, organization text, repository text, username text,
		workflow_path text, model text, public boolean)`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			pg.close()
			return nil, fmt.Errorf("postgres baseline: %w", err)
		}
	}
	row := func(i int) []any {
		r := g.Record(i)
		return []any{r.ID, r.Timestamp, billing.AccountOf(&r).Key(), r.Product, r.SKU, int64(r.Quantity), r.Unit,
			r.Enterprise, r.Organization, r.Repository, r.Username, r.WorkflowPath, r.Model, r.Public}
	}
	tg := time.Now()
	for i := range g.N {
		row(i)
	}
	genSecs := time.Since(tg).Seconds()
	t0 := time.Now()
	i := 0
	n, err := conn.CopyFrom(ctx, pgx.Identifier{pg.table}, []string{"id", "ts", "account", "product", "sku", "quantity", "unit",
		"enterprise", "organization", "repository", "username", "workflow_path", "model", "public"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i >= g.N {
				return nil, nil
			}
			i++
			return row(i - 1), nil
		}))
	if err != nil {
		pg.close()
		return nil, fmt.Errorf("postgres COPY: %w", err)
	}
	secs := time.Since(t0).Seconds()
	pg.rate = float64(n) / max(secs-genSecs, secs/10)
	fmt.Fprintf(w, "PostgreSQL baseline: COPY of the same %d records into a raw table: %.1f s, of which %.1f s generating them: %.0f rows/s without generation\n",
		n, secs, genSecs, pg.rate)
	t1 := time.Now()
	for _, q := range []string{"CREATE INDEX ON " + pg.table + " (account, ts)", "ANALYZE " + pg.table} {
		if _, err := conn.Exec(ctx, q); err != nil {
			pg.close()
			return nil, fmt.Errorf("postgres baseline: %w", err)
		}
	}
	fmt.Fprintf(w, "index (account, ts) + ANALYZE: %.1f s (not counted in COPY)\n", time.Since(t1).Seconds())
	return pg, nil
}

// queries times the GROUP BY queries equivalent to usage (month),
// usage/summary and the legacy actions endpoint beside ghusage's p50s.
func (pg *benchBillingPG) queries(ctx context.Context, w io.Writer, o benchBillingOptions, month time.Time, gh map[string]time.Duration) error {
	conn, table := pg.conn, pg.table
	from, to := month, month.AddDate(0, 1, 0)
	base := " FROM " + table + " WHERE account = 'enterprise:acme' AND ts >= $1 AND ts < $2"
	qs := []struct{ name, sql string }{
		{"usage (month)", "SELECT date_trunc('day', ts), sku, organization, repository, sum(quantity)" + base + " GROUP BY 1, 2, 3, 4"},
		{"usage/summary", "SELECT sku, public, sum(quantity)" + base + " GROUP BY 1, 2"},
		{"actions (legacy)", "SELECT sku, sum(quantity)" + base + " AND product = 'actions' AND unit = 'minutes' GROUP BY 1"},
	}
	fmt.Fprintf(w, "\n%-20s %10s %12s %10s\n", "query", "pg p50", "ghusage p50", "speed-up")
	for _, q := range qs {
		var lat []time.Duration
		for range o.pgQueries {
			t := time.Now()
			rows, err := conn.Query(ctx, q.sql, from, to)
			if err != nil {
				return fmt.Errorf("postgres %s: %w", q.name, err)
			}
			for rows.Next() {
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("postgres %s: %w", q.name, err)
			}
			lat = append(lat, time.Since(t))
		}
		slices.Sort(lat)
		p := pct(lat, 50)
		fmt.Fprintf(w, "%-20s %10s %12s %9.1fx\n", q.name, p, gh[q.name], float64(p)/float64(max(gh[q.name], time.Microsecond)))
	}
	return nil
}
