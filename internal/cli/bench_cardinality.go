package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

type benchCardinalityOptions struct {
	subjects    int
	routes      int
	concurrency int
	duration    time.Duration
	bin         string
	baseline    string
	storeArgs   string
}

// runBenchCardinality measures the list endpoints on high-cardinality
// data: it starts a `ghusage serve` child process (this binary, and with
// --baseline another build, one after the other in the same run), ingests
// one organization with --subjects distinct subjects and one actor with
// --routes distinct route templates, then puts --concurrency clients of one
// token on subject-stats and route-stats (per_page=1) for --duration while
// another client asks summary-stats, and reports latencies and the child's
// peak resident memory (VmHWM).
func runBenchCardinality(ctx context.Context, e *env, args []string) error {
	var o benchCardinalityOptions
	f := newFlagSet("bench cardinality", e.getenv, e.stderr)
	f.IntVar(&o.subjects, "subjects", 100_000, "distinct subjects in the organization")
	f.IntVar(&o.routes, "routes", 300_000, "distinct api_route templates of one actor")
	f.IntVar(&o.concurrency, "concurrency", 50, "concurrent list requests from one token")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "how long the concurrent load runs")
	f.StringVar(&o.bin, "bin", "", "ghusage binary to measure (default: this one)")
	f.StringVar(&o.baseline, "baseline", "", "another ghusage binary measured the same way first, for a side-by-side comparison")
	f.StringVar(&o.storeArgs, "serve-args", "", "extra flags for serve, space-separated (e.g. \"--store postgres --postgres-dsn …\")")
	if err := f.parse(args); err != nil {
		return err
	}
	if o.subjects < 1 || o.routes < 1 || o.concurrency < 1 || o.duration <= 0 {
		return fmt.Errorf("bench cardinality: --subjects, --routes, --concurrency and --duration must be positive")
	}
	if o.bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.bin = exe
	}
	fmt.Fprintf(e.stdout, "ghusage bench cardinality: %d subjects in one organization, %d routes of one actor; %d concurrent list requests for %s; %d cores\n",
		o.subjects, o.routes, o.concurrency, o.duration, runtimeCPUs())
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(e.stdout, "load average before: %s", la)
	}
	var results []cardinalityResult
	bins := []string{o.bin}
	names := []string{"this build"}
	if o.baseline != "" {
		bins = []string{o.baseline, o.bin}
		names = []string{"baseline", "this build"}
	}
	for i, bin := range bins {
		r, err := benchCardinalityOne(ctx, e, o, bin)
		if err != nil {
			return fmt.Errorf("%s (%s): %w", names[i], bin, err)
		}
		r.name = names[i]
		results = append(results, r)
	}
	fmt.Fprintf(e.stdout, "\n%-34s", "")
	for _, r := range results {
		fmt.Fprintf(e.stdout, " %16s", r.name)
	}
	fmt.Fprintln(e.stdout)
	row := func(label string, f func(r *cardinalityResult) string) {
		fmt.Fprintf(e.stdout, "%-34s", label)
		for i := range results {
			fmt.Fprintf(e.stdout, " %16s", f(&results[i]))
		}
		fmt.Fprintln(e.stdout)
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
	row("ingest (s)", func(r *cardinalityResult) string { return fmt.Sprintf("%.1f", r.ingest.Seconds()) })
	row("subject-stats alone p50", func(r *cardinalityResult) string { return ms(r.aloneSubjects) })
	row("route-stats alone p50", func(r *cardinalityResult) string { return ms(r.aloneRoutes) })
	row("under load: answered 200", func(r *cardinalityResult) string { return strconv.Itoa(len(r.heavy)) })
	row("under load: refused 403/429", func(r *cardinalityResult) string { return strconv.Itoa(r.refused) })
	row("under load: failed/timed out", func(r *cardinalityResult) string { return strconv.Itoa(r.failed) })
	row("under load: list p50", func(r *cardinalityResult) string { return ms(pctOrZero(r.heavy, 50)) })
	row("under load: list p99", func(r *cardinalityResult) string { return ms(pctOrZero(r.heavy, 99)) })
	row("under load: list max", func(r *cardinalityResult) string { return ms(pctOrZero(r.heavy, 100)) })
	row("other caller summary-stats p50", func(r *cardinalityResult) string { return ms(pctOrZero(r.victim, 50)) })
	row("other caller summary-stats p99", func(r *cardinalityResult) string { return ms(pctOrZero(r.victim, 99)) })
	row("RSS before load (MiB)", func(r *cardinalityResult) string { return fmt.Sprintf("%.0f", r.rssBefore) })
	row("peak RSS, VmHWM (MiB)", func(r *cardinalityResult) string { return fmt.Sprintf("%.0f", r.peak) })
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(e.stdout, "load average after: %s", la)
	}
	return nil
}

type cardinalityResult struct {
	name                       string
	ingest                     time.Duration
	aloneSubjects, aloneRoutes time.Duration
	heavy, victim              []time.Duration
	refused, failed            int
	rssBefore, peak            float64 // MiB
}

func pctOrZero(lat []time.Duration, p int) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	if p >= 100 {
		return lat[len(lat)-1]
	}
	return pct(lat, p)
}

// benchActorID is the classic token id the routes are recorded for.
const benchActorID = 990001

func benchCardinalityOne(ctx context.Context, e *env, o benchCardinalityOptions, bin string) (cardinalityResult, error) {
	var res cardinalityResult
	dir, err := os.MkdirTemp("", "ghusage-bench-cardinality-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	addr := ln.Addr().String()
	ln.Close()
	token := usage.NewTokenString(usage.ActorClassicPAT)
	args := []string{"serve", "--demo", "--demo-scale", "0.05", "--data-dir", filepath.Join(dir, "data"), "--addr", addr,
		"--admin-token", token, "--rate-limit=false", "--log-level", "error"}
	args = append(args, strings.Fields(o.storeArgs)...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	base := "http://" + addr
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency + 4}}
	if err := waitReady(ctx, client, base+"/readyz", time.Minute); err != nil {
		return res, err
	}

	// The data: one org, subjects then routes, all within the last hour.
	now := time.Now().UTC()
	const org = "acme-web"
	sink := &httpSink{base: base, token: token, retryFor: time.Minute, client: &http.Client{Timeout: 10 * time.Minute}}
	start := time.Now()
	post := func(n int, line func(b []byte, i int) []byte) error {
		for first := 0; first < n; first += 50_000 {
			last := min(first+50_000, n)
			var body []byte
			for i := first; i < last; i++ {
				body = line(body, i)
			}
			r, err := sink.send(ctx, &batch{body: body, n: last - first, first: first + 1})
			if err != nil {
				return err
			}
			if r.Recorded != last-first {
				return fmt.Errorf("%d of %d events recorded", r.Recorded, last-first)
			}
		}
		return nil
	}
	ts := func(i int) string { return now.Add(-time.Duration(i%50) * time.Minute).Format(time.RFC3339) }
	err = post(o.subjects, func(b []byte, i int) []byte {
		return fmt.Appendf(b, `{"id":"s%d","timestamp":%q,"org":%q,"actor_type":"installation","actor_id":%d,"actor_name":"bench-app","subject_type":"installation","subject_id":%d,"subject_name":"bench-subject-%d","http_method":"GET","api_route":"/repos/:owner/:repo","rate_limited":%t}`+"\n",
			i, ts(i), org, 990000, 5_000_000+i, i, i%97 == 0)
	})
	if err != nil {
		return res, fmt.Errorf("ingest subjects: %w", err)
	}
	err = post(o.routes, func(b []byte, i int) []byte {
		return fmt.Appendf(b, `{"id":"r%d","timestamp":%q,"org":%q,"actor_type":"classic_pat","actor_id":%d,"actor_name":"bench-token","user_id":4000001,"user_login":"bench-user","subject_type":"user","subject_id":4000001,"subject_name":"bench-user","http_method":"GET","api_route":"/bench/:id/r%d","rate_limited":false}`+"\n",
			i, ts(i), org, benchActorID, i)
	})
	if err != nil {
		return res, fmt.Errorf("ingest routes: %w", err)
	}
	res.ingest = time.Since(start)

	q := "?per_page=1&min_timestamp=" + now.Add(-2*time.Hour).Format("2006-01-02T15:04:05Z")
	subjects := base + "/orgs/" + org + "/insights/api/subject-stats" + q
	routes := fmt.Sprintf("%s/orgs/%s/insights/api/route-stats/classic_pat/%d%s", base, org, benchActorID, q)
	summary := base + "/orgs/" + org + "/insights/api/summary-stats" + q
	get := func(u string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	alone := func(u string) (time.Duration, error) {
		var lat []time.Duration
		for range 5 {
			t0 := time.Now()
			st, err := get(u)
			if err != nil {
				return 0, err
			}
			if st != 200 {
				return 0, fmt.Errorf("%s: status %d", u, st)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		return lat[len(lat)/2], nil
	}
	if res.aloneSubjects, err = alone(subjects); err != nil {
		return res, err
	}
	if res.aloneRoutes, err = alone(routes); err != nil {
		return res, err
	}
	pid := cmd.Process.Pid
	res.rssBefore = procStatusMiB(pid, "VmRSS")

	var mu sync.Mutex
	var refused, failed atomic.Int64
	stop := time.Now().Add(o.duration)
	var wg sync.WaitGroup
	for c := 0; c < o.concurrency; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; time.Now().Before(stop); i++ {
				u := subjects
				if i%2 == 1 {
					u = routes
				}
				t0 := time.Now()
				st, err := get(u)
				d := time.Since(t0)
				switch {
				case err != nil:
					failed.Add(1)
				case st == 200:
					mu.Lock()
					res.heavy = append(res.heavy, d)
					mu.Unlock()
				case st == 403 || st == 429:
					refused.Add(1)
					time.Sleep(50 * time.Millisecond) // as a client told to back off would
				default:
					failed.Add(1)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(stop) {
			t0 := time.Now()
			st, err := get(summary)
			d := time.Since(t0)
			if err == nil && st == 200 {
				mu.Lock()
				res.victim = append(res.victim, d)
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	wg.Wait()
	res.refused, res.failed = int(refused.Load()), int(failed.Load())
	res.peak = procStatusMiB(pid, "VmHWM")
	slices.Sort(res.heavy)
	slices.Sort(res.victim)
	return res, nil
}

func waitReady(ctx context.Context, c *http.Client, u string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("the server did not become ready")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// procStatusMiB reads a kB field (VmRSS, VmHWM) of /proc/PID/status, in
// MiB; 0 where /proc is not available.
func procStatusMiB(pid int, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
