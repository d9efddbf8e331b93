package scaleout_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/httpapi"
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/usage"
)

// twoReplicas starts two replicas on one fresh PostgreSQL schema and one
// Redis key space; the first writes the demo accounts. extra flags go to both.
func twoReplicas(t *testing.T, extra ...string) (a, b *replica, token string) {
	t.Helper()
	rurl := redisURL(t)
	return twoReplicasOn(t, append([]string{"--redis-url", rurl, "--redis-key-prefix", redisPrefix(t, rurl)}, extra...)...)
}

// twoReplicasOn is twoReplicas with the Redis flags given by the caller.
func twoReplicasOn(t *testing.T, extra ...string) (a, b *replica, token string) {
	t.Helper()
	dsn := pgtest.DSN(t)
	token = usage.NewTokenString(usage.ActorClassicPAT)
	common := append([]string{"--store", "postgres", "--postgres-dsn", dsn,
		"--admin-token", token, "--demo-scale", "0.05"}, extra...)
	a = startReplica(t, append([]string{"--demo"}, common...)...)
	b = startReplica(t, common...)
	return a, b, token
}

// TestReplicasDrainOnePool sends requests alternately to two replicas with
// one token: together they get exactly the pool's limit, and the counter
// each answers with continues the other's.
func TestReplicasDrainOnePool(t *testing.T) {
	t.Parallel()
	const limit = 40
	a, b, token := twoReplicas(t, "--rate-limits", fmt.Sprintf("core=%d", limit),
		"--secondary-max-concurrent", "0", "--secondary-endpoint-points", "0")
	drainOnePool(t, a, b, token, limit)
}

// TestReplicasDrainOnePoolOnRedisCluster is TestReplicasDrainOnePool with
// the counters on a Redis Cluster (GHUSAGE_TEST_REDIS_CLUSTER_URL, e.g.
// redis://127.0.0.1:7101?addr=127.0.0.1:7102&addr=127.0.0.1:7103, which
// .ci/run starts).
func TestReplicasDrainOnePoolOnRedisCluster(t *testing.T) {
	t.Parallel()
	url := redisClusterURL(t)
	const limit = 30
	a, b, token := twoReplicasOn(t, "--redis-url", url, "--redis-cluster", "--redis-key-prefix", "ghusage:test:"+randHex(6)+":",
		"--rate-limits", fmt.Sprintf("core=%d", limit), "--secondary-max-concurrent", "0", "--secondary-endpoint-points", "0")
	drainOnePool(t, a, b, token, limit)
}

// drainOnePool sends limit+10 requests alternately to a and b.
func drainOnePool(t *testing.T, a, b *replica, token string, limit int) {
	t.Helper()
	ok, limited := 0, 0
	for i := range limit + 10 {
		r := []*replica{a, b}[i%2]
		resp, body := r.do(t, "GET", "/user", token, nil)
		used, _ := strconv.Atoi(resp.Header.Get("X-RateLimit-Used"))
		remaining := resp.Header.Get("X-RateLimit-Remaining")
		switch resp.StatusCode {
		case 200:
			ok++
			if used != ok {
				t.Fatalf("request %d on %s: X-RateLimit-Used = %d, want %d (the pool is shared)", i, r.url, used, ok)
			}
		case 403, 429:
			limited++
			if remaining != "0" || !strings.Contains(string(body), "rate limit") {
				t.Fatalf("request %d on %s: %d with remaining %q, body %s", i, r.url, resp.StatusCode, remaining, body)
			}
		default:
			t.Fatalf("request %d on %s: %d %s", i, r.url, resp.StatusCode, body)
		}
	}
	if ok != limit || limited != 10 {
		t.Fatalf("two replicas admitted %d and limited %d of %d requests; want exactly %d admitted", ok, limited, limit+10, limit)
	}
}

// TestReplicasShareInsights ingests events through one replica and reads
// them from the other, both ways; a batch re-sent to the other replica
// counts nothing.
func TestReplicasShareInsights(t *testing.T) {
	t.Parallel()
	a, b, token := twoReplicas(t, "--rate-limit=false")
	now := time.Now().UTC()
	since := now.Add(-time.Hour).Truncate(time.Minute)
	batch := func(prefix string, n int) []insights.Event {
		out := eventsLike(installationEvent("acme-web", 987654, "ci-bot", "GET", "/repos/:owner/:repo"), prefix, n, now)
		for i := range out {
			out[i].RateLimited = i%10 == 0
		}
		return out
	}
	// Read by actor (installation 987654, not in the demo data): the metered reads themselves are
	// the admin token's, so the counts are exact.
	const scope = "acme-web/insights/api/summary-stats/installation/987654"
	post := func(r *replica, events []insights.Event) string {
		resp, body := r.do(t, "POST", httpapi.IngestPath, token, ndjson(t, events))
		if resp.StatusCode != 200 {
			t.Fatalf("ingest on %s: %d %s", r.url, resp.StatusCode, body)
		}
		return string(body)
	}
	post(a, batch("a", 300))
	if got, rl := summary(t, b, token, scope, since); got != 300 || rl != 30 {
		t.Fatalf("after 300 events (30 rate limited) ingested on A, B reports %d, %d rate limited", got, rl)
	}
	post(b, batch("b", 200))
	res := post(b, batch("a", 300)) // A's batch again, through B
	if !strings.Contains(res, `"duplicates":300`) {
		t.Fatalf("re-sending A's batch through B: %s, want 300 duplicates", res)
	}
	for _, r := range []*replica{a, b} {
		if got, rl := summary(t, r, token, scope, since); got != 500 || rl != 50 {
			t.Fatalf("%s reports %d requests, %d rate limited; want 500 and 50, each event once", r.url, got, rl)
		}
	}
}
