package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/ghusage/ghusage/internal/blob"
	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/copilot/copilotgen"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/usage"
)

// benchCopilotStore is what the benchmark needs of a store.
type benchCopilotStore interface {
	usage.Store
	copilot.Store
}

// runBenchCopilot measures building a day's report files for --users
// users and the 28-day files for --window-users users active every day of
// the window, each against a baseline run side by side: reading the same
// records from the store without building anything.
func runBenchCopilot(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("bench copilot", e.getenv, e.stderr)
	var users, windowUsers, shard, rounds int
	var dsn, dir, profile string
	f.IntVar(&users, "users", 100_000, "users active on the measured day")
	f.IntVar(&windowUsers, "window-users", 10_000, "users active on every day of the measured 28-day window (28 user-days each)")
	f.IntVar(&rounds, "rounds", 2, "alternating rounds of baseline and build; each is reported")
	f.IntVar(&shard, "shard-rows", copilot.DefaultShardRows, "records per per-user file")
	f.StringVar(&dsn, "postgres-dsn", "", "run on this PostgreSQL (a scratch schema is created and dropped) instead of a temporary SQLite file")
	f.StringVar(&dir, "dir", "", "directory for the SQLite file and report files (default: a temporary one, removed afterwards)")
	f.StringVar(&profile, "cpuprofile", "", "write a CPU profile of the last round to this file")
	if err := f.parse(args); err != nil {
		return err
	}
	if windowUsers > users {
		return fmt.Errorf("--window-users %d is more than --users %d", windowUsers, users)
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "ghusage-bench-copilot-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	var st benchCopilotStore
	if dsn != "" {
		db, drop, err := postgres.OpenScratch(ctx, dsn, "ghusage_bench_copilot")
		if err != nil {
			return err
		}
		defer drop()
		st = db
	} else {
		db, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"), sqlite.Options{Synchronous: "OFF"})
		if err != nil {
			return err
		}
		defer db.Close()
		st = db
	}
	files, err := blob.NewDir(filepath.Join(dir, "files"))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "bench copilot: %d users on one day, %d users x 28 days for the window, %d records a file, GOMAXPROCS %d, load average %s\n",
		users, windowUsers, shard, runtime.GOMAXPROCS(0), loadAverage())

	// Accounts: one enterprise, three organizations, users spread over them
	// (every third one also in a second organization).
	start := time.Now()
	ent := &usage.Enterprise{Slug: "bench", Name: "Bench", CreatedAt: start}
	if err := st.CreateEnterprise(ctx, ent); err != nil {
		return err
	}
	var orgs []*usage.Organization
	for _, login := range []string{"bench-a", "bench-b", "bench-c"} {
		o := &usage.Organization{Login: login, EnterpriseID: ent.ID, CreatedAt: start}
		if err := st.CreateOrganization(ctx, o); err != nil {
			return err
		}
		orgs = append(orgs, o)
	}
	ids := make([]int64, users)
	for i := range ids {
		u := &usage.User{Login: fmt.Sprintf("u%d", i), CreatedAt: start}
		if err := st.CreateUser(ctx, u); err != nil {
			return err
		}
		ids[i] = u.ID
		if err := st.SetOrgRole(ctx, orgs[i%3].ID, u.ID, usage.RoleMember); err != nil {
			return err
		}
		if i%3 == 0 {
			if err := st.SetOrgRole(ctx, orgs[(i+1)%3].ID, u.ID, usage.RoleMember); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(e.stdout, "setup: %d users and memberships in %.1fs\n", users, time.Since(start).Seconds())

	// Activity: every user on day D; windowUsers users on each of the 27 days before.
	d := copilot.DayOf(time.Now()) - 1
	rng := rand.New(rand.NewPCG(1, 2))
	start = time.Now()
	var batch []copilot.StoredRecord
	total := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := st.CopilotIngest(ctx, batch)
		total += len(batch)
		batch = batch[:0]
		return err
	}
	for day := copilot.WindowStart(d); day <= d; day++ {
		n := windowUsers
		if day == d {
			n = users
		}
		for i := 0; i < n; i++ {
			r := copilotgen.Day(rng, ids[i], fmt.Sprintf("u%d", i), day, copilotgen.Options{Adoption: float64(i%10) / 10})
			sr, err := r.Stored()
			if err != nil {
				return err
			}
			batch = append(batch, sr)
			if len(batch) == 10_000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ingest: %d user-days in %.1fs (%.0f/s, generation included)\n", total, time.Since(start).Seconds(), float64(total)/time.Since(start).Seconds())

	b := &copilot.Builder{Store: st, Accounts: st, Files: files, Now: time.Now, ShardRows: shard}
	measure := func(name string, fn func() error) (time.Duration, int64, error) {
		runtime.GC()
		resetPeakRSS()
		t0 := time.Now()
		err := fn()
		el := time.Since(t0)
		return el, peakRSS(), err
	}
	scan := func(from, to copilot.Day) func() error {
		return func() error {
			n := 0
			return st.CopilotScan(ctx, from, to, true, func(r *copilot.ScanRow) error { n += len(r.Line); return nil })
		}
	}
	report := func(name string, base, build time.Duration, baseRSS, buildRSS int64) {
		fmt.Fprintf(e.stdout, "%-28s build %6.2fs (peak RSS %4d MiB)   read-only baseline %6.2fs (peak RSS %4d MiB)   ratio %.1fx\n",
			name, build.Seconds(), buildRSS>>20, base.Seconds(), baseRSS>>20, build.Seconds()/base.Seconds())
	}
	for round := 1; round <= rounds; round++ {
		if round == rounds && profile != "" {
			pf, err := os.Create(profile)
			if err != nil {
				return err
			}
			pprof.StartCPUProfile(pf)
			defer func() { pprof.StopCPUProfile(); pf.Close() }()
		}
		baseT, baseRSS, err := measure("scan day", scan(d, d))
		if err != nil {
			return err
		}
		dayT, dayRSS, err := measure("day", func() error { return b.BuildDay(ctx, d, true) })
		if err != nil {
			return err
		}
		report(fmt.Sprintf("1-day files, round %d", round), baseT, dayT, baseRSS, dayRSS)
		wbaseT, wbaseRSS, err := measure("scan window", scan(copilot.WindowStart(d), d))
		if err != nil {
			return err
		}
		winT, winRSS, err := measure("window", func() error { return b.BuildWindow(ctx, d) })
		if err != nil {
			return err
		}
		report(fmt.Sprintf("28-day files, round %d", round), wbaseT, winT, wbaseRSS, winRSS)
	}
	for _, k := range []string{copilot.KindUsers1, copilot.KindUsers28} {
		kind := k
		r, err := st.CopilotReport(ctx, copilot.Scope{Enterprise: true, ID: ent.ID}, kind, d)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "enterprise %s: %d records in %d files\n", kind, r.Rows, len(r.Files))
	}
	fmt.Fprintf(e.stdout, "load average after: %s\n", loadAverage())
	return nil
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	s := string(b)
	if len(s) > 14 {
		s = s[:14]
	}
	return s
}
