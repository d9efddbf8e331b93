package postgres_test

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
)

// BenchmarkBillingIngest ingests batches of 20,000 generated records (the
// bench's enterprise and counter ids, a batch after the other, spread
// over the last month as 2,000,000 records would be: -benchtime 100x
// ingests those) and, when
// the PostgreSQL server runs on this machine, reports the CPU its backends
// spent per record (backend-µs/record, from /proc/PID/stat) beside
// records/s: the server's share of the ingest, which the bench's CPU
// figure (this process only) leaves out.
func BenchmarkBillingIngest(b *testing.B) {
	app := fmt.Sprintf("ghusage-bench-%d", time.Now().UnixNano())
	u, err := url.Parse(pgtest.DSN(b))
	if err != nil {
		b.Skip("the DSN is not a URL")
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db, err := postgres.Open(b.Context(), u.String(), postgres.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	conn, err := pgx.Connect(b.Context(), pgtest.Server(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(b.Context())
	backendCPU := func() map[int32]time.Duration {
		out := map[int32]time.Duration{}
		rows, _ := conn.Query(b.Context(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
		var pid int32
		pgx.ForEachRow(rows, []any{&pid}, func() error {
			if d, ok := procCPU(pid); ok {
				out[pid] = d
			}
			return nil
		})
		return out
	}
	now := time.Now().UTC()
	g := &billinggen.Gen{Seed: 1, N: 2_000_000, Start: now.AddDate(0, -1, 0), End: now, Enterprise: "acme",
		Orgs: []string{"acme-web", "acme-data", "acme-infra"}, Repos: 50, Users: 300, IDPrefix: "bench-"}
	const batch = 20_000
	recs := make([]billing.Record, batch)
	next := 0
	ingest := func() {
		for i := range recs {
			recs[i] = g.Record(next)
			next++
		}
		if _, err := db.BillingIngest(b.Context(), recs); err != nil {
			b.Fatal(err)
		}
	}
	ingest() // opens the pool's connections
	before := backendCPU()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		ingest()
		n += batch
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	after := backendCPU()
	if len(after) > 0 {
		var d time.Duration
		for pid, c := range after {
			d += c - before[pid]
		}
		b.ReportMetric(float64(d.Microseconds())/float64(n), "backend-µs/record")
	}
}

// procCPU is the user and system CPU time of a local process.
func procCPU(pid int32) (time.Duration, bool) {
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := strings.LastIndexByte(string(s), ')')
	f := strings.Fields(string(s[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * (time.Second / 100), true // clock ticks (USER_HZ 100)
}
