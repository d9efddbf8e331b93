package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/httpapi"
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/testenv"
)

// admissionEnv starts a server whose ingest routes share a budget of
// budget bytes and let a batch wait at most wait.
func admissionEnv(t *testing.T, budget int64, wait time.Duration) *testenv.Env {
	t.Helper()
	return testenv.New(t, func(c *server.Config) {
		c.IngestLimit = httpapi.IngestLimit{Bytes: budget, Wait: wait}
	})
}

// eventually waits until cond holds; it fails the test if cond still does
// not hold after a long time (a leak or a deadlock, not slowness).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// batchOf returns n request events with ids prefix-0..n-1, as NDJSON.
func batchOf(t testing.TB, prefix string, n int, now time.Time) []byte {
	events := make([]insights.Event, n)
	for i := range events {
		events[i] = testEvent(i, now)
		events[i].ID = fmt.Sprintf("%s-%d", prefix, i)
	}
	return ndjson(t, events)
}

type answer struct {
	status int
	header http.Header
	body   string
	err    error
}

// post sends body to path with the admin token; a body other than a
// *bytes.Reader or *strings.Reader is sent chunked (no Content-Length).
func post(ctx context.Context, env *testenv.Env, path string, body io.Reader) answer {
	return postLength(ctx, env, path, body, -1)
}

// postLength is post with a Content-Length of length when it is not -1.
func postLength(ctx context.Context, env *testenv.Env, path string, body io.Reader, length int64) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.URL+path, body)
	if err != nil {
		return answer{err: err}
	}
	if length >= 0 {
		req.ContentLength = length
	}
	req.Header.Set("Authorization", "Bearer "+env.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

// heldBatch is an ingest whose body the test is still sending: chunked, so
// it weighs the route's limit (the whole of a small budget) once admitted.
type heldBatch struct {
	w    *io.PipeWriter
	done chan answer
}

func holdBatch(env *testenv.Env) *heldBatch { return holdSized(env, -1) }

// holdBudget starts a held batch and waits until it is admitted, holding
// the whole of a budget smaller than the route's limit.
func holdBudget(t *testing.T, env *testenv.Env, budget int64) *heldBatch {
	t.Helper()
	h := holdBatch(env)
	eventually(t, "admitted the held batch", func() bool { used, _, _ := httpapi.IngestAdmission(env.Server.API); return used == budget })
	return h
}

// holdSized is holdBatch with a Content-Length of length (-1: chunked).
func holdSized(env *testenv.Env, length int64) *heldBatch {
	pr, pw := io.Pipe()
	h := &heldBatch{w: pw, done: make(chan answer, 1)}
	go func() { h.done <- postLength(context.Background(), env, httpapi.IngestPath, pr, length) }()
	return h
}

// finish sends body, ends the batch and returns its answer.
func (h *heldBatch) finish(t *testing.T, body []byte) answer {
	t.Helper()
	if _, err := h.w.Write(body); err != nil {
		t.Fatal(err)
	}
	h.w.Close()
	return <-h.done
}

func recorded(t *testing.T, a answer) insights.IngestResult {
	t.Helper()
	var res insights.IngestResult
	if a.err != nil || a.status != 200 || json.Unmarshal([]byte(a.body), &res) != nil {
		t.Fatalf("ingest: %d %v %s", a.status, a.err, a.body)
	}
	return res
}

// TestIngestWaitsForAdmission: with a budget one batch fills, a second
// batch waits while the first is decoded and is admitted, and recorded,
// once the first is done.
func TestIngestWaitsForAdmission(t *testing.T) {
	const budget = 1 << 20
	env := admissionEnv(t, budget, time.Hour)
	api := env.Server.API
	now := time.Now().UTC()

	first := holdBudget(t, env, budget)

	second := make(chan answer, 1)
	body := batchOf(t, "second", 50, now)
	go func() { second <- post(context.Background(), env, httpapi.IngestPath, bytes.NewReader(body)) }()
	eventually(t, "waiting with the second batch", func() bool { _, _, waiting := httpapi.IngestAdmission(api); return waiting == 1 })
	select {
	case a := <-second:
		t.Fatalf("the second batch was answered while the first held the whole budget: %d %s", a.status, a.body)
	default:
	}

	if res := recorded(t, first.finish(t, batchOf(t, "first", 40, now))); res.Recorded != 40 {
		t.Fatalf("first batch: %+v", res)
	}
	if res := recorded(t, <-second); res.Recorded != 50 || res.Duplicates != 0 {
		t.Fatalf("second batch: %+v", res)
	}
	eventually(t, "released both batches", func() bool { used, _, waiting := httpapi.IngestAdmission(api); return used == 0 && waiting == 0 })
	if _, peak, _ := httpapi.IngestAdmission(api); peak != budget {
		t.Errorf("peak %d bytes in use, want the budget %d", peak, budget)
	}
	admissionsCounted(t, env, "immediate", 1, "waited", 1)
}

// admissionsCounted checks ghusage_ingest_admissions_total for each
// outcome and count given in pairs.
func admissionsCounted(t *testing.T, env *testenv.Env, outcomeCounts ...any) {
	t.Helper()
	_, metrics := env.Get(t, "/metrics", "")
	for i := 0; i+1 < len(outcomeCounts); i += 2 {
		want := fmt.Sprintf("ghusage_ingest_admissions_total{outcome=%q} %d", outcomeCounts[i], outcomeCounts[i+1])
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestIngestRefusedWhenWaitRunsOut: a batch that cannot be admitted within
// the wait gets GitHub's error body, 503 with Retry-After, and none of it
// is recorded; every ingest route shares the budget.
func TestIngestRefusedWhenWaitRunsOut(t *testing.T) {
	const budget = 1 << 20
	env := admissionEnv(t, budget, time.Millisecond)
	api := env.Server.API
	now := time.Now().UTC()

	first := holdBudget(t, env, budget)

	refusedBody := batchOf(t, "refused", 30, now)
	a := post(context.Background(), env, httpapi.IngestPath, bytes.NewReader(refusedBody))
	if a.err != nil || a.status != http.StatusServiceUnavailable {
		t.Fatalf("batch over the budget: %d %v %s, want 503", a.status, a.err, a.body)
	}
	if ra := a.header.Get("Retry-After"); ra != "5" {
		t.Errorf("Retry-After %q, want 5", ra)
	}
	var e struct {
		Message          string `json:"message"`
		DocumentationURL string `json:"documentation_url"`
		Status           string `json:"status"`
	}
	if err := json.Unmarshal([]byte(a.body), &e); err != nil || !strings.Contains(e.Message, "busy ingesting") ||
		e.Status != "503" || e.DocumentationURL == "" || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Errorf("error body %s (%v), want GitHub's error naming the busy server", a.body, err)
	}

	// The other ingest routes wait on the same budget: refused before
	// their (here invalid) bodies are even read.
	for _, path := range []string{httpapi.BillingIngestPath, httpapi.CopilotIngestPath, httpapi.ServerStatsIngestPath + "?account=acme"} {
		if a := post(context.Background(), env, path, strings.NewReader("{}\n")); a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
			t.Errorf("POST %s while the budget is held: %d %s, want 503 with Retry-After", path, a.status, a.body)
		}
	}

	if res := recorded(t, first.finish(t, batchOf(t, "first", 20, now))); res.Recorded != 20 {
		t.Fatalf("first batch: %+v", res)
	}
	eventually(t, "released the first batch", func() bool { used, _, _ := httpapi.IngestAdmission(api); return used == 0 })
	// Nothing of the refused batch was recorded: sent again, all of it is new.
	again := post(context.Background(), env, httpapi.IngestPath, bytes.NewReader(refusedBody))
	if res := recorded(t, again); res.Recorded != 30 || res.Duplicates != 0 {
		t.Fatalf("the refused batch sent again: %+v, want all 30 recorded now", res)
	}
	admissionsCounted(t, env, "refused", 4)
}

// TestIngestReleasesAfterFailedBatch: batches that fail (422, 400, 413, a gzip
// stream that is not one, a client that goes away mid-body) give their
// weight back, so later batches are admitted at once (the wait is too
// short for anything else).
func TestIngestReleasesAfterFailedBatch(t *testing.T) {
	const budget = 1 << 20
	env := admissionEnv(t, budget, time.Millisecond)
	api := env.Server.API
	now := time.Now().UTC()
	released := func() bool { used, _, waiting := httpapi.IngestAdmission(api); return used == 0 && waiting == 0 }

	bad := []byte(`{"id":"x","timestamp":"not a time"}` + "\n")
	for i, c := range []struct {
		path   string
		body   io.Reader
		status int
	}{
		{httpapi.IngestPath, bytes.NewReader(bad), 422},
		{httpapi.IngestPath, io.MultiReader(bytes.NewReader(bad)), 422}, // chunked: the whole budget
		{httpapi.IngestPath, io.MultiReader(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0})), 422},
		{httpapi.IngestPath, bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}), 422}, // sized, but gzip: the whole budget
		{httpapi.IngestPath, bytes.NewReader([]byte{0x1f}), 422},
		{httpapi.IngestPath, io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("x"), httpapi.IngestMaxBodyBytes+1))), 413},
		{httpapi.BillingIngestPath, io.MultiReader(bytes.NewReader(bad)), 422},
		{httpapi.CopilotIngestPath, io.MultiReader(bytes.NewReader(bad)), 422},
		{httpapi.ServerStatsIngestPath + "?account=acme", io.MultiReader(strings.NewReader("[{]")), 400},
	} {
		if a := post(context.Background(), env, c.path, c.body); a.status != c.status {
			t.Fatalf("case %d, POST %s: %d %v %s, want %d", i, c.path, a.status, a.err, a.body, c.status)
		}
		eventually(t, fmt.Sprintf("released after case %d", i), released)
	}

	// A client gone while its batch is decoded.
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	gone := make(chan answer, 1)
	go func() { gone <- post(ctx, env, httpapi.IngestPath, pr) }()
	eventually(t, "admitted the abandoned batch", func() bool { used, _, _ := httpapi.IngestAdmission(api); return used == budget })
	pw.Write(batchOf(t, "gone", 5, now)[:40])
	cancel()
	pw.CloseWithError(context.Canceled) // the transport may wait for the body it is sending
	if a := <-gone; a.err == nil {
		t.Fatalf("abandoned batch answered: %d %s", a.status, a.body)
	}
	eventually(t, "released after the client went away", released)

	for i := range 3 {
		res := recorded(t, post(context.Background(), env, httpapi.IngestPath, io.MultiReader(bytes.NewReader(batchOf(t, fmt.Sprint("ok", i), 10, now)))))
		if res.Recorded != 10 {
			t.Fatalf("batch %d after the failures: %+v", i, res)
		}
	}
}

// TestIngestAdmissionStress posts batches of every weight (sized, chunked,
// gzip-compressed) from many clients at once, some of which give up while
// waiting: the bytes in use never exceed the budget, every batch is
// answered 200 (or not at all, when its client gave up), nothing is left
// held or waiting, and every answered batch is recorded whole.
func TestIngestAdmissionStress(t *testing.T) {
	const budget = 128 << 10
	env := admissionEnv(t, budget, time.Hour)
	api := env.Server.API
	now := time.Now().UTC()

	stop := make(chan struct{})
	over := make(chan int64, 1)
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() { // the in-use bytes, sampled while the batches run
		defer sampler.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if used, _, _ := httpapi.IngestAdmission(api); used > budget {
				select {
				case over <- used:
				default:
				}
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()

	const clients, perClient = 10, 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	var okEvents, answered, abandoned int
	var failures []string
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range perClient {
				n := 10 + (c*perClient+b)%7*20 // 10..130 events, 5..60 KiB
				raw := batchOf(t, fmt.Sprintf("s%d-%d", c, b), n, now)
				var body io.Reader
				switch b % 3 {
				case 0:
					body = bytes.NewReader(raw)
				case 1:
					body = io.MultiReader(bytes.NewReader(raw)) // chunked
				default:
					var z bytes.Buffer
					zw := gzip.NewWriter(&z)
					zw.Write(raw)
					zw.Close()
					body = bytes.NewReader(z.Bytes())
				}
				ctx, cancel := context.WithCancel(context.Background())
				if c%4 == 3 && b == 1 {
					// gives up soon: while waiting, while decoded, or after its answer
					time.AfterFunc(time.Duration(1+c)*time.Millisecond, cancel)
				}
				a := post(ctx, env, httpapi.IngestPath, body)
				cancel()
				mu.Lock()
				switch {
				case a.err != nil && ctx.Err() != nil:
					abandoned++
				case a.err != nil || a.status != 200:
					failures = append(failures, fmt.Sprintf("client %d batch %d: %d %v %s", c, b, a.status, a.err, a.body))
				default:
					var res insights.IngestResult
					json.Unmarshal([]byte(a.body), &res)
					if res.Recorded+res.Duplicates != n {
						failures = append(failures, fmt.Sprintf("client %d batch %d: %+v of %d events", c, b, res, n))
					}
					okEvents += res.Recorded
					answered++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	eventually(t, "released every batch", func() bool { used, _, waiting := httpapi.IngestAdmission(api); return used == 0 && waiting == 0 })
	close(stop)
	sampler.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	select {
	case used := <-over:
		t.Fatalf("%d bytes in use, over the budget of %d", used, budget)
	default:
	}
	if _, peak, _ := httpapi.IngestAdmission(api); peak > budget || peak == 0 {
		t.Fatalf("peak %d bytes in use, want 1..%d", peak, budget)
	}
	if answered+abandoned != clients*perClient || answered == 0 {
		t.Fatalf("%d answered and %d abandoned of %d", answered, abandoned, clients*perClient)
	}
	t.Logf("%d batches recorded (%d events), %d abandoned", answered, okEvents, abandoned)
}

// TestIngestWeight: a batch weighs its Content-Length, but a
// gzip-compressed one (its decoded size unknown until read) and one of
// unknown length weigh the route's limit, here capped at the budget.
func TestIngestWeight(t *testing.T) {
	const budget = 8 << 20
	env := admissionEnv(t, budget, time.Hour)
	api := env.Server.API
	now := time.Now().UTC()
	inUse := func() int64 { used, _, _ := httpapi.IngestAdmission(api); return used }

	plain := batchOf(t, "plain", 30, now)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(batchOf(t, "gzip", 30, now))
	zw.Close()
	for _, c := range []struct {
		name   string
		body   []byte
		length int64
		weight int64
	}{
		{"sized", plain, int64(len(plain)), int64(len(plain))},
		{"gzip", z.Bytes(), int64(z.Len()), budget},
		{"chunked", batchOf(t, "chunked", 30, now), -1, budget},
	} {
		h := holdSized(env, c.length)
		// The first bytes, enough to tell gzip from NDJSON; the rest once admitted.
		if _, err := h.w.Write(c.body[:2]); err != nil {
			t.Fatal(err)
		}
		eventually(t, c.name+" batch admitted", func() bool { return inUse() != 0 })
		if got := inUse(); got != c.weight {
			t.Errorf("%s batch of %d bytes weighs %d, want %d", c.name, len(c.body), got, c.weight)
		}
		if res := recorded(t, h.finish(t, c.body[2:])); res.Recorded != 30 {
			t.Fatalf("%s batch: %+v", c.name, res)
		}
		eventually(t, c.name+" batch released", func() bool { return inUse() == 0 })
	}
}

// ingestRouteLimits are the ingest routes with their body limits.
var ingestRouteLimits = []struct {
	path  string
	limit int64
}{
	{httpapi.IngestPath, httpapi.IngestMaxBodyBytes},
	{httpapi.BillingIngestPath, httpapi.IngestMaxBodyBytes},
	{httpapi.CopilotIngestPath, httpapi.IngestMaxBodyBytes},
	{httpapi.ServerStatsIngestPath + "?account=acme", serverstats.MaxUploadBytes},
}

// TestIngestTooLargeByLength: a batch whose Content-Length is over the
// route's limit is answered 413 at once, without waiting for admission
// (here the whole budget is held and the wait too short: it would be 503)
// and without its body being read.
func TestIngestTooLargeByLength(t *testing.T) {
	const budget = 1 << 20
	env := admissionEnv(t, budget, time.Millisecond)
	api := env.Server.API
	now := time.Now().UTC()

	first := holdBudget(t, env, budget)
	for _, c := range ingestRouteLimits {
		pr, pw := io.Pipe() // no byte of the body is ever sent
		a := postLength(context.Background(), env, c.path, pr, c.limit+1)
		pw.Close()
		if a.err != nil || a.status != http.StatusRequestEntityTooLarge || !strings.Contains(a.body, fmt.Sprint(c.limit)) {
			t.Errorf("POST %s with Content-Length %d while the budget is held: %d %v %s, want 413 naming the limit",
				c.path, c.limit+1, a.status, a.err, a.body)
		}
	}
	if _, _, waiting := httpapi.IngestAdmission(api); waiting != 0 {
		t.Errorf("%d batches waiting, want none", waiting)
	}
	if res := recorded(t, first.finish(t, batchOf(t, "first", 5, now))); res.Recorded != 5 {
		t.Fatalf("first batch: %+v", res)
	}
	admissionsCounted(t, env, "immediate", 1)
	if _, m := env.Get(t, "/metrics", ""); strings.Contains(m, `ghusage_ingest_admissions_total{outcome="refused"}`) {
		t.Errorf("a batch refused by its Content-Length was counted as refused admission")
	}
}

// TestIngestTooLargeChunked: a chunked body that turns out longer than the
// route's limit while it is decoded is answered 413 on every ingest route
// (blank lines, so no decoder stops at a bad line first), and its weight
// is given back.
func TestIngestTooLargeChunked(t *testing.T) {
	const budget = 1 << 20
	env := admissionEnv(t, budget, time.Hour)
	api := env.Server.API
	for _, c := range ingestRouteLimits {
		body := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("\n"), int(c.limit)+1)))
		if a := post(context.Background(), env, c.path, body); a.status != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s of %d blank lines, chunked: %d %v %s, want 413", c.path, c.limit+1, a.status, a.err, a.body)
		}
		eventually(t, "released after "+c.path, func() bool { used, _, waiting := httpapi.IngestAdmission(api); return used == 0 && waiting == 0 })
	}
}

// TestIngestGzipExpandingTooFar: a small gzip body that expands past what
// the route decodes (blank lines beyond 512 MiB, or 64 MiB for server
// statistics) is answered 413 on every ingest route, not cut short and
// answered as the records before the cut.
func TestIngestGzipExpandingTooFar(t *testing.T) {
	env := admissionEnv(t, 1<<30, time.Hour)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	line := append(bytes.Repeat([]byte(" "), 1023), '\n')
	for n := 0; n <= 512<<20; n += len(line) {
		zw.Write(line)
	}
	zw.Close()
	for _, c := range ingestRouteLimits {
		if a := post(context.Background(), env, c.path, bytes.NewReader(gz.Bytes())); a.status != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s of a %d-byte gzip body expanding past 512 MiB: %d %v %s, want 413", c.path, gz.Len(), a.status, a.err, a.body)
		}
	}
}
