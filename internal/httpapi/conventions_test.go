package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

type errBody struct {
	Message          string `json:"message"`
	DocumentationURL string `json:"documentation_url"`
	Status           string `json:"status"`
}

func decodeErr(t *testing.T, body string) errBody {
	t.Helper()
	var e errBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	if e.DocumentationURL == "" || e.Status == "" {
		t.Fatalf("error body %q lacks documentation_url or status", body)
	}
	return e
}

func TestErrorsAndPrefixes(t *testing.T) {
	env := testenv.New(t)
	for _, prefix := range []string{"", "/api/v3"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			resp, body := env.Get(t, prefix+"/user", "")
			if resp.StatusCode != 401 || decodeErr(t, body).Message != "Requires authentication" {
				t.Errorf("no token: %d %s", resp.StatusCode, body)
			}
			resp, body = env.Get(t, prefix+"/user", "ghp_notatokenatall")
			if resp.StatusCode != 401 || decodeErr(t, body).Message != "Bad credentials" {
				t.Errorf("malformed token: %d %s", resp.StatusCode, body)
			}
			resp, body = env.Get(t, prefix+"/user", usage.NewTokenString(usage.ActorClassicPAT))
			if resp.StatusCode != 401 || decodeErr(t, body).Message != "Bad credentials" {
				t.Errorf("unknown token: %d %s", resp.StatusCode, body)
			}
			resp, body = env.Get(t, prefix+"/no/such/route", env.AdminToken)
			if e := decodeErr(t, body); resp.StatusCode != 404 || e.Message != "Not Found" || e.Status != "404" {
				t.Errorf("unknown route: %d %s", resp.StatusCode, body)
			}
			resp, body = env.Get(t, prefix+"/user", env.AdminToken, "X-GitHub-Api-Version", "1999-01-01")
			if resp.StatusCode != 400 || !strings.Contains(decodeErr(t, body).Message, "2022-11-28") {
				t.Errorf("bad version: %d %s", resp.StatusCode, body)
			}
			resp, body = env.Get(t, prefix+"/user", env.AdminToken, "X-GitHub-Api-Version", "2026-03-10")
			if resp.StatusCode != 200 || resp.Header.Get("X-GitHub-Api-Version-Selected") != "2026-03-10" {
				t.Errorf("supported version: %d %v", resp.StatusCode, resp.Header)
			}
			if !strings.Contains(body, `"login":"ghusage-admin"`) {
				t.Errorf("GET /user body %s", body)
			}
		})
	}
}

func TestStandardHeaders(t *testing.T) {
	env := testenv.New(t)
	resp, _ := env.Get(t, "/user", env.AdminToken, "Accept", "application/vnd.github+json")
	h := resp.Header
	if h.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", h.Get("Content-Type"))
	}
	if h.Get("X-GitHub-Request-Id") == "" || h.Get("X-GitHub-Api-Version-Selected") != "2022-11-28" {
		t.Errorf("request id / version headers missing: %v", h)
	}
	if h.Get("X-GitHub-Media-Type") != "github.v3; format=json" {
		t.Errorf("X-GitHub-Media-Type %q", h.Get("X-GitHub-Media-Type"))
	}
	if h.Get("Access-Control-Allow-Origin") != "*" || !testenv.ContainsAll(h.Get("Access-Control-Expose-Headers"), "ETag", "Link", "X-RateLimit-Remaining", "X-GitHub-Request-Id") {
		t.Errorf("CORS headers: %v", h)
	}
	if !strings.Contains(h.Get("X-OAuth-Scopes"), "admin:org") {
		t.Errorf("X-OAuth-Scopes %q for a classic token", h.Get("X-OAuth-Scopes"))
	}
	resp2, _ := env.Get(t, "/user", env.AdminToken)
	if resp2.Header.Get("X-GitHub-Request-Id") == h.Get("X-GitHub-Request-Id") {
		t.Error("two requests share a request id")
	}
	resp, _ = env.Do(t, http.MethodOptions, "/rate_limit", "", nil, "Origin", "https://example.com", "Access-Control-Request-Method", "GET")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestETagAndNotModified(t *testing.T) {
	env := testenv.New(t)
	resp, body := env.Get(t, "/user", env.AdminToken)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("GET without ETag")
	}
	resp, body2 := env.Get(t, "/user", env.AdminToken, "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || body2 != "" {
		t.Fatalf("matching If-None-Match: %d %q", resp.StatusCode, body2)
	}
	resp, body3 := env.Get(t, "/user", env.AdminToken, "If-None-Match", `W/"different"`)
	if resp.StatusCode != 200 || body3 != body {
		t.Fatalf("stale If-None-Match: %d", resp.StatusCode)
	}
}

func TestTokenLifecycle(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	u := env.Data.Users[0]
	tok := &usage.Token{Type: usage.ActorClassicPAT, UserID: u.ID, Scopes: []string{"read:org"}, CreatedAt: time.Now()}
	s, err := demo.IssueToken(ctx, env.Store, tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{"Bearer ", "token ", "bearer "} {
		resp, body := env.Get(t, "/user", "", "Authorization", scheme+s)
		if resp.StatusCode != 200 || !strings.Contains(body, u.Login) {
			t.Fatalf("%q scheme: %d %s", scheme, resp.StatusCode, body)
		}
	}
	if err := env.Store.RevokeToken(ctx, tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, body := env.Get(t, "/user", s)
	if resp.StatusCode != 401 || decodeErr(t, body).Message != "Bad credentials" {
		t.Fatalf("revoked token: %d %s", resp.StatusCode, body)
	}
	expired := &usage.Token{Type: usage.ActorFineGrainedPAT, UserID: u.ID, ResourceOwner: "acme-web", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(-time.Second)}
	s2, err := demo.IssueToken(ctx, env.Store, expired)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := env.Get(t, "/user", s2); resp.StatusCode != 401 {
		t.Fatalf("expired token: %d", resp.StatusCode)
	}
}

func TestMetricsExposeRoutes(t *testing.T) {
	env := testenv.New(t)
	env.Get(t, "/user", env.AdminToken)
	env.Get(t, "/api/v3/user", env.AdminToken)
	_, body := env.Get(t, "/metrics", "")
	if !strings.Contains(body, `ghusage_http_requests_total{method="GET",route="GET /user",status="200"} 2`) {
		t.Errorf("metrics do not count GET /user twice:\n%s", body)
	}
	if !strings.Contains(body, "ghusage_http_request_duration_seconds_bucket") {
		t.Error("no latency histogram")
	}
	resp, _ := env.Get(t, "/readyz", "")
	if resp.StatusCode != 200 {
		t.Errorf("readyz %d", resp.StatusCode)
	}
}

func TestPathsGitHubWouldNotRedirect(t *testing.T) {
	env := testenv.New(t)
	for _, p := range []string{"/api/v3", "//user", "/api//v3/user", "/x/../user", "/user/.", "/api/v3/./user"} {
		resp, body := env.Get(t, p, env.AdminToken)
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%s: %d %s %q", p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			continue
		}
		decodeErr(t, body)
	}
}

func TestHeadHasETagAndNoBody(t *testing.T) {
	env := testenv.New(t)
	get, _ := env.Get(t, "/user", env.AdminToken)
	resp, body := env.Do(t, http.MethodHead, "/user", env.AdminToken, nil)
	if resp.StatusCode != 200 || body != "" || resp.Header.Get("ETag") != get.Header.Get("ETag") {
		t.Fatalf("HEAD: %d %q etag %q vs GET %q", resp.StatusCode, body, resp.Header.Get("ETag"), get.Header.Get("ETag"))
	}
	resp, _ = env.Do(t, http.MethodHead, "/user", env.AdminToken, nil, "If-None-Match", get.Header.Get("ETag"))
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("HEAD with matching If-None-Match: %d", resp.StatusCode)
	}
}

func TestNotModifiedShowsTheRefund(t *testing.T) {
	env := testenv.New(t)
	first, _ := env.Get(t, "/user", env.AdminToken)
	resp, _ := env.Get(t, "/user", env.AdminToken, "If-None-Match", first.Header.Get("ETag"))
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got, want := resp.Header.Get("X-RateLimit-Used"), first.Header.Get("X-RateLimit-Used"); got != want {
		t.Errorf("a refunded 304 reports used=%s; the request before it reported %s", got, want)
	}
	after, _ := env.Get(t, "/user", env.AdminToken)
	if after.Header.Get("X-RateLimit-Remaining") == "" || after.Header.Get("X-RateLimit-Used") == first.Header.Get("X-RateLimit-Used") {
		t.Errorf("the request after the 304 did not count: %v", after.Header)
	}
}

func TestMetricsBoundTheMethodLabel(t *testing.T) {
	env := testenv.New(t)
	for _, m := range []string{"BREW", "WHEN", "PROPFIND"} {
		env.Do(t, m, "/user", "", nil)
	}
	_, body := env.Get(t, "/metrics", "")
	if strings.Contains(body, "BREW") || !strings.Contains(body, `method="OTHER"`) {
		t.Errorf("unknown methods are not folded into OTHER:\n%s", body)
	}
}

// TestTokenCache runs with the production cache on: a revocation takes
// effect within the TTL. TestTokenCacheHits and
// TestTokenCacheForgetsUnknownTokens cover the rest of the cache, on a
// clock the test moves.
func TestTokenCache(t *testing.T) {
	const ttl = 300 * time.Millisecond
	env := testenv.New(t, func(c *serverConfig) { c.TokenCacheTTL = ttl })
	ctx := context.Background()
	tok := &usage.Token{Type: usage.ActorClassicPAT, UserID: env.Data.Users[0].ID, CreatedAt: time.Now()}
	s, err := demo.IssueToken(ctx, env.Store, tok)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := env.Get(t, "/user", s); resp.StatusCode != 200 {
		t.Fatalf("new token: %d", resp.StatusCode)
	}
	if err := env.Store.RevokeToken(ctx, tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(ttl + 2*time.Second)
	for {
		resp, _ := env.Get(t, "/user", s)
		if resp.StatusCode == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a revoked token still works %v after revocation (TTL %v)", ttl+2*time.Second, ttl)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// skewClock replaces the API server's clock by the real one plus an offset
// the test moves, so cache entries expire without sleeping. It must be
// called before the first request of the test.
func skewClock(env *testenv.Env) *atomic.Int64 {
	var skew atomic.Int64
	env.Server.API.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	return &skew
}

// TestTokenCacheHits sends every kind of credential twice with the cache
// on, so the second request takes the hit path (a cached actor, a cached
// "the store has no such token", or a malformed token, which is never
// cached), and checks both answers are the same.
func TestTokenCacheHits(t *testing.T) {
	const ttl = time.Hour // nothing expires unless the test moves the clock
	env := testenv.New(t, func(c *serverConfig) { c.TokenCacheTTL = ttl })
	skew := skewClock(env)
	ctx := context.Background()
	u := env.Data.Users[0]
	tok := &usage.Token{Type: usage.ActorClassicPAT, UserID: u.ID, CreatedAt: time.Now()}
	valid, err := demo.IssueToken(ctx, env.Store, tok)
	if err != nil {
		t.Fatal(err)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Login+":"+valid))
	for i := range 2 {
		resp, body := env.Get(t, "/user", valid)
		if resp.StatusCode != 200 || !strings.Contains(body, `"login":"`+u.Login+`"`) {
			t.Fatalf("valid token, request %d: %d %s", i+1, resp.StatusCode, body)
		}
		resp, body = env.Get(t, "/user", "", "Authorization", basic)
		if resp.StatusCode != 200 || !strings.Contains(body, `"login":"`+u.Login+`"`) {
			t.Fatalf("Basic with the token as password, request %d: %d %s", i+1, resp.StatusCode, body)
		}
	}

	unknown := usage.NewTokenString(usage.ActorClassicPAT)
	var unknownBodies [2]string
	for i := range unknownBodies {
		resp, body := env.Get(t, "/user", unknown)
		if resp.StatusCode != 401 || decodeErr(t, body).Message != "Bad credentials" {
			t.Fatalf("unknown token, request %d: %d %s", i+1, resp.StatusCode, body)
		}
		unknownBodies[i] = body
	}
	if unknownBodies[0] != unknownBodies[1] {
		t.Errorf("an unknown token answered differently from the cache:\n%s\n%s", unknownBodies[0], unknownBodies[1])
	}

	// Well-formed in all but the checksum, then not a token at all.
	last := byte('A')
	if valid[len(valid)-1] == last {
		last = 'B'
	}
	badSum := valid[:len(valid)-1] + string(last)
	for _, malformed := range []string{badSum, "ghp_notatokenatall"} {
		if _, ok := usage.ParseTokenType(malformed); ok {
			t.Fatalf("%q is well-formed", malformed)
		}
		for i := range 2 {
			resp, body := env.Get(t, "/user", malformed)
			if resp.StatusCode != 401 || decodeErr(t, body).Message != "Bad credentials" {
				t.Fatalf("malformed token %q, request %d: %d %s", malformed, i+1, resp.StatusCode, body)
			}
		}
	}

	// A cached actor is checked against the clock on every hit: a token
	// that expires while cached stops working at its expiry, not the TTL's.
	exp := &usage.Token{Type: usage.ActorClassicPAT, UserID: u.ID, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(10 * time.Minute)}
	expiring, err := demo.IssueToken(ctx, env.Store, exp)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := env.Get(t, "/user", expiring); resp.StatusCode != 200 {
		t.Fatalf("token expiring in 10 minutes: %d %s", resp.StatusCode, body)
	}
	skew.Store(int64(20 * time.Minute)) // past the expiry, well within the TTL
	if resp, body := env.Get(t, "/user", expiring); resp.StatusCode != 401 || decodeErr(t, body).Message != "Bad credentials" {
		t.Fatalf("a cached token past its expiry: %d %s", resp.StatusCode, body)
	}
	if resp, body := env.Get(t, "/user", valid); resp.StatusCode != 200 {
		t.Fatalf("valid token after the clock moved: %d %s", resp.StatusCode, body)
	}
}

// TestTokenCacheForgetsUnknownTokens pins what auth.go's tokenCache
// promises for tokens the store does not know: the answer is cached (a
// flood of unknown tokens does not reach the store) for at most the TTL,
// so a token created after its string was tried works once the TTL has
// passed.
func TestTokenCacheForgetsUnknownTokens(t *testing.T) {
	const ttl = time.Hour
	env := testenv.New(t, func(c *serverConfig) { c.TokenCacheTTL = ttl })
	skew := skewClock(env)
	ctx := context.Background()
	s := usage.NewTokenString(usage.ActorClassicPAT)
	if resp, body := env.Get(t, "/user", s); resp.StatusCode != 401 || decodeErr(t, body).Message != "Bad credentials" {
		t.Fatalf("token not created yet: %d %s", resp.StatusCode, body)
	}
	tok := &usage.Token{Type: usage.ActorClassicPAT, UserID: env.Data.Users[0].ID, CreatedAt: time.Now(), Hash: usage.HashToken(s), LastEight: s[len(s)-8:]}
	if err := env.Store.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// The clock has not moved: the cache still holds "unknown".
	if resp, body := env.Get(t, "/user", s); resp.StatusCode != 401 || decodeErr(t, body).Message != "Bad credentials" {
		t.Fatalf("within the TTL the cached answer is unknown; got %d %s", resp.StatusCode, body)
	}
	skew.Store(int64(ttl / 2))
	if resp, _ := env.Get(t, "/user", s); resp.StatusCode != 401 {
		t.Fatalf("half way through the TTL: %d", resp.StatusCode)
	}
	skew.Store(int64(ttl)) // the entry expires at exactly now+TTL
	for i := range 2 {
		if resp, body := env.Get(t, "/user", s); resp.StatusCode != 200 {
			t.Fatalf("request %d once the TTL has passed: %d %s", i+1, resp.StatusCode, body)
		}
	}
}

// TestRateLimitETagFollowsTheBody pins what the cheaper weak ETag must
// keep: the same body gives the same tag on GET and HEAD, with and without
// the /api/v3 prefix, and a 304 to a matching If-None-Match under both
// paths; a body changed by one counted request gives a new tag and a 200.
// Categories nobody used report a reset a second later when the clock
// ticks between two requests; resets only move forward, so when the first
// and the last body of a round are the same, every body in between was
// too, and a round whose ends differ is tried again.
func TestRateLimitETagFollowsTheBody(t *testing.T) {
	env := testenv.New(t)
	tok := env.AdminToken
	var etag, body1 string
	for attempt := 0; ; attempt++ {
		first, b1 := env.Get(t, "/rate_limit", tok)
		etag, body1 = first.Header.Get("ETag"), b1
		if first.StatusCode != http.StatusOK || !strings.HasPrefix(etag, `W/"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 8 {
			t.Fatalf("GET /rate_limit: %d, ETag %q", first.StatusCode, etag)
		}
		head, hb := env.Do(t, http.MethodHead, "/rate_limit", tok, nil)
		prefixed, b2 := env.Get(t, "/api/v3/rate_limit", tok)
		prefixedHead, _ := env.Do(t, http.MethodHead, "/api/v3/rate_limit", tok, nil)
		notMod, b3 := env.Get(t, "/rate_limit", tok, "If-None-Match", etag)
		prefixedNotMod, b4 := env.Get(t, "/api/v3/rate_limit", tok, "If-None-Match", etag)
		last, b5 := env.Get(t, "/rate_limit", tok)
		if b5 != b1 {
			if attempt == 5 {
				t.Fatal("the /rate_limit body kept changing")
			}
			continue // a second went by
		}
		if last.Header.Get("ETag") != etag || b2 != b1 || prefixed.Header.Get("ETag") != etag {
			t.Fatalf("same body, different ETag: %q, /api/v3 %q, again %q", etag, prefixed.Header.Get("ETag"), last.Header.Get("ETag"))
		}
		if head.StatusCode != http.StatusOK || hb != "" || head.Header.Get("ETag") != etag {
			t.Fatalf("HEAD /rate_limit: %d %q, ETag %q; GET's is %q", head.StatusCode, hb, head.Header.Get("ETag"), etag)
		}
		if prefixedHead.StatusCode != http.StatusOK || prefixedHead.Header.Get("ETag") != etag {
			t.Fatalf("HEAD /api/v3/rate_limit: %d, ETag %q; GET's is %q", prefixedHead.StatusCode, prefixedHead.Header.Get("ETag"), etag)
		}
		if notMod.StatusCode != http.StatusNotModified || b3 != "" {
			t.Fatalf("unchanged body with If-None-Match: %d %q", notMod.StatusCode, b3)
		}
		if prefixedNotMod.StatusCode != http.StatusNotModified || b4 != "" {
			t.Fatalf("unchanged body with If-None-Match under /api/v3: %d %q", prefixedNotMod.StatusCode, b4)
		}
		break
	}
	// One counted request: used goes up by one, a one-digit change in the body.
	if resp, _ := env.Get(t, "/user", tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /user: %d", resp.StatusCode)
	}
	for _, path := range []string{"/rate_limit", "/api/v3/rate_limit"} {
		resp, body2 := env.Get(t, path, tok, "If-None-Match", etag)
		if body2 == body1 {
			t.Fatalf("the counted request did not change %s: %s", path, body2)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag || resp.Header.Get("ETag") == "" {
			t.Fatalf("%s, changed body: %d, ETag %q (was %q)", path, resp.StatusCode, resp.Header.Get("ETag"), etag)
		}
	}
}
