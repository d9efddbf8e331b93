package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ghusage/ghusage/internal/metrics"
	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/ratelimit/ratelimittest"
	"github.com/ghusage/ghusage/internal/redis"
)

// testClient connects to GHUSAGE_TEST_REDIS_URL (default: database 15 of
// the local server) or skips the test when it does not answer; when the
// variable is set (as .ci/run sets it), no answer fails the test instead.
func testClient(t testing.TB) goredis.UniversalClient {
	t.Helper()
	url := os.Getenv("GHUSAGE_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/15"
	}
	c, err := redis.Connect(url, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		if os.Getenv("GHUSAGE_TEST_REDIS_URL") != "" {
			t.Fatalf("GHUSAGE_TEST_REDIS_URL is set but Redis does not answer at %s: %v", url, err)
		}
		t.Skipf("Redis tier skipped: no Redis at %s (%v); set GHUSAGE_TEST_REDIS_URL to run it", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testPrefix returns a key prefix unique to this test and removes its keys
// when the test ends, so parallel runs never collide.
func testPrefix(t testing.TB, c goredis.UniversalClient) string {
	var b [6]byte
	rand.Read(b[:])
	prefix := "ghusage-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}

func TestRedisSuite(t *testing.T) {
	c := testClient(t)
	ratelimittest.Run(t, func(t *testing.T, clock *ratelimittest.Clock) ratelimit.Store {
		s, err := redis.New(c, redis.Options{Prefix: testPrefix(t, c), Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestRedisUsesServerClock checks that without an injected clock the
// window is anchored on Redis' TIME.
func TestRedisUsesServerClock(t *testing.T) {
	c := testClient(t)
	s, err := redis.New(c, redis.Options{Prefix: testPrefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, err := c.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Take(ctx, ratelimit.Charge{Pool: ratelimit.UserPool(1), Cost: 1, Limit: 10, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := c.Time(ctx).Result()
	lo, hi := before.Unix()+3600, after.Unix()+3601
	if r.Window.Used != 1 || r.Window.Reset < lo || r.Window.Reset > hi {
		t.Fatalf("window %+v, want used 1 and reset in [%d, %d] (Redis TIME + 1h)", r.Window, lo, hi)
	}
	var ws [ratelimit.NumResources]time.Duration
	for i := range ws {
		ws[i] = time.Minute
	}
	got, err := s.Peek(ctx, ratelimit.UserPool(1), &ws)
	if err != nil {
		t.Fatal(err)
	}
	if got[ratelimit.Core] != r.Window {
		t.Fatalf("Peek core = %+v, want %+v", got[ratelimit.Core], r.Window)
	}
	if got[ratelimit.Search].Used != 0 || got[ratelimit.Search].Reset > after.Unix()+61 {
		t.Fatalf("idle search window = %+v", got[ratelimit.Search])
	}
	// Keys expire shortly after their window.
	keys, _ := c.Keys(ctx, "*{user:1}*").Result()
	for _, k := range keys {
		if ttl := c.TTL(ctx, k).Val(); ttl <= 0 || ttl > time.Hour+2*time.Minute {
			t.Errorf("key %s has TTL %s", k, ttl)
		}
	}
}

// TestRedisKeysShareHashTag checks that every key a pool's decision
// touches hashes to one Redis Cluster slot.
func TestRedisKeysShareHashTag(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s, err := redis.New(c, redis.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := s.Take(ctx, ratelimit.Charge{Pool: ratelimit.InstallationPool(9), Cost: 1, Limit: 10, Window: time.Hour,
		Endpoint: "POST /orgs/{org}/x", Points: 5, PointsLimit: 900, PointsWindow: time.Minute,
		MaxConcurrent: 10, SlotTTL: time.Minute})
	if err != nil || r.Verdict != ratelimit.Allowed {
		t.Fatal(r, err)
	}
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("keys = %q, want the window, the points and the slots", keys)
	}
	for _, k := range keys {
		i := strings.IndexByte(k, '{')
		j := strings.IndexByte(k[i:], '}')
		if tag := k[i : i+j+1]; tag != "{installation:9}" {
			t.Errorf("key %q has hash tag %q, want {installation:9}", k, tag)
		}
	}
	if _, err := redis.New(c, redis.Options{Prefix: "bad{prefix}"}); err == nil {
		t.Error("a prefix with braces was accepted")
	}
}

// TestRedisUnreachable checks fail-open and fail-closed against a port
// nothing listens on, and that failures are counted.
func TestRedisUnreachable(t *testing.T) {
	c, err := redis.Connect("redis://127.0.0.1:1/0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reg := metrics.New()
	errs := reg.Counter("ghusage_ratelimit_store_errors_total", "Failed rate-limit store calls.", "backend", "redis")
	s, err := redis.New(c, redis.Options{Errors: errs})
	if err != nil {
		t.Fatal(err)
	}
	for _, open := range []bool{true, false} {
		cfg := ratelimit.DefaultConfig()
		cfg.FailOpen = open
		l := ratelimit.New(cfg, s, nil)
		req := ratelimit.Request{Subject: ratelimit.Subject{Pool: ratelimit.UserPool(1)}, Counted: true}
		d, err := l.Admit(context.Background(), &req)
		if open && (err != nil || !d.Degraded || d.Verdict != ratelimit.Allowed) {
			t.Errorf("fail-open: %+v, %v; want admitted, degraded", d, err)
		}
		if !open && err != ratelimit.ErrUnavailable {
			t.Errorf("fail-closed: err = %v, want ErrUnavailable", err)
		}
	}
	if errs.Value() != 2 {
		t.Errorf("error counter = %d, want 2", errs.Value())
	}
}

// BenchmarkRedisDecision measures full decisions (primary window, endpoint
// points, a concurrency slot; then Finish releasing the slot) against the
// real Redis, with 32 concurrent callers over 10,000 users.
func BenchmarkRedisDecision(b *testing.B) {
	c := testClient(b)
	s, err := redis.New(c, redis.Options{Prefix: testPrefix(b, c)})
	if err != nil {
		b.Fatal(err)
	}
	benchRedis(b, s, ratelimit.DefaultConfig())
}

// BenchmarkRedisPrimaryOnly is one script call per decision: secondary
// limits off, so there is no Finish call.
func BenchmarkRedisPrimaryOnly(b *testing.B) {
	c := testClient(b)
	s, err := redis.New(c, redis.Options{Prefix: testPrefix(b, c)})
	if err != nil {
		b.Fatal(err)
	}
	cfg := ratelimit.DefaultConfig()
	cfg.Secondary = ratelimit.Secondary{}
	benchRedis(b, s, cfg)
}

func benchRedis(b *testing.B, s *redis.Store, cfg ratelimit.Config) {
	cfg.Categories[ratelimit.Core].Authenticated = 1 << 40
	cfg.Secondary.EndpointPoints = min(cfg.Secondary.EndpointPoints, 1<<40)
	l := ratelimit.New(cfg, s, nil)
	ctx := context.Background()
	b.SetParallelism(16)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := int64(0)
		for pb.Next() {
			i++
			req := ratelimit.Request{Subject: ratelimit.Subject{Pool: ratelimit.UserPool(i % 10000)}, Counted: true,
				Endpoint: "GET /orgs/{org}/insights/api/summary-stats"}
			d, err := l.Admit(ctx, &req)
			if err != nil {
				b.Error(err)
				return
			}
			l.Finish(ctx, &d, false)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "decisions/s")
}

// TestRedisScriptCacheFlushed checks that decisions survive a Redis whose
// script cache was emptied (a restart, a failover to a replica that never
// saw SCRIPT LOAD), alone and in pipelined batches.
func TestRedisScriptCacheFlushed(t *testing.T) {
	c := testClient(t)
	s, err := redis.New(c, redis.Options{Prefix: testPrefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	take := func() error {
		_, err := s.Take(ctx, ratelimit.Charge{Pool: ratelimit.UserPool(3), Cost: 1, Limit: 1000, Window: time.Hour})
		return err
	}
	if err := take(); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 32)
		for range 32 {
			go func() { errs <- take() }()
		}
		for range 32 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: take after SCRIPT FLUSH: %v", round, err)
			}
		}
	}
	var ws [ratelimit.NumResources]time.Duration
	for i := range ws {
		ws[i] = time.Hour
	}
	got, err := s.Peek(ctx, ratelimit.UserPool(3), &ws)
	if err != nil || got[ratelimit.Core].Used != 65 {
		t.Fatalf("used = %d (%v), want 65", got[ratelimit.Core].Used, err)
	}
}

// proxy forwards TCP connections to target until closed; it lets a test
// take Redis away and bring it back on the same address.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, addr, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

// TestRedisRecoversWithoutRestart takes Redis away under a running limiter
// and brings it back: requests fail closed meanwhile and are decided again,
// on the same counters, once Redis answers.
func TestRedisRecoversWithoutRestart(t *testing.T) {
	direct := testClient(t)
	prefix := testPrefix(t, direct)
	opt := direct.(*goredis.Client).Options()
	p := startProxy(t, "127.0.0.1:0", opt.Addr)
	addr := p.ln.Addr().String()
	c, err := redis.Connect(fmt.Sprintf("redis://%s/%d", addr, opt.DB), false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := redis.New(c, redis.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	l := ratelimit.New(ratelimit.DefaultConfig(), s, nil)
	req := ratelimit.Request{Subject: ratelimit.Subject{Pool: ratelimit.UserPool(5)}, Counted: true}
	admit := func() (ratelimit.Decision, error) {
		d, err := l.Admit(context.Background(), &req)
		if err == nil {
			l.Finish(context.Background(), &d, false)
		}
		return d, err
	}
	if _, err := admit(); err != nil {
		t.Fatal(err)
	}
	p.close()
	for range 3 {
		if _, err := admit(); err != ratelimit.ErrUnavailable {
			t.Fatalf("with Redis gone: %v, want ErrUnavailable", err)
		}
	}
	p = startProxy(t, addr, opt.Addr)
	defer p.close()
	d, err := admit()
	if err != nil || d.Used != 2 {
		t.Fatalf("with Redis back: %+v %v, want used 2 on the same window", d, err)
	}
}

// TestRedisClusterSuite runs the behaviour suite on Redis Cluster when
// GHUSAGE_TEST_REDIS_CLUSTER_URL names a node (further nodes as addr=
// parameters): every script touches the keys of one pool, which share a
// hash tag, so no call may fail with CROSSSLOT.
func TestRedisClusterSuite(t *testing.T) {
	url := os.Getenv("GHUSAGE_TEST_REDIS_CLUSTER_URL")
	if url == "" {
		t.Skip("Redis Cluster tier skipped: set GHUSAGE_TEST_REDIS_CLUSTER_URL (redis://host:port?addr=host:port&addr=...) to run it")
	}
	uc, err := redis.Connect(url, true)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	c := uc.(*goredis.ClusterClient)
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("GHUSAGE_TEST_REDIS_CLUSTER_URL is set but the cluster does not answer: %v", err)
	}
	ratelimittest.Run(t, func(t *testing.T, clock *ratelimittest.Clock) ratelimit.Store {
		var b [6]byte
		rand.Read(b[:])
		prefix := "ghusage-test:" + hex.EncodeToString(b[:]) + ":"
		t.Cleanup(func() {
			c.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error {
				for it := n.Scan(ctx, 0, prefix+"*", 1000).Iterator(); it.Next(ctx); {
					n.Del(ctx, it.Val())
				}
				return nil
			})
		})
		s, err := redis.New(c, redis.Options{Prefix: prefix, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestRedisRejectCache checks that a replica refuses an exhausted window
// by itself for a moment, and asks Redis again afterwards.
func TestRedisRejectCache(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	clock := ratelimittest.NewClock(time.Now().Add(time.Hour))
	s, err := redis.New(c, redis.Options{Prefix: prefix, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ch := ratelimit.Charge{Pool: ratelimit.UserPool(4), Cost: 1, Limit: 2, Window: time.Hour}
	take := func() ratelimit.Result {
		t.Helper()
		r, err := s.Take(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	take()
	take()
	if r := take(); r.Verdict != ratelimit.Primary || r.Rejections != 1 {
		t.Fatalf("third: %+v", r)
	}
	// Redis forgets the window; the replica still refuses from its cache.
	if err := c.Del(ctx, prefix+"{user:4}:core").Err(); err != nil {
		t.Fatal(err)
	}
	if r := take(); r.Verdict != ratelimit.Primary || r.Rejections != 2 || r.Window.Used != 2 {
		t.Fatalf("from the cache: %+v", r)
	}
	clock.Advance(redis.DefaultRejectCacheTTL)
	if r := take(); r.Verdict != ratelimit.Allowed || r.Window.Used != 1 {
		t.Fatalf("after the cache TTL: %+v, want Redis asked again (a fresh window)", r)
	}
	// A refund drops the cached rejection at once.
	r := take()
	if r = take(); r.Verdict != ratelimit.Primary {
		t.Fatalf("exhausted again: %+v", r)
	}
	if err := s.Finish(ctx, ratelimit.Ticket{Pool: ch.Pool, Resource: ch.Resource, Reset: r.Window.Reset, Refund: 1}); err != nil {
		t.Fatal(err)
	}
	if r := take(); r.Verdict != ratelimit.Allowed || r.Window.Used != 2 {
		t.Fatalf("after a refund: %+v", r)
	}
}
