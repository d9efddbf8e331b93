package scaleout_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/cli"
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/redis"
	"github.com/ghusage/ghusage/internal/usage"
)

// replica is one ghusage serve running through cli.Run.
type replica struct {
	url string
}

// startReplica runs `ghusage serve` with args on port 0 and waits until it
// prints its URL; it is stopped (and must stop cleanly) when t ends.
func startReplica(t *testing.T, args ...string) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := cli.Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "error"}, args...),
			func(string) string { return "" }, nil, pw, io.Discard)
		pw.Close()
		done <- err
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if _, after, ok := strings.Cut(sc.Text(), "listening on "); ok {
				select {
				case urls <- strings.Fields(after)[0]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	r := &replica{}
	select {
	case r.url = <-urls:
	case err := <-done:
		t.Fatalf("serve exited before it was ready: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not print its URL within 60s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("replica %s: serve returned %v after shutdown", r.url, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("replica %s did not stop within 30s", r.url)
		}
	})
	return r
}

// do sends a request with token and returns the response, body read.
func (r *replica) do(t *testing.T, method, path, token string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, b, err := r.try(method, path, token, body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func (r *replica) try(method, path, token string, body []byte) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, r.url+path, rd)
	if err != nil {
		return nil, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// redisURL returns the test Redis, skipping (or failing, when
// GHUSAGE_TEST_REDIS_URL is set) when it does not answer.
func redisURL(t *testing.T) string {
	t.Helper()
	url, set := os.LookupEnv("GHUSAGE_TEST_REDIS_URL")
	if !set || url == "" {
		url = "redis://127.0.0.1:6379/15"
	}
	c, err := redis.Connect(url, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if set {
			t.Fatalf("GHUSAGE_TEST_REDIS_URL is set but Redis does not answer at %s: %v", url, err)
		}
		t.Skipf("Redis not reachable at %s (%v); set GHUSAGE_TEST_REDIS_URL to run the scale-out tests", url, err)
	}
	return url
}

// redisClusterURL returns the test Redis Cluster named by
// GHUSAGE_TEST_REDIS_CLUSTER_URL, skipping the test when the variable is
// unset and failing it when the cluster does not answer.
func redisClusterURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("GHUSAGE_TEST_REDIS_CLUSTER_URL")
	if url == "" {
		t.Skip("GHUSAGE_TEST_REDIS_CLUSTER_URL is not set (.ci/run starts a three-node cluster and sets it)")
	}
	c, err := redis.Connect(url, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("GHUSAGE_TEST_REDIS_CLUSTER_URL is set but the cluster does not answer at %s: %v", url, err)
	}
	return url
}

// redisPrefix returns a key prefix of this test's own and deletes its keys
// when the test ends.
func redisPrefix(t *testing.T, url string) string {
	prefix := "ghusage:test:" + randHex(6) + ":"
	t.Cleanup(func() {
		c, err := redis.Connect(url, false)
		if err != nil {
			return
		}
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ndjson encodes events one per line, as the ingest endpoint takes them.
// eventsLike returns n copies of tmpl with ids prefix-0 … prefix-(n-1),
// one second apart and ending at now.
func eventsLike(tmpl insights.Event, prefix string, n int, now time.Time) []insights.Event {
	out := make([]insights.Event, n)
	for i := range out {
		out[i] = tmpl
		out[i].ID = fmt.Sprintf("%s-%d", prefix, i)
		out[i].Timestamp = now.Add(-time.Duration(i) * time.Second)
	}
	return out
}

// installationEvent is an event template of one installation calling route.
func installationEvent(org string, id int64, name, method, route string) insights.Event {
	return insights.Event{Org: org, ActorType: usage.ActorInstallation, ActorID: id, ActorName: name,
		SubjectType: insights.SubjectInstallation, SubjectID: id, SubjectName: name, HTTPMethod: method, APIRoute: route}
}

func ndjson(t *testing.T, events []insights.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// summary reads /orgs/{scope} (a summary-stats path) from since on.
func summary(t *testing.T, r *replica, token, scope string, since time.Time) (total, rateLimited int64) {
	t.Helper()
	resp, body := r.do(t, "GET", fmt.Sprintf("/orgs/%s?min_timestamp=%s", scope, since.UTC().Format(time.RFC3339)), token, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("summary-stats on %s: %d %s", r.url, resp.StatusCode, body)
	}
	var s struct {
		Total       int64 `json:"total_request_count"`
		RateLimited int64 `json:"rate_limited_request_count"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("summary-stats body %s: %v", body, err)
	}
	return s.Total, s.RateLimited
}

// proxy forwards TCP connections to a backend and can be switched off,
// which to its clients looks like the backend going away: open connections
// are cut and new ones are refused until it is switched on again.
type proxy struct {
	ln      net.Listener
	backend string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

func newProxy(t *testing.T, backend string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, backend: backend, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.setDown(true) })
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		b, err := net.Dial("tcp", p.backend)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[b] = true, true
		p.mu.Unlock()
		go func() { io.Copy(b, c); b.Close(); c.Close() }()
		go func() { io.Copy(c, b); b.Close(); c.Close() }()
	}
}

// setDown switches the proxy off (cutting every connection) or on.
func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}
