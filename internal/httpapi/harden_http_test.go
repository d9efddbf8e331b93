package httpapi_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// The tests in this file guard the rules of the HTTP layer, the rate
// limiter and access that no other test did (doc/architecture.md, "How a
// family proves its rules"): each was broken once by hand and failed.

// If-None-Match: * names no representation the client holds, so the 304
// it may get is not a revalidation and is not refunded.
func TestIfNoneMatchStarIsNotRefunded(t *testing.T) {
	e := rateEnv(t, nil)
	tok := issue(t, e, usage.ActorClassicPAT, e.Data.Users[15].ID, nil)
	e.Get(t, "/user", tok)
	for i := 2; i <= 4; i++ {
		resp, _ := e.Get(t, "/user", tok, "If-None-Match", "*")
		if h := headersOf(t, resp); h.used != int64(i) {
			t.Fatalf("request %d with If-None-Match: * answered %d with used %d, want %d (counted)", i, resp.StatusCode, h.used, i)
		}
	}
	if got := rateLimitOf(t, e, tok).Resources["core"].Used; got != 4 {
		t.Fatalf("core used %d after four requests, three of them If-None-Match: *, want 4", got)
	}
}

// If-None-Match may list several tags; any one of them matching is a
// revalidation (and refunded).
func TestIfNoneMatchListOfTags(t *testing.T) {
	e := rateEnv(t, nil)
	tok := issue(t, e, usage.ActorClassicPAT, e.Data.Users[16].ID, nil)
	first, _ := e.Get(t, "/user", tok)
	etag := first.Header.Get("ETag")
	strong := strings.TrimPrefix(etag, "W/")
	for _, list := range []string{
		`"0000000000000000", ` + etag,
		`W/"1111111111111111",` + strong + `, "2222222222222222"`,
	} {
		resp, body := e.Get(t, "/user", tok, "If-None-Match", list)
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Fatalf("If-None-Match: %s (holding %s): %d %q, want 304", list, etag, resp.StatusCode, body)
		}
	}
	resp, _ := e.Get(t, "/user", tok, "If-None-Match", `"0000000000000000", W/"1111111111111111"`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a list without the current tag: %d, want 200", resp.StatusCode)
	}
	if got := rateLimitOf(t, e, tok).Resources["core"].Used; got != 2 {
		t.Fatalf("core used %d after two 200s and two 304s, want 2", got)
	}
}

// GET /rate_limit never counts, so its 304 has nothing to refund: it must
// not give back a unit another request spent.
func TestNotModifiedOfUncountedRequestRefundsNothing(t *testing.T) {
	e := rateEnv(t, nil)
	tok := issue(t, e, usage.ActorClassicPAT, e.Data.Users[17].ID, nil)
	e.Get(t, "/user", tok)
	// Idle categories report a reset a second later every second, so the
	// body (and ETag) may change between two requests: try a few times.
	var resp *http.Response
	for range 5 {
		first, _ := e.Get(t, "/rate_limit", tok)
		resp, _ = e.Get(t, "/rate_limit", tok, "If-None-Match", first.Header.Get("ETag"))
		if resp.StatusCode == http.StatusNotModified {
			break
		}
	}
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("GET /rate_limit with its own ETag: %d, want 304", resp.StatusCode)
	}
	if h := headersOf(t, resp); h.used != 1 || h.remaining != 4999 {
		t.Fatalf("the 304 of GET /rate_limit shows %+v, want used 1 (nothing refunded)", h)
	}
	if got := rateLimitOf(t, e, tok).Resources["core"].Used; got != 1 {
		t.Fatalf("core used %d after a 304 of GET /rate_limit, want 1", got)
	}
}

// A category other than core has its own counter and its own window, and
// the headers and GET /rate_limit report that window's reset.
func TestNonCoreCategoryResetAndCounter(t *testing.T) {
	e := rateEnv(t, nil)
	tok := issue(t, e, usage.ActorClassicPAT, e.Data.Users[18].ID, nil)
	for _, c := range []struct {
		method, path, resource string
		limit                  int64
		window                 time.Duration
	}{
		{http.MethodGet, "/search/issues?q=x", "search", 30, time.Minute},
		{http.MethodGet, "/search/code?q=x", "code_search", 10, time.Minute},
		{http.MethodPost, "/graphql", "graphql", 5000, time.Hour},
	} {
		before := time.Now()
		resp, _ := e.Do(t, c.method, c.path, tok, strings.NewReader(`{}`))
		after := time.Now()
		h := headersOf(t, resp)
		lo, hi := ratelimit.NewWindowReset(before, c.window), ratelimit.NewWindowReset(after, c.window)
		if h.resource != c.resource || h.limit != c.limit || h.used != 1 || h.reset < lo || h.reset > hi {
			t.Fatalf("%s %s: headers %+v, want %s used 1 of %d, reset in [%d, %d]", c.method, c.path, h, c.resource, c.limit, lo, hi)
		}
		resp, _ = e.Do(t, c.method, c.path, tok, strings.NewReader(`{}`))
		if h2 := headersOf(t, resp); h2.used != 2 || h2.reset != h.reset {
			t.Fatalf("%s %s again: %+v, want used 2, reset %d", c.method, c.path, h2, h.reset)
		}
		got := rateLimitOf(t, e, tok).Resources[c.resource]
		if got.Used != 2 || got.Reset != h.reset || got.Limit != c.limit {
			t.Fatalf("/rate_limit %s = %+v, want used 2 of %d, reset %d", c.resource, got, c.limit, h.reset)
		}
	}
	if core := rateLimitOf(t, e, tok).Resources["core"]; core.Used != 0 {
		t.Fatalf("core used %d: search, code search and graphql requests were charged to core", core.Used)
	}
}

// GraphQL has its own points window: REST points do not use it up, and
// GraphQL points do not use up any REST endpoint's, unknown routes included.
func TestGraphQLPointsAreSeparateFromREST(t *testing.T) {
	e := rateEnv(t, func(c *server.Config) {
		c.RateLimit.Secondary.EndpointPoints = 2
		c.RateLimit.Secondary.GraphQLPoints = 10
	})
	tok := issue(t, e, usage.ActorClassicPAT, e.Data.Users[19].ID, nil)
	secondary := func(resp *http.Response) bool {
		return resp.StatusCode == http.StatusForbidden && resp.Header.Get("Retry-After") != ""
	}
	for i := range 3 {
		resp, _ := e.Get(t, "/no/such/route", tok)
		if secondary(resp) != (i == 2) {
			t.Fatalf("REST request %d to an unknown route: %d, want the third refused (2 points a minute)", i+1, resp.StatusCode)
		}
	}
	for i := range 3 {
		resp, _ := e.Do(t, http.MethodPost, "/graphql", tok, strings.NewReader(`{"query":"{viewer{login}}"}`))
		if secondary(resp) != (i == 2) {
			t.Fatalf("GraphQL request %d (5 points of 10) after REST used its points: %d, want the third refused", i+1, resp.StatusCode)
		}
	}
	if resp, _ := e.Get(t, "/user", tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /user after GraphQL used its points: %d, want 200 (its own endpoint window)", resp.StatusCode)
	}
}

// A user-to-server token acts for its user: a user who is not a member of
// the organization does not see it (404), whatever the token's permissions.
func TestUserToServerNonMemberGetsNotFound(t *testing.T) {
	e := testenv.New(t)
	ctx := t.Context()
	u := &usage.User{Login: "outsider-u2s"}
	if err := e.Store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tk := &usage.Token{Type: usage.ActorUserToServer, UserID: u.ID, AppID: e.Data.Apps[0].ID, CreatedAt: time.Now(),
		Permissions: map[string]string{"organization_api_insights": "read"}}
	tok := issueToken(t, e, tk)
	path := "/orgs/acme-web/insights/api/summary-stats?min_timestamp=" + url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	resp, body := e.Get(t, path, tok)
	if resp.StatusCode != http.StatusNotFound || decodeErr(t, body).Message != "Not Found" {
		t.Fatalf("user-to-server token of a non-member: %d %s, want 404 Not Found", resp.StatusCode, body)
	}
	// The same token of a member is allowed.
	org, err := e.Store.OrganizationByLogin(ctx, "acme-web")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.SetOrgRole(ctx, org.ID, u.ID, usage.RoleMember); err != nil {
		t.Fatal(err)
	}
	if resp, body := e.Get(t, path, tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("the same token once its user is a member: %d %s", resp.StatusCode, body)
	}
}

// write:org includes read:org, so it reads API insights.
func TestWriteOrgReadsInsights(t *testing.T) {
	e := testenv.New(t)
	org, err := e.Store.OrganizationByLogin(t.Context(), "acme-web")
	if err != nil {
		t.Fatal(err)
	}
	u := &usage.User{Login: "write-org-member"}
	if err := e.Store.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.SetOrgRole(t.Context(), org.ID, u.ID, usage.RoleMember); err != nil {
		t.Fatal(err)
	}
	path := "/orgs/acme-web/insights/api/summary-stats?min_timestamp=" + url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	for _, c := range []struct {
		scope  string
		status int
	}{{"write:org", http.StatusOK}, {"admin:org", http.StatusOK}, {"read:org", http.StatusOK}, {"repo", http.StatusForbidden}} {
		tok := issueToken(t, e, &usage.Token{Type: usage.ActorClassicPAT, UserID: u.ID, Scopes: []string{c.scope}, CreatedAt: time.Now()})
		if resp, body := e.Get(t, path, tok); resp.StatusCode != c.status {
			t.Errorf("classic token with %s: %d %s, want %d", c.scope, resp.StatusCode, body, c.status)
		}
	}
}

// An ingest body over the route's limit (64 MiB) is 413, not a 422 or a
// 500, and so is a small gzip body that expands past 512 MiB.
func TestIngestBodyOverTheLimitIs413(t *testing.T) {
	e := testenv.New(t)
	// One line with no end: the decoder skips it cheaply, so only the
	// size refuses it (its line error would be a 422).
	body := bytes.Repeat([]byte("x"), 64<<20+1)
	resp, out := postEvents(t, e, e.AdminToken, body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || decodeErr(t, out).Status != "413" {
		t.Fatalf("ingest body of 64 MiB + 1: %d %s, want 413", resp.StatusCode, out)
	}
	// 513 gzip members of 1 MiB each, about 1 KB apiece.
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(body[:1<<20])
	zw.Close()
	bomb := bytes.Repeat(member.Bytes(), 513)
	resp, out = postEvents(t, e, e.AdminToken, bomb)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a %d-byte gzip body expanding to 513 MiB: %d %s, want 413", len(bomb), resp.StatusCode, out)
	}
}

// GitHub accepts a token as the Basic username (curl -u TOKEN:x-oauth-basic,
// curl -u TOKEN:) as well as the password (curl -u login:TOKEN).
func TestBasicAuthTokenAsUsernameOrPassword(t *testing.T) {
	e := testenv.New(t)
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	tok := e.AdminToken
	for _, c := range []struct {
		header string
		status int
	}{
		{basic(tok + ":x-oauth-basic"), http.StatusOK},
		{basic(tok + ":"), http.StatusOK},
		{basic(tok), http.StatusOK},
		{basic("ghusage-admin:" + tok), http.StatusOK},
		{basic("x-access-token:" + tok), http.StatusOK},
		{basic("ghusage-admin:hunter2"), http.StatusUnauthorized},
		{basic(usage.NewTokenString(usage.ActorClassicPAT) + ":x-oauth-basic"), http.StatusUnauthorized},
		{basic(":"), http.StatusUnauthorized},
		{"Basic not-base64!", http.StatusUnauthorized},
	} {
		resp, body := e.Get(t, "/user", "", "Authorization", c.header)
		if resp.StatusCode != c.status {
			t.Errorf("Authorization %q: %d %s, want %d", c.header, resp.StatusCode, body, c.status)
		}
	}
}

// A client that goes away mid-request is a 499 in metrics, not a 500.
func TestClientDisconnectIsNotAServerError(t *testing.T) {
	e := testenv.New(t)
	addr := strings.TrimPrefix(e.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// Half an ingest body, then the connection closes.
	fmt.Fprintf(conn, "POST /ghusage/v1/ingest/api-requests HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Length: 100000\r\n\r\n{\"id\":", addr, e.AdminToken)
	time.Sleep(50 * time.Millisecond) // let the handler start reading the body
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	const route = `route="POST /ghusage/v1/ingest/api-requests"`
	for {
		_, metrics := e.Get(t, "/metrics", "")
		var line string
		sc := bufio.NewScanner(strings.NewReader(metrics))
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ghusage_http_requests_total") && strings.Contains(sc.Text(), route) {
				line = sc.Text()
			}
		}
		if line != "" {
			if !strings.Contains(line, `status="499"`) {
				t.Fatalf("a request whose client went away is counted as %s, want status 499", line)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ingest request in /metrics after 5 s:\n%s", metrics)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A query string is bounded (414), and Link headers write each parameter
// once, however often the request repeated it.
func TestQueryBoundAndCanonicalLinks(t *testing.T) {
	e := testenv.New(t)
	now := time.Now().UTC()
	ingestTestEvents(t, e, now, 20) // two subjects: more than one page at per_page=1
	base := "/orgs/acme-web/insights/api/subject-stats?min_timestamp=" + url.QueryEscape(now.Add(-72*time.Hour).Format(time.RFC3339)) + "&per_page=1"

	resp, body := e.Get(t, base+strings.Repeat("&sort=total_request_count", 2000), e.AdminToken)
	if resp.StatusCode != http.StatusRequestURITooLong || decodeErr(t, body).Status != "414" {
		t.Fatalf("a 50 KB query: %d (Link %d bytes), want 414", resp.StatusCode, len(resp.Header.Get("Link")))
	}
	resp, body = e.Get(t, base+strings.Repeat("&sort=total_request_count", 100)+"&direction=asc&direction=asc", e.AdminToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("100 repeated sort values: %d %s", resp.StatusCode, body)
	}
	link := resp.Header.Get("Link")
	parts := strings.Split(link, ", ")
	if len(parts) != 2 || len(link) > 1000 {
		t.Fatalf("Link of page 1 (%d bytes): %s, want next and last, short", len(link), link)
	}
	for _, p := range parts {
		u, err := url.Parse(p[1:strings.Index(p, ">")])
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if len(q["sort"]) != 1 || len(q["direction"]) != 1 || len(q["page"]) != 1 || len(q["per_page"]) != 1 || q.Get("min_timestamp") == "" {
			t.Fatalf("link %s: each parameter must appear once, got %v", u, q)
		}
	}
}

// An ingestion pipe is not a GitHub API request: authenticated posts are
// neither counted against the primary limit nor charged secondary points
// (a POST costs 5 of 900 a minute, so a pipe stopped after 180 batches).
// Unauthenticated ones count against the address as any request does.
func TestIngestPipeIsNotAPIRateLimited(t *testing.T) {
	e := rateEnv(t, func(c *server.Config) {
		c.RateLimit.Secondary.EndpointPoints = 5 // one POST a minute per endpoint
		c.RateLimit.Categories[ratelimit.Core].Authenticated = 2
		c.RateLimit.Categories[ratelimit.Core].Unauthenticated = 1
	})
	tok := issueToken(t, e, &usage.Token{Type: usage.ActorClassicPAT, UserID: e.Data.Users[20].ID,
		Scopes: []string{"ghusage:ingest"}, CreatedAt: time.Now()})
	body := ndjson(t, nil)
	for i := range 4 {
		resp, out := postEvents(t, e, tok, body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("ingest post %d: %d %s, want 200 (no points, not counted)", i+1, resp.StatusCode, out)
		}
		if h := headersOf(t, resp); h.used != 0 || h.resource != "core" {
			t.Fatalf("ingest post %d: headers %+v, want core unused", i+1, h)
		}
	}
	// The same user's API requests still count, and are still refused.
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusForbidden} {
		if resp, _ := e.Get(t, "/user", tok); resp.StatusCode != want {
			t.Fatalf("GET /user %d after the pipe: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	resp, _ := postEvents(t, e, "", body)
	if resp.StatusCode != http.StatusUnauthorized || headersOf(t, resp).used != 1 {
		t.Fatalf("unauthenticated ingest: %d %+v, want 401 counted against the address", resp.StatusCode, headersOf(t, resp))
	}
	if resp, _ := postEvents(t, e, "", body); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("second unauthenticated ingest with a limit of 1: %d, want 403", resp.StatusCode)
	}
}

// Callers of one pool may have different limits (Enterprise Cloud apps see
// 15,000 where the same user's PAT sees 5,000): a caller is never shown
// more used than its own limit, in the headers or in GET /rate_limit.
func TestUsedNeverShownPastTheCallersLimit(t *testing.T) {
	e := rateEnv(t, func(c *server.Config) {
		c.RateLimit.Categories[ratelimit.Core].Authenticated = 2
		c.RateLimit.EnterpriseCloud.Enabled, c.RateLimit.EnterpriseCloud.Core = true, 5
	})
	u := e.Data.Users[21]
	app, pat := issue(t, e, usage.ActorOAuthApp, u.ID, nil), issue(t, e, usage.ActorClassicPAT, u.ID, nil)
	for range 4 {
		e.Get(t, "/user", app)
	}
	resp, _ := e.Get(t, "/user", pat)
	if h := headersOf(t, resp); resp.StatusCode != http.StatusForbidden || h.used != 2 || h.remaining != 0 || h.limit != 2 {
		t.Fatalf("PAT after its user's app used 4: %d %+v, want 403 with used 2 of 2", resp.StatusCode, h)
	}
	if c := rateLimitOf(t, e, pat).Resources["core"]; c.Used != 2 || c.Remaining != 0 {
		t.Fatalf("PAT's /rate_limit core %+v, want used 2 of 2", c)
	}
	if c := rateLimitOf(t, e, app).Resources["core"]; c.Used != 4 || c.Remaining != 1 || c.Limit != 5 {
		t.Fatalf("app's /rate_limit core %+v, want used 4 of 5", c)
	}
}
