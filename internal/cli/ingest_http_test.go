package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// fakeClock is the sink's clock in these tests: sleeping moves it.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d)
	return nil
}

// scripted answers each POST with the next of its answers.
type scripted struct {
	mu      sync.Mutex
	clock   *fakeClock
	answers []func(w http.ResponseWriter, now time.Time)
	paths   []string
	types   []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	s.paths = append(s.paths, r.URL.RequestURI())
	s.types = append(s.types, r.Header.Get("Content-Type"))
	i := len(s.paths) - 1
	s.mu.Unlock()
	if i >= len(s.answers) {
		http.Error(w, "no more answers", http.StatusTeapot)
		return
	}
	s.answers[i](w, s.clock.now())
}

func answer(status int, body string, header ...string) func(http.ResponseWriter, time.Time) {
	return func(w http.ResponseWriter, _ time.Time) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

const secondaryBody = `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"403"}`

func newScriptedSink(t *testing.T, retryFor time.Duration, answers ...func(http.ResponseWriter, time.Time)) (*httpSink, *scripted, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	srv := &scripted{clock: clock, answers: answers}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	var notes strings.Builder
	sink := &httpSink{base: hs.URL, token: "t", retryFor: retryFor, client: hs.Client(), now: clock.now, sleep: clock.sleep, notify: &notes}
	return sink, srv, clock
}

// The sink waits as GitHub tells rate-limited clients to: Retry-After on a
// secondary 403, a 429 or a 503; x-ratelimit-reset on an exhausted primary
// window; a minute on a secondary limit without Retry-After; and backs off
// briefly on other 5xx.
func TestHTTPSinkHonoursRateLimits(t *testing.T) {
	primary := func(w http.ResponseWriter, now time.Time) {
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(5*time.Second).Unix(), 10))
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"message":"API rate limit exceeded for user ID 1.","status":"403"}`)
	}
	sink, srv, clock := newScriptedSink(t, 10*time.Minute,
		answer(http.StatusForbidden, secondaryBody, "Retry-After", "7"),
		answer(http.StatusTooManyRequests, `{"message":"slow down"}`, "Retry-After", "3"),
		primary,
		answer(http.StatusForbidden, secondaryBody),
		answer(http.StatusServiceUnavailable, `{"message":"Rate limiting is temporarily unavailable."}`, "Retry-After", "2"),
		answer(http.StatusBadGateway, "bad gateway"),
		answer(http.StatusOK, `{"received":1,"recorded":1,"duplicates":0}`),
	)
	res, err := sink.send(context.Background(), &batch{body: []byte("{}\n"), n: 1, first: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Recorded != 1 || len(srv.paths) != 7 {
		t.Fatalf("result %+v after %d attempts, want recorded 1 after 7", res, len(srv.paths))
	}
	want := []time.Duration{7 * time.Second, 3 * time.Second, 5 * time.Second, time.Minute, 2 * time.Second, 100 * time.Millisecond}
	if fmt.Sprint(clock.slept) != fmt.Sprint(want) {
		t.Fatalf("waited %v, want %v", clock.slept, want)
	}
	if srv.paths[0] != apiRequestsIngestPath {
		t.Fatalf("posted to %s", srv.paths[0])
	}
	if notes := sink.notify.(*strings.Builder).String(); strings.Count(notes, "waiting") != 5 {
		t.Fatalf("rate-limit waits told on standard error:\n%s", notes)
	}
}

// Answers that another attempt would not change are not retried, and a
// wait that would end past --retry-for is not started.
func TestHTTPSinkGivesUp(t *testing.T) {
	for _, c := range []struct {
		name   string
		answer func(http.ResponseWriter, time.Time)
		want   string
	}{
		{"missing scope", answer(http.StatusForbidden, `{"message":"Ingesting request events requires the ghusage:ingest scope"}`), "403 Forbidden"},
		{"invalid batch", answer(http.StatusUnprocessableEntity, `{"message":"Validation Failed"}`), "422"},
		{"bad credentials", answer(http.StatusUnauthorized, `{"message":"Bad credentials"}`), "401"},
		{"retry-after past the deadline", answer(http.StatusForbidden, secondaryBody, "Retry-After", "45"), "wait 45s"},
		{"reset past the deadline", func(w http.ResponseWriter, now time.Time) {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(time.Hour).Unix(), 10))
			w.WriteHeader(http.StatusForbidden)
		}, "primary rate limit exhausted until"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink, srv, clock := newScriptedSink(t, 30*time.Second, c.answer, answer(http.StatusOK, `{"received":1,"recorded":1}`))
			_, err := sink.send(context.Background(), &batch{body: []byte("{}\n"), n: 1, first: 3})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "batch from line 3") {
				t.Fatalf("err = %v, want one naming the batch and %q", err, c.want)
			}
			if len(srv.paths) != 1 || len(clock.slept) != 0 {
				t.Fatalf("%d attempts, waits %v; want one attempt and no wait", len(srv.paths), clock.slept)
			}
		})
	}
}

// Another ingest kind reuses the sink with its own path, query and
// content type, and gets the same retries.
func TestHTTPSinkPostsToItsPath(t *testing.T) {
	sink, srv, clock := newScriptedSink(t, time.Minute,
		answer(http.StatusTooManyRequests, "", "Retry-After", "1"), answer(http.StatusOK, `{"ok":true}`))
	sink.contentType = "application/json"
	out, err := sink.post(context.Background(), "/ghusage/v1/ingest/server-statistics?account=acme", []byte("{}"))
	if err != nil || string(out) != `{"ok":true}` {
		t.Fatalf("post: %q %v", out, err)
	}
	if len(srv.paths) != 2 || srv.paths[1] != "/ghusage/v1/ingest/server-statistics?account=acme" ||
		srv.types[1] != "application/json" || fmt.Sprint(clock.slept) != "[1s]" {
		t.Fatalf("paths %v, types %v, waits %v", srv.paths, srv.types, clock.slept)
	}
}

// `ghusage ingest api-requests --url` goes on past 180 posts in a minute:
// an ingest POST costs no secondary points on the server (it cost 5 of 900,
// and the CLI stopped at the 181st batch with a 403).
func TestIngestManySmallBatchesOverHTTP(t *testing.T) {
	token := usage.NewTokenString(usage.ActorClassicPAT)
	base := serveInProcess(t, token)
	const n, size = 1000, 4 // 250 posts
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeEvents(pw, n, 515151, time.Now())) }()
	var out, errOut strings.Builder
	err := Run(context.Background(), []string{"ingest", "api-requests", "--url", base, "--token", token,
		"--batch-size", strconv.Itoa(size), "--retry-for", "5s", "-"}, func(string) string { return "" }, pr, &out, &errOut)
	if err != nil {
		t.Fatalf("ingest in %d batches: %v\n%s", n/size, err, errOut.String())
	}
	if got := actorTotal(t, base, token, 515151); got != n {
		t.Fatalf("summary-stats counts %d, want %d", got, n)
	}
}
