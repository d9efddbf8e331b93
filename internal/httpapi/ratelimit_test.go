package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v92/github"
	goredis "github.com/redis/go-redis/v9"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// rateEnv starts a server whose rate limits are adjusted by edit.
func rateEnv(t *testing.T, edit func(*server.Config)) *testenv.Env {
	t.Helper()
	return testenv.New(t, func(c *server.Config) {
		if edit != nil {
			edit(c)
		}
	})
}

// issue creates a token of typ for user (or for installation inst).
func issue(t *testing.T, e *testenv.Env, typ usage.ActorType, userID int64, inst *usage.Installation) string {
	t.Helper()
	tk := &usage.Token{Type: typ, UserID: userID, CreatedAt: time.Now(), Note: "rate limit test", Scopes: []string{"repo"}}
	switch typ {
	case usage.ActorInstallation:
		tk.UserID, tk.AppID, tk.InstallationID, tk.Permissions = 0, inst.AppID, inst.ID, inst.Permissions
	case usage.ActorUserToServer:
		tk.AppID, tk.Permissions = e.Data.Apps[0].ID, map[string]string{"metadata": "read"}
	case usage.ActorFineGrainedPAT:
		tk.ResourceOwner, tk.Permissions = demo.OrgLogins[0], map[string]string{"metadata": "read"}
	case usage.ActorOAuthApp:
		tk.OAuthAppID = e.Data.OAuthApps[0].ID
	}
	s, err := demo.IssueToken(context.Background(), e.Store, tk)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ghClient(t *testing.T, e *testenv.Env, token string) *github.Client {
	t.Helper()
	base := e.URL + "/"
	opts := []github.ClientOptionsFunc{github.WithURLs(&base, &base)}
	if token != "" {
		opts = append(opts, github.WithAuthToken(token))
	}
	c, err := github.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type rateHeaders struct {
	limit, remaining, used, reset int64
	resource                      string
}

func headersOf(t *testing.T, resp *http.Response) rateHeaders {
	t.Helper()
	n := func(k string) int64 {
		v := resp.Header.Get(k)
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("%s %s: header %s = %q", resp.Request.Method, resp.Request.URL.Path, k, v)
		}
		return i
	}
	return rateHeaders{n("X-RateLimit-Limit"), n("X-RateLimit-Remaining"), n("X-RateLimit-Used"), n("X-RateLimit-Reset"),
		resp.Header.Get("X-RateLimit-Resource")}
}

type overview struct {
	Resources map[string]ratelimit.Counter `json:"resources"`
	Rate      ratelimit.Counter            `json:"rate"`
}

func rateLimitOf(t *testing.T, e *testenv.Env, token string) overview {
	t.Helper()
	resp, body := e.Get(t, "/rate_limit", token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /rate_limit: %d %s", resp.StatusCode, body)
	}
	var o overview
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestGoGitHubRateLimits(t *testing.T) {
	e := rateEnv(t, func(c *server.Config) { c.RateLimit.Categories[ratelimit.Core].Authenticated = 3 })
	ctx := context.Background()
	user := e.Data.Users[3]
	tok := issue(t, e, usage.ActorClassicPAT, user.ID, nil)
	gh := ghClient(t, e, tok)

	before := time.Now().Unix()
	rl, _, err := gh.RateLimit.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rl.Core.Limit != 3 || rl.Core.Remaining != 3 || rl.Core.Used != 0 || rl.Search.Limit != 30 || rl.CodeSearch.Limit != 10 ||
		rl.GraphQL.Limit != 5000 || rl.SCIM.Limit != 15000 || rl.AuditLog.Limit != 1750 {
		t.Fatalf("RateLimit.Get before any request: core %+v search %+v graphql %+v", rl.Core, rl.Search, rl.GraphQL)
	}
	if r := rl.Core.Reset.Unix(); r < before+3600 || r > time.Now().Unix()+3601 {
		t.Fatalf("idle core reset = %d, want about now+1h", r)
	}

	var reset int64
	for i := 1; i <= 3; i++ {
		_, resp, err := gh.Users.Get(ctx, "")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		h := headersOf(t, resp.Response)
		if h.used != int64(i) || h.remaining != int64(3-i) || h.limit != 3 || h.resource != "core" {
			t.Fatalf("request %d headers: %+v", i, h)
		}
		if i == 1 {
			reset = h.reset
		} else if h.reset != reset {
			t.Fatalf("request %d: reset moved from %d to %d while the window is open", i, reset, h.reset)
		}
	}
	rl, _, err = gh.RateLimit.Get(ctx)
	if err != nil {
		t.Fatalf("RateLimit.Get when exhausted: %v", err)
	}
	if rl.Core.Remaining != 0 || rl.Core.Used != 3 || rl.Core.Reset.Unix() != reset {
		t.Fatalf("RateLimit.Get when exhausted: core %+v, want used 3, remaining 0, reset %d", rl.Core, reset)
	}

	// A fresh client has no local book-keeping: the server refuses.
	for i, wantMsg := range []string{
		fmt.Sprintf("API rate limit exceeded for user ID %d.", user.ID),
		fmt.Sprintf("API rate limit already exceeded for user ID %d.", user.ID),
	} {
		_, resp, err := ghClient(t, e, tok).Users.Get(ctx, "")
		var rle *github.RateLimitError
		if !errors.As(err, &rle) {
			t.Fatalf("rejection %d: err = %T %v, want *github.RateLimitError", i, err, err)
		}
		if rle.Rate.Reset.Unix() != reset || rle.Rate.Remaining != 0 || rle.Rate.Limit != 3 {
			t.Fatalf("rejection %d: rate %+v, want reset %d, remaining 0", i, rle.Rate, reset)
		}
		if rle.Message != wantMsg || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("rejection %d: %d %q, want 403 %q", i, resp.StatusCode, rle.Message, wantMsg)
		}
		if h := headersOf(t, resp.Response); h.used != 3 {
			t.Fatalf("rejection %d pushed used to %d", i, h.used)
		}
	}
	// The same client refuses locally, with the same reset.
	_, _, err = gh.Users.Get(ctx, "")
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || rle.Rate.Reset.Unix() != reset {
		t.Fatalf("same client after exhaustion: %v", err)
	}
	if o := rateLimitOf(t, e, tok); o.Resources["core"].Used != 3 || o.Rate != o.Resources["core"] {
		t.Fatalf("/rate_limit after rejections: core %+v rate %+v", o.Resources["core"], o.Rate)
	}
}

func TestGoGitHubSecondaryLimit(t *testing.T) {
	e := rateEnv(t, func(c *server.Config) { c.RateLimit.Secondary.EndpointPoints = 2 })
	ctx := context.Background()
	tok := issue(t, e, usage.ActorClassicPAT, e.Data.Users[4].ID, nil)
	gh := ghClient(t, e, tok)
	for range 2 {
		if _, _, err := gh.Users.Get(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	_, resp, err := gh.Users.Get(ctx, "")
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) {
		t.Fatalf("third GET /user with 2 points a minute: %T %v, want *github.AbuseRateLimitError", err, err)
	}
	if abuse.RetryAfter == nil || *abuse.RetryAfter < time.Second || *abuse.RetryAfter > 61*time.Second {
		t.Fatalf("retry after = %v, want the rest of the minute", abuse.RetryAfter)
	}
	if !strings.Contains(abuse.Message, "secondary rate limit") || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("%d %q", resp.StatusCode, abuse.Message)
	}
	if h := headersOf(t, resp.Response); h.remaining != 4998 || h.used != 2 {
		t.Fatalf("secondary rejection headers %+v, want the primary window (used 2)", h)
	}
	// /rate_limit still answers (it costs secondary points on another endpoint).
	if o := rateLimitOf(t, e, tok); o.Resources["core"].Used != 2 {
		t.Fatalf("/rate_limit after a secondary rejection: core %+v", o.Resources["core"])
	}
}

func TestTokensOfOneUserShareAPool(t *testing.T) {
	e := rateEnv(t, nil)
	u := e.Data.Users[6]
	toks := []string{
		issue(t, e, usage.ActorClassicPAT, u.ID, nil),
		issue(t, e, usage.ActorFineGrainedPAT, u.ID, nil),
		issue(t, e, usage.ActorOAuthApp, u.ID, nil),
		issue(t, e, usage.ActorUserToServer, u.ID, nil),
	}
	for i := range 8 {
		resp, body := e.Get(t, "/user", toks[i%len(toks)])
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /user: %d %s", resp.StatusCode, body)
		}
		if h := headersOf(t, resp); h.used != int64(i+1) {
			t.Fatalf("request %d with token %d: used %d, want %d (one pool per user)", i+1, i%len(toks), h.used, i+1)
		}
	}
	other := issue(t, e, usage.ActorClassicPAT, e.Data.Users[7].ID, nil)
	if resp, _ := e.Get(t, "/user", other); headersOf(t, resp).used != 1 {
		t.Fatalf("another user shares the pool")
	}
}

func TestInstallationsHaveTheirOwnPools(t *testing.T) {
	e := rateEnv(t, nil)
	a, b := e.Data.Installations[0], e.Data.Installations[1]
	ta, tb := issue(t, e, usage.ActorInstallation, 0, a), issue(t, e, usage.ActorInstallation, 0, b)
	ta2 := issue(t, e, usage.ActorInstallation, 0, a)
	for i, tok := range []string{ta, ta2, ta} {
		resp, _ := e.Get(t, "/rate_limit/x", tok) // an unknown route still counts
		if h := headersOf(t, resp); h.used != int64(i+1) {
			t.Fatalf("installation %d request %d: used %d", a.ID, i+1, h.used)
		}
	}
	resp, _ := e.Get(t, "/orgs/acme-web/nothing-here", tb)
	h := headersOf(t, resp)
	if h.used != 1 {
		t.Fatalf("installation %d: used %d, want its own pool", b.ID, h.used)
	}
	want := ratelimit.DefaultConfig().Installation.Limit(int64(b.Repositories), orgMembers(t, e, b.AccountLogin))
	if h.limit != want {
		t.Fatalf("installation on %d repositories: limit %d, want %d", b.Repositories, h.limit, want)
	}
}

// GitHub scales an installation's limit by repositories and by members of
// the organization above 20 each; members are counted when the token is
// resolved. The two rates differ here, so a swapped term shows.
func TestInstallationLimitCountsOrganizationMembers(t *testing.T) {
	formula := ratelimit.DefaultConfig().Installation
	formula.PerRepository, formula.PerUser = 70, 30
	e := rateEnv(t, func(c *server.Config) { c.RateLimit.Installation = formula })
	ctx := t.Context()
	org := &usage.Organization{Login: "big-org"}
	if err := e.Store.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	const members, repos = 45, 30
	for i := range members {
		u := &usage.User{Login: fmt.Sprintf("big-member-%d", i)}
		if err := e.Store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := e.Store.SetOrgRole(ctx, org.ID, u.ID, usage.RoleMember); err != nil {
			t.Fatal(err)
		}
	}
	inst := &usage.Installation{AppID: e.Data.Apps[0].ID, AccountLogin: "Big-Org", AccountType: "Organization",
		Permissions: map[string]string{"metadata": "read"}, Repositories: repos}
	if err := e.Store.CreateInstallation(ctx, inst); err != nil {
		t.Fatal(err)
	}
	resp, _ := e.Get(t, "/rate_limit", issue(t, e, usage.ActorInstallation, 0, inst))
	want := int64(5000 + 70*(repos-20) + 30*(members-20))
	if want == formula.Limit(repos, 0) || want == formula.Max || want != formula.Limit(repos, members) {
		t.Fatalf("the formula's member term does not show at %d members (limit %d)", members, want)
	}
	if got := headersOf(t, resp).limit; got != want {
		t.Fatalf("installation on %d repositories of an organization with %d members: limit %d, want %d", repos, members, got, want)
	}
}

// orgMembers counts the members of an organization from every user's roles.
func orgMembers(t *testing.T, e *testenv.Env, login string) int64 {
	t.Helper()
	users, err := e.Store.ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, u := range users {
		orgs, _, err := e.Store.Roles(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := orgs[strings.ToLower(login)]; ok {
			n++
		}
	}
	return n
}

func TestInstallationRejectionMessage(t *testing.T) {
	e := rateEnv(t, func(c *server.Config) { c.RateLimit.Installation.Base, c.RateLimit.Installation.Max = 1, 1 })
	inst := e.Data.Installations[2]
	tok := issue(t, e, usage.ActorInstallation, 0, inst)
	e.Get(t, "/nothing", tok)
	resp, body := e.Get(t, "/nothing", tok)
	want := fmt.Sprintf("API rate limit exceeded for installation ID %d. If you reach out to GitHub Support for help, please include the request ID %s.",
		inst.ID, resp.Header.Get("X-GitHub-Request-Id"))
	if resp.StatusCode != http.StatusForbidden || decodeErr(t, body).Message != want {
		t.Fatalf("%d %s, want 403 %q", resp.StatusCode, body, want)
	}
}

func TestResetMatchesRateLimitAndStays(t *testing.T) {
	e := rateEnv(t, nil)
	tok := issue(t, e, usage.ActorClassicPAT, e.Data.Users[8].ID, nil)
	resp, _ := e.Get(t, "/user", tok)
	first := headersOf(t, resp)
	o := rateLimitOf(t, e, tok)
	if o.Resources["core"].Reset != first.reset || o.Resources["core"].Used != 1 {
		t.Fatalf("/rate_limit core %+v, header reset %d", o.Resources["core"], first.reset)
	}
	time.Sleep(1100 * time.Millisecond) // let a second pass: the window must not follow the clock
	resp, _ = e.Get(t, "/user", tok)
	if h := headersOf(t, resp); h.reset != first.reset || h.used != 2 {
		t.Fatalf("second request: %+v, want reset %d", h, first.reset)
	}
	if o2 := rateLimitOf(t, e, tok); o2.Resources["core"].Reset != first.reset {
		t.Fatalf("/rate_limit reset moved: %d → %d", first.reset, o2.Resources["core"].Reset)
	}
	// Idle categories report a window that would start now.
	if s := o.Resources["search"]; s.Used != 0 || s.Limit != 30 || s.Reset < time.Now().Unix()+58 || s.Reset > time.Now().Unix()+61 {
		t.Fatalf("idle search: %+v", s)
	}
}

func TestRateLimitEndpoint(t *testing.T) {
	e := rateEnv(t, nil)
	tok := issue(t, e, usage.ActorClassicPAT, e.Data.Users[9].ID, nil)
	for range 3 {
		resp, _ := e.Get(t, "/api/v3/rate_limit", tok)
		if h := headersOf(t, resp); h.used != 0 || h.resource != "core" {
			t.Fatalf("GET /rate_limit counted: %+v", h)
		}
	}
	o := rateLimitOf(t, e, tok)
	for i := range ratelimit.NumResources {
		name := ratelimit.Resource(i).String()
		c, ok := o.Resources[name]
		if !ok || c.Limit == 0 || c.Remaining != c.Limit || c.Reset == 0 {
			t.Errorf("resources.%s = %+v (present %v)", name, c, ok)
		}
	}
	if len(o.Resources) != ratelimit.NumResources || o.Rate != o.Resources["core"] {
		t.Errorf("resources has %d categories; rate %+v, core %+v", len(o.Resources), o.Rate, o.Resources["core"])
	}
	// The body (written by hand) is valid JSON of the contract's schema.
	resp, body := e.Get(t, "/rate_limit", tok)
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("GET /rate_limit body %q: %v", body, err)
	}
	if err := responseSchema(t, loadContract(t), "rate-limit/get").VisitJSON(v); err != nil {
		t.Fatalf("GET /rate_limit does not match the contract: %v\n%s", err, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestNotModifiedIsRefunded(t *testing.T) {
	e := rateEnv(t, nil)
	tok := issue(t, e, usage.ActorClassicPAT, e.Data.Users[10].ID, nil)
	resp, _ := e.Get(t, "/user", tok)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("GET /user has no ETag")
	}
	for range 3 {
		resp, _ = e.Get(t, "/user", tok, "If-None-Match", etag)
		if resp.StatusCode != http.StatusNotModified {
			t.Fatalf("conditional GET: %d", resp.StatusCode)
		}
	}
	if got := rateLimitOf(t, e, tok).Resources["core"].Used; got != 1 {
		t.Fatalf("used = %d after one 200 and three 304s, want 1", got)
	}
}

func TestUnauthenticatedRequestsCountPerIP(t *testing.T) {
	e := rateEnv(t, func(c *server.Config) { c.RateLimit.Categories[ratelimit.Core].Unauthenticated = 3 })
	resp, body := e.Get(t, "/user", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /user without a token: %d %s", resp.StatusCode, body)
	}
	if h := headersOf(t, resp); h.used != 1 || h.limit != 3 {
		t.Fatalf("401 headers %+v, want used 1 of 3", h)
	}
	bad := usage.NewTokenString(usage.ActorClassicPAT) // well formed, unknown
	if resp, _ := e.Get(t, "/user", bad); resp.StatusCode != http.StatusUnauthorized || headersOf(t, resp).used != 2 {
		t.Fatalf("bad credentials: %d %+v", resp.StatusCode, headersOf(t, resp))
	}
	e.Get(t, "/nowhere", "")
	resp, body = e.Get(t, "/user", "")
	want := "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)"
	if resp.StatusCode != http.StatusForbidden || decodeErr(t, body).Message != want || headersOf(t, resp).remaining != 0 {
		t.Fatalf("fourth unauthenticated request: %d %s", resp.StatusCode, body)
	}
	o := rateLimitOf(t, e, "")
	if c := o.Resources["core"]; c.Used != 3 || c.Limit != 3 || c.Remaining != 0 {
		t.Fatalf("unauthenticated /rate_limit core %+v", c)
	}
	// Authenticated callers are not affected.
	tok := issue(t, e, usage.ActorClassicPAT, e.Data.Users[11].ID, nil)
	if resp, _ := e.Get(t, "/user", tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("authenticated after the IP is exhausted: %d", resp.StatusCode)
	}
}

func TestRateLimitingDisabled(t *testing.T) {
	e := rateEnv(t, func(c *server.Config) { c.RateLimit.Disabled = true })
	tok := issue(t, e, usage.ActorClassicPAT, e.Data.Users[12].ID, nil)
	resp, body := e.Get(t, "/rate_limit", tok)
	if resp.StatusCode != http.StatusNotFound || decodeErr(t, body).Message != "Rate limiting is not enabled." {
		t.Fatalf("GET /rate_limit in GHES mode: %d %s", resp.StatusCode, body)
	}
	for _, r := range []*http.Response{resp, func() *http.Response { r, _ := e.Get(t, "/user", tok); return r }()} {
		for k := range r.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-ratelimit-") {
				t.Errorf("%s sent header %s in GHES mode", r.Request.URL.Path, k)
			}
		}
	}
	_, _, err := ghClient(t, e, tok).RateLimit.Get(context.Background())
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusNotFound {
		t.Fatalf("go-github RateLimit.Get in GHES mode: %v", err)
	}
}

// TestRedisBackedServer runs the pool rules through a server whose
// counters are in the real Redis.
func TestRedisBackedServer(t *testing.T) {
	redisURL := os.Getenv("GHUSAGE_TEST_REDIS_URL")
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:6379/15"
	}
	opt, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		if os.Getenv("GHUSAGE_TEST_REDIS_URL") != "" {
			t.Fatalf("GHUSAGE_TEST_REDIS_URL is set but Redis does not answer at %s: %v", redisURL, err)
		}
		t.Skipf("Redis tier skipped: no Redis at %s (%v)", redisURL, err)
	}
	prefix := fmt.Sprintf("ghusage-test:%d:", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		for it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator(); it.Next(ctx); {
			c.Del(ctx, it.Val())
		}
	})
	e := rateEnv(t, func(cfg *server.Config) {
		cfg.RedisURL, cfg.RateLimitBackend, cfg.RedisKeyPrefix = redisURL, "redis", prefix
		cfg.RateLimit.Categories[ratelimit.Core].Authenticated = 2
	})
	u := e.Data.Users[13]
	t1, t2 := issue(t, e, usage.ActorClassicPAT, u.ID, nil), issue(t, e, usage.ActorUserToServer, u.ID, nil)
	e.Get(t, "/user", t1)
	resp, _ := e.Get(t, "/user", t2)
	if h := headersOf(t, resp); h.used != 2 || h.remaining != 0 {
		t.Fatalf("second token of the user: %+v", h)
	}
	_, _, err = ghClient(t, e, t1).Users.Get(context.Background(), "")
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || rle.Rate.Reset.Unix() != headersOf(t, resp).reset {
		t.Fatalf("third request: %v", err)
	}
	if o := rateLimitOf(t, e, t2); o.Resources["core"].Used != 2 {
		t.Fatalf("/rate_limit from Redis: %+v", o.Resources["core"])
	}
	n, err := c.Exists(context.Background(), prefix+"{user:"+strconv.FormatInt(u.ID, 10)+"}:core").Result()
	if err != nil || n != 1 {
		t.Fatalf("the user's core window is not in Redis: %d %v", n, err)
	}
}

// TestRejectedRequestsShowInInsights checks that every request refused by
// the rate limiter is in API insights as rate limited, for its actor.
func TestRejectedRequestsShowInInsights(t *testing.T) {
	e := rateEnv(t, func(c *server.Config) { c.RateLimit.Installation.Base, c.RateLimit.Installation.Max = 2, 2 })
	rec := e.Server.API.Meter
	t.Cleanup(rec.Close)

	inst := e.Data.Installations[0]
	org := strings.ToLower(inst.AccountLogin)
	tok := issue(t, e, usage.ActorInstallation, 0, inst)
	minTS := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	stats := func() insights.SummaryStats {
		t.Helper()
		resp, body := e.Get(t, fmt.Sprintf("/orgs/%s/insights/api/summary-stats/installation/%d?min_timestamp=%s", org, inst.ID, minTS), e.AdminToken)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("summary-stats: %d %s", resp.StatusCode, body)
		}
		var s insights.SummaryStats
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := stats()
	const allowed, rejected = 2, 3
	path := "/orgs/" + org + "/insights/api/summary-stats?min_timestamp=" + minTS
	for i := range allowed + rejected {
		resp, body := e.Get(t, path, tok)
		limited := resp.StatusCode == http.StatusForbidden && resp.Header.Get("X-RateLimit-Remaining") == "0"
		if limited != (i >= allowed) {
			t.Fatalf("request %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	// Write the metered events now (the recorder would within 250 ms).
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := stats()
	if s.RateLimitedRequestCount != before.RateLimitedRequestCount+rejected ||
		s.TotalRequestCount != before.TotalRequestCount+allowed+rejected {
		t.Fatalf("insights of installation %d: before %+v, now %+v; want %d more requests, %d more rate limited",
			inst.ID, before, s, allowed+rejected, rejected)
	}
}

// TestForwardedForOnlyFromTrustedProxies checks that X-Forwarded-For picks
// the IP pool only when the peer is a trusted proxy.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	for _, proxies := range []string{"", "10.0.0.0/8", "127.0.0.0/8"} {
		trusted := proxies == "127.0.0.0/8" // the test's peer is 127.0.0.1
		e := rateEnv(t, func(c *server.Config) {
			c.RateLimit.Categories[ratelimit.Core].Unauthenticated = 1
			if proxies != "" {
				c.RateLimit.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(proxies)}
			}
		})
		e.Get(t, "/user", "", "X-Forwarded-For", "198.51.100.1, 203.0.113.5")
		resp, body := e.Get(t, "/user", "", "X-Forwarded-For", "198.51.100.1, 203.0.113.5")
		want := "API rate limit exceeded for 127.0.0.1."
		if trusted {
			want = "API rate limit exceeded for 203.0.113.5."
		}
		if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(decodeErr(t, body).Message, want) {
			t.Fatalf("trusted proxies %q: %d %s, want a message starting %q", proxies, resp.StatusCode, body, want)
		}
		resp, _ = e.Get(t, "/user", "", "X-Forwarded-For", "203.0.113.6")
		if got := resp.StatusCode; trusted && got != http.StatusUnauthorized || !trusted && got != http.StatusForbidden {
			t.Fatalf("trusted proxies %q: another forwarded address got %d", proxies, got)
		}
	}
}

// TestRedisUnreachable checks both outage policies end to end: fail-closed
// answers 503, fail-open answers without rate-limit headers; /metrics
// counts both.
func TestRedisUnreachable(t *testing.T) {
	for _, open := range []bool{false, true} {
		e := rateEnv(t, func(c *server.Config) {
			c.RedisURL, c.RateLimitBackend = "redis://127.0.0.1:1/0", "redis" // nothing listens there
			c.RateLimit.FailOpen = open
		})
		tok := issue(t, e, usage.ActorClassicPAT, e.Data.Users[14].ID, nil)
		resp, body := e.Get(t, "/user", tok)
		if open {
			if resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Limit") != "" {
				t.Fatalf("fail-open: %d %s, headers %v", resp.StatusCode, body, resp.Header)
			}
		} else if resp.StatusCode != http.StatusServiceUnavailable ||
			decodeErr(t, body).Message != "Rate limiting is temporarily unavailable. Please try again later." {
			t.Fatalf("fail-closed: %d %s", resp.StatusCode, body)
		}
		if !open {
			// The 503 is metered, but not as rate limited.
			inst := e.Data.Installations[0]
			itok := issue(t, e, usage.ActorInstallation, 0, inst)
			if resp, _ := e.Get(t, "/orgs/"+inst.AccountLogin+"/insights/api/summary-stats", itok); resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("installation request during the outage: %d", resp.StatusCode)
			}
			if err := e.Server.API.Meter.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			now := time.Now().Unix()
			sum, err := e.Server.API.Insights.Summary(context.Background(),
				insights.Scope{Org: strings.ToLower(inst.AccountLogin), Actor: insights.ActorRef{Type: usage.ActorInstallation, ID: inst.ID}},
				&insights.Params{Start: now - 3600, End: now + 60})
			if err != nil {
				t.Fatal(err)
			}
			if sum.TotalRequestCount != 1 || sum.RateLimitedRequestCount != 0 {
				t.Fatalf("insights of the 503: %+v, want 1 request, none rate limited", sum)
			}
		}
		_, metrics := e.Get(t, "/metrics", "")
		outcome := map[bool]string{false: "refused", true: "admitted"}[open]
		for _, want := range []string{
			`ghusage_ratelimit_store_failures_total{outcome="` + outcome + `"} `,
			`ghusage_ratelimit_store_errors_total{backend="redis"} `,
		} {
			if !strings.Contains(metrics, want) {
				t.Errorf("open=%v: /metrics lacks %s", open, want)
			}
		}
	}
}
