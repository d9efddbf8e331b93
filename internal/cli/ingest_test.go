package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// writeEvents writes n events of one classic_pat actor (actorID) for
// acme-web, evenly spread in time order over the two days before now, as
// a gateway would ship them, as NDJSON.
func writeEvents(w io.Writer, n int, actorID int64, now time.Time) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var line []byte
	start := now.Add(-48 * time.Hour)
	step := 48 * time.Hour / time.Duration(n)
	for i := 0; i < n; i++ {
		ts := start.Add(time.Duration(i) * step).UTC().Format(time.RFC3339)
		user := 1000 + i%50
		line = fmt.Appendf(line[:0], `{"id":"a%d-%d","timestamp":"%s","org":"acme-web","actor_type":"classic_pat","actor_id":%d,"actor_name":"load","user_id":%d,"user_login":"u%d","subject_type":"user","subject_id":%d,"subject_name":"u%d","http_method":"GET","api_route":"/repos/:owner/:repo/r%d","rate_limited":%t}`+"\n",
			actorID, i, ts, actorID, user, user, user, user, i%40, i%97 == 0)
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// actorTotal asks a server for summary-stats of a classic_pat actor.
func actorTotal(t *testing.T, base, token string, actorID int64) int64 {
	t.Helper()
	min := url.QueryEscape(time.Now().Add(-72 * time.Hour).UTC().Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/orgs/acme-web/insights/api/summary-stats/classic_pat/%d?min_timestamp=%s", base, actorID, min), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s insights.SummaryStats
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&s) != nil {
		t.Fatalf("summary-stats: %s", resp.Status)
	}
	return s.TotalRequestCount
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(t *testing.T, base string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("server exited: %v", err)
		default:
		}
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("server not healthy after 60 s")
}

// serveInProcess runs `ghusage serve --demo` through Run until the test ends.
func serveInProcess(t *testing.T, token string, extra ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args := append([]string{"serve", "--addr", addr, "--data-dir", t.TempDir(), "--demo", "--demo-scale", "0.05",
		"--admin-token", token, "--sqlite-synchronous", "NORMAL", "--log-level", "error"}, extra...)
	go func() { done <- Run(ctx, args, func(string) string { return "" }, nil, io.Discard, io.Discard) }()
	t.Cleanup(func() { cancel(); <-done })
	waitHealthy(t, "http://"+addr, done)
	return "http://" + addr
}

// TestIngestMillionEventsOverHTTP posts 1,000,000 events to a server on
// the embedded store through `ghusage ingest api-requests --url` and
// checks that every one is counted.
func TestIngestMillionEventsOverHTTP(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	if s := os.Getenv("GHUSAGE_TEST_INGEST_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	token := usage.NewTokenString(usage.ActorClassicPAT)
	base := serveInProcess(t, token)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeEvents(pw, n, 424242, time.Now())) }()
	var out strings.Builder
	start := time.Now()
	err := Run(context.Background(), []string{"ingest", "api-requests", "--url", base, "--token", token, "-"},
		func(string) string { return "" }, pr, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if want := fmt.Sprintf("%d events read: %d recorded, 0 already recorded", n, n); !strings.Contains(out.String(), want) {
		t.Fatalf("ingest printed %q, want %q", out.String(), want)
	}
	if got := actorTotal(t, base, token, 424242); got != int64(n) {
		t.Fatalf("summary-stats counts %d requests, want %d", got, n)
	}
	t.Logf("%d events over HTTP in %v (%.0f events/s)", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
}

// TestChildServe is the server process of TestKillDuringIngestion; it runs
// only when that test starts it.
func TestChildServe(t *testing.T) {
	args := os.Getenv("GHUSAGE_TEST_CHILD_SERVE")
	if args == "" {
		t.Skip("started by TestKillDuringIngestion only")
	}
	err := Run(context.Background(), strings.Fields(args), func(string) string { return "" }, nil, io.Discard, os.Stderr)
	t.Fatalf("serve returned: %v", err)
}

type countingSink struct {
	batchSink
	acked atomic.Int64
}

func (c *countingSink) send(ctx context.Context, b *batch) (insights.IngestResult, error) {
	res, err := c.batchSink.send(ctx, b)
	if err == nil {
		c.acked.Add(1)
	}
	return res, err
}

// TestKillDuringIngestion kills the server with SIGKILL while a client is
// posting batches, starts it again on the same data directory, lets the
// client retry what was not acknowledged, and checks that every event is
// counted exactly once.
func TestKillDuringIngestion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	const n, batchSize = 120_000, 4_000
	token := usage.NewTokenString(usage.ActorClassicPAT)
	addr := freeAddr(t)
	base := "http://" + addr
	args := fmt.Sprintf("serve --addr %s --data-dir %s --demo --demo-scale 0.05 --admin-token %s --log-level error", addr, t.TempDir(), token)
	start := func() (*exec.Cmd, chan error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildServe$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GHUSAGE_TEST_CHILD_SERVE="+args)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		waitHealthy(t, base, done)
		return cmd, done
	}
	cmd, done := start()

	sink := &countingSink{batchSink: &httpSink{base: base, token: token, retryFor: time.Minute, client: &http.Client{Timeout: time.Minute}}}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeEvents(pw, n, 777, time.Now())) }()
	type result struct {
		res insights.IngestResult
		err error
	}
	resc := make(chan result, 1)
	go func() {
		res, err := IngestNDJSON(context.Background(), pr, batchSize, 2, sink, nil)
		resc <- result{res, err}
	}()
	// Kill the server three times, each once a few more batches are
	// acknowledged, while the next ones are in flight.
	var killedAfter []int64
	for _, after := range []int64{5, 12, 20} {
		for sink.acked.Load() < after {
			select {
			case r := <-resc:
				t.Fatalf("ingestion ended before the kill: %+v, %v", r.res, r.err)
			case <-time.After(time.Millisecond):
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
		killedAfter = append(killedAfter, sink.acked.Load())
		cmd, done = start()
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}()
	r := <-resc
	if r.err != nil {
		t.Fatalf("ingest after restart: %v", r.err)
	}
	if r.res.Received != n || r.res.Recorded+r.res.Duplicates != n {
		t.Fatalf("client saw %+v, want %d events acknowledged", r.res, n)
	}
	if last := killedAfter[len(killedAfter)-1]; last >= n/batchSize {
		t.Fatalf("the server was killed after the last batch (%d acknowledged); the test proves nothing", last)
	}
	if got := actorTotal(t, base, token, 777); got != n {
		t.Fatalf("after kill -9 and retry, summary-stats counts %d requests, want exactly %d", got, n)
	}
	t.Logf("killed after %v of %d batches acknowledged; %d duplicates skipped on retry", killedAfter, n/batchSize, r.res.Duplicates)
}
