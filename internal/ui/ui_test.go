package ui_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/session"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// client is a browser without a browser: a cookie jar, redirects not
// followed, so each test sees every answer.
type client struct {
	t   testing.TB
	env *testenv.Env
	c   *http.Client
}

func newClient(t testing.TB, env *testenv.Env) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, env: env, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *client) do(method, path string, form url.Values, header ...string) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.env.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in %.300s", body)
	}
	return m[1]
}

// signIn signs in with token and returns the session cookie's value.
func (c *client) signIn(token string) string {
	c.t.Helper()
	_, page := c.get("/ui/signin?next=/ui/insights")
	resp, body := c.do(http.MethodPost, "/ui/signin", url.Values{"csrf": {csrfOf(c.t, page)}, "token": {token}, "next": {"/ui/insights"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/insights" {
		c.t.Fatalf("sign in: %d to %q: %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "ghusage_session" {
			return ck.Value
		}
	}
	c.t.Fatal("sign in set no session cookie")
	return ""
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, ck := range resp.Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func TestSignIn(t *testing.T) {
	env := testenv.New(t)
	c := newClient(t, env)

	resp, _ := c.get("/ui/insights?period=7d")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/signin?next=%2Fui%2Finsights%3Fperiod%3D7d" {
		t.Fatalf("signed out: %d to %q, want the sign-in page keeping where it was going", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := c.get("/ui/signin")
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	pre := cookieNamed(resp, "ghusage_signin")
	if pre == nil || !pre.HttpOnly || pre.SameSite != http.SameSiteStrictMode || pre.Path != "/ui/" {
		t.Fatalf("sign-in form cookie %+v", pre)
	}
	csrf := csrfOf(t, page)

	// The form's secret must come back, from this site.
	for name, tc := range map[string]struct {
		form   url.Values
		header []string
	}{
		"no csrf":           {url.Values{"token": {env.AdminToken}}, nil},
		"wrong csrf":        {url.Values{"token": {env.AdminToken}, "csrf": {csrf + "x"}}, nil},
		"cross-site origin": {url.Values{"token": {env.AdminToken}, "csrf": {csrf}}, []string{"Origin", "http://evil.example"}},
		"cross-site fetch":  {url.Values{"token": {env.AdminToken}, "csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		resp, _ := c.do(http.MethodPost, "/ui/signin", tc.form, tc.header...)
		if resp.StatusCode != http.StatusForbidden || cookieNamed(resp, "ghusage_session") != nil {
			t.Errorf("%s: %d, session cookie %v; want 403 and no session", name, resp.StatusCode, cookieNamed(resp, "ghusage_session"))
		}
	}
	for _, bad := range []string{"not-a-token", usage.NewTokenString(usage.ActorClassicPAT)} {
		resp, body := c.do(http.MethodPost, "/ui/signin", url.Values{"token": {bad}, "csrf": {csrf}})
		if resp.StatusCode != http.StatusUnauthorized || cookieNamed(resp, "ghusage_session") != nil {
			t.Errorf("token %q: %d, want 401 without a session", bad, resp.StatusCode)
		}
		csrf = csrfOf(t, body)
	}

	resp, _ = c.do(http.MethodPost, "/ui/signin", url.Values{"token": {env.AdminToken}, "csrf": {csrf}, "next": {"//evil.example/"}},
		"Origin", env.URL)
	sc := cookieNamed(resp, "ghusage_session")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("sign in: %d to %q, want 303 to /ui/ (an outside next is dropped)", resp.StatusCode, resp.Header.Get("Location"))
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/ui/" || sc.Secure || sc.MaxAge != 8*3600 {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/ui/, not Secure without TLS, 8 h", sc)
	}
	// Stored by hash only: the cookie's value itself finds nothing.
	if _, err := env.Store.SessionByHash(t.Context(), session.Hash(sc.Value)); err != nil {
		t.Errorf("session by the hash of its cookie: %v", err)
	}
	if _, err := env.Store.SessionByHash(t.Context(), []byte(sc.Value)); !usage.IsNotFound(err) {
		t.Errorf("session by the cookie's raw value: %v, want not found", err)
	}
	if resp, _ := c.get("/ui/insights"); resp.StatusCode != http.StatusOK {
		t.Errorf("signed in, /ui/insights: %d", resp.StatusCode)
	}
}

func TestSignOut(t *testing.T) {
	env := testenv.New(t)
	c := newClient(t, env)
	cookie := c.signIn(env.AdminToken)
	_, page := c.get("/ui/insights")
	csrf := csrfOf(t, page)
	if resp, _ := c.do(http.MethodPost, "/ui/signout", url.Values{"csrf": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign out with a wrong csrf: %d, want 403", resp.StatusCode)
	}
	if resp, _ := c.get("/ui/insights"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a refused sign-out ended the session: %d", resp.StatusCode)
	}
	resp, _ := c.do(http.MethodPost, "/ui/signout", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/signin?reason=signedout" {
		t.Fatalf("sign out: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := env.Store.SessionByHash(t.Context(), session.Hash(cookie)); !usage.IsNotFound(err) {
		t.Errorf("after sign-out the session is still stored: %v", err)
	}
	// The old cookie, replayed (say, from another replica's point of view), opens nothing.
	c2 := newClient(t, env)
	u, _ := url.Parse(env.URL + "/ui/")
	c2.c.Jar.SetCookies(u, []*http.Cookie{{Name: "ghusage_session", Value: cookie}})
	if resp, _ := c2.get("/ui/rate-limits"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/signin?") {
		t.Errorf("replayed cookie after sign-out: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSessionEnds(t *testing.T) {
	env := testenv.New(t)
	ctx := t.Context()
	u, _ := url.Parse(env.URL + "/ui/")

	// Expired: sent to sign in, and the row is gone.
	s, id := session.New(usage.HashToken(env.AdminToken), time.Now().Add(-9*time.Hour), 8*time.Hour)
	if err := env.Store.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, env)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: "ghusage_session", Value: id}})
	resp, _ := c.get("/ui/insights")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "reason=expired") {
		t.Errorf("expired session: %d to %q", resp.StatusCode, loc)
	}
	if _, err := env.Store.SessionByHash(ctx, s.Hash); !usage.IsNotFound(err) {
		t.Errorf("expired session still stored: %v", err)
	}

	// Revoked token: the live session ends at its next request.
	tok := &usage.Token{Type: usage.ActorClassicPAT, UserID: env.Data.Admin.ID, Scopes: []string{"read:org"}, CreatedAt: time.Now()}
	secret, err := demo.IssueToken(ctx, env.Store, tok)
	if err != nil {
		t.Fatal(err)
	}
	c = newClient(t, env)
	c.signIn(secret)
	if resp, _ := c.get("/ui/rate-limits"); resp.StatusCode != http.StatusOK {
		t.Fatalf("before revocation: %d", resp.StatusCode)
	}
	if err := env.Store.RevokeToken(ctx, tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, _ = c.get("/ui/rate-limits")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "reason=revoked") {
		t.Errorf("revoked token: %d to %q", resp.StatusCode, loc)
	}
	_, page := c.get("/ui/signin?reason=revoked")
	if !strings.Contains(page, "revoked") {
		t.Error("the sign-in page does not say the session ended by revocation")
	}
}

// table returns the text of the cells of each body row of the table with
// the given id, parsing the page as HTML (encoding/xml in its lenient mode).
func table(t *testing.T, page, id string) [][]string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	var rows [][]string
	var in, body, cell bool
	var depth int
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parse page: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if e.Name.Local == "table" {
				for _, a := range e.Attr {
					if a.Name.Local == "id" && a.Value == id {
						in, depth = true, 0
					}
				}
			}
			if !in {
				continue
			}
			depth++
			switch e.Name.Local {
			case "tbody":
				body = true
			case "tr":
				if body {
					rows = append(rows, nil)
				}
			case "td", "th":
				if body {
					cell = true
					text.Reset()
				}
			}
		case xml.EndElement:
			if !in {
				continue
			}
			depth--
			switch e.Name.Local {
			case "td", "th":
				if cell {
					rows[len(rows)-1] = append(rows[len(rows)-1], strings.Join(strings.Fields(text.String()), " "))
					cell = false
				}
			case "table":
				return rows
			}
		case xml.CharData:
			if cell {
				text.Write(e)
			}
		}
	}
	t.Fatalf("no table %q in the page", id)
	return nil
}

// TestOnlyWhatTheTokenSees: a fine-grained token whose resource owner is
// acme-data (of a site administrator, who could otherwise see everything)
// sees acme-data and nothing of the other organizations, and its numbers
// equal the API's for the same token and range.
func TestOnlyWhatTheTokenSees(t *testing.T) {
	env := testenv.New(t)
	ctx := t.Context()
	now := time.Now()
	if err := demo.SeedTraffic(ctx, env.Store, env.Data, 1, now); err != nil {
		t.Fatal(err)
	}
	tok := &usage.Token{Type: usage.ActorFineGrainedPAT, UserID: env.Data.Admin.ID, ResourceOwner: "acme-data",
		Permissions: map[string]string{"organization_api_insights": "read"}, CreatedAt: now}
	secret, err := demo.IssueToken(ctx, env.Store, tok)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, env)
	c.signIn(secret)
	others := []string{"acme-web", "acme-infra"}
	for _, o := range others {
		if resp, _ := env.Get(t, "/orgs/"+o+"/insights/api/summary-stats?min_timestamp=2020-01-01", secret); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("the API answers %d for %s to this token; the test expects 404", resp.StatusCode, o)
		}
	}
	_, page := c.get("/ui/insights")
	if !strings.Contains(page, "acme-data") {
		t.Error("the organization list lacks acme-data")
	}
	for _, path := range []string{"/ui/insights", "/ui/insights/acme-data", "/ui/insights/acme-data?period=31d", "/ui/rate-limits",
		"/ui/insights/acme-web", "/ui/insights/acme-infra?period=7d", "/ui/insights/acme-web/users/2", "/ui/insights/acme-web/actors/installation/1"} {
		resp, page := c.get(path)
		for _, o := range others {
			if strings.Contains(page, o) {
				t.Errorf("%s (%d) mentions %s", path, resp.StatusCode, o)
			}
		}
		if strings.Contains(path, "acme-web") || strings.Contains(path, "acme-infra") {
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d, want 404 as the API answers", path, resp.StatusCode)
			}
		}
	}

	// The actors table equals subject-stats for the same token and range.
	to := now.UTC().Add(-5 * time.Minute).Truncate(time.Minute)
	from := to.Add(-7 * 24 * time.Hour)
	q := url.Values{"period": {"custom"}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	resp, page := c.get("/ui/insights/acme-data?" + q.Encode())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("acme-data: %d", resp.StatusCode)
	}
	rows := table(t, page, "actors-table")
	var api []struct {
		Name  string `json:"subject_name"`
		Total int64  `json:"total_request_count"`
		RL    int64  `json:"rate_limited_request_count"`
	}
	apiResp, body := env.Get(t, "/orgs/acme-data/insights/api/subject-stats?min_timestamp="+from.Format(time.RFC3339)+"&max_timestamp="+to.Format(time.RFC3339), secret)
	if apiResp.StatusCode != 200 {
		t.Fatalf("API: %d %s", apiResp.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), &api); err != nil {
		t.Fatal(err)
	}
	if len(api) == 0 || len(rows) != len(api) {
		t.Fatalf("table has %d rows, the API %d", len(rows), len(api))
	}
	for i, a := range api {
		want := []string{a.Name, grouped(a.Total), grouped(a.RL)}
		if got := []string{rows[i][0], rows[i][2], rows[i][3]}; !slices.Equal(got, want) {
			t.Errorf("row %d: %v, API %v", i, got, want)
		}
	}
}

// grouped writes n with thousands separators, as the pages show numbers.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String()
}

// TestSecureCookiesBehindHTTPS: with an https public URL (TLS ended at a
// proxy) the session cookie is Secure even though the request is plain HTTP.
func TestSecureCookiesBehindHTTPS(t *testing.T) {
	env := testenv.New(t, func(c *server.Config) { c.PublicURL = "https://ghusage.example" })
	c := newClient(t, env)
	resp, page := c.get("/ui/signin")
	if ck := cookieNamed(resp, "ghusage_signin"); ck == nil || !ck.Secure {
		t.Fatalf("sign-in cookie %+v, want Secure", ck)
	}
	// The jar would not send a Secure cookie over http, so send it by hand.
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/ui/signin", strings.NewReader(url.Values{"token": {env.AdminToken}, "csrf": {csrfOf(t, page)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "ghusage_signin", Value: cookieNamed(resp, "ghusage_signin").Value})
	resp, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ck := cookieNamed(resp, "ghusage_session"); ck == nil || !ck.Secure || !ck.HttpOnly {
		t.Errorf("session cookie %+v, want Secure and HttpOnly", ck)
	}
}

func TestPagesAnswerAsTheAPI(t *testing.T) {
	env := testenv.New(t)
	ctx := t.Context()
	now := time.Now()
	if err := demo.SeedTraffic(ctx, env.Store, env.Data, 1, now); err != nil {
		t.Fatal(err)
	}
	issue := func(tok *usage.Token) string {
		t.Helper()
		tok.CreatedAt = now
		s, err := demo.IssueToken(ctx, env.Store, tok)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A member of acme-web whose classic token lacks read:org: 403 naming
	// the scope, as the API answers, and no organization listed.
	var member *usage.User
	for _, u := range env.Data.Users {
		orgs, _, err := env.Store.Roles(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if orgs["acme-web"] != "" {
			member = u
			break
		}
	}
	noScope := newClient(t, env)
	noScope.signIn(issue(&usage.Token{Type: usage.ActorClassicPAT, UserID: member.ID, Scopes: []string{"repo"}}))
	resp, page := noScope.get("/ui/insights/acme-web")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "read:org") {
		t.Errorf("member without read:org: %d, want 403 naming read:org", resp.StatusCode)
	}
	if api, _ := env.Get(t, "/orgs/acme-web/insights/api/summary-stats?min_timestamp=2020-01-01", issue(&usage.Token{Type: usage.ActorClassicPAT, UserID: member.ID, Scopes: []string{"repo"}})); api.StatusCode != http.StatusForbidden {
		t.Errorf("the API answers %d to the same token; the page should match it", api.StatusCode)
	}
	if _, page := noScope.get("/ui/insights"); strings.Contains(page, `class="card org"`) {
		t.Error("a token without read:org lists organizations")
	}

	admin := newClient(t, env)
	admin.signIn(env.AdminToken)
	// Bad parameters: a 422 page naming the parameter.
	for path, field := range map[string]string{
		"/ui/insights/acme-web?period=5y":                        "period",
		"/ui/insights/acme-web?period=custom&from=soon":          "from",
		"/ui/insights/acme-web/users/x":                          "user_id",
		"/ui/insights/acme-web/actors/robot/1":                   "actor_type",
		"/ui/insights/acme-web/actors/installation/0?period=24h": "actor_id",
	} {
		resp, page := admin.get(path)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, field) {
			t.Errorf("%s: %d, want 422 naming %s: %.200s", path, resp.StatusCode, field, page)
		}
	}
	if resp, _ := admin.get("/ui/no-such-page"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}

	// Sorting and pages: sort=route&dir=asc orders an actor's endpoints by
	// route, and page 2 continues page 1 without overlap, 30 rows a page.
	to := now.UTC().Add(-5 * time.Minute).Truncate(time.Minute)
	q := url.Values{"period": {"custom"}, "from": {to.Add(-31 * 24 * time.Hour).Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	var subjects []struct {
		Type string `json:"subject_type"`
		ID   int64  `json:"subject_id"`
	}
	_, body := env.Get(t, "/orgs/acme-web/insights/api/subject-stats?per_page=100&min_timestamp="+q.Get("from")+"&max_timestamp="+q.Get("to"), env.AdminToken)
	if err := json.Unmarshal([]byte(body), &subjects); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(subjects, func(s struct {
		Type string `json:"subject_type"`
		ID   int64  `json:"subject_id"`
	}) bool {
		return s.Type == "installation"
	})
	if i < 0 {
		t.Fatal("no installation in acme-web's subject-stats")
	}
	actor := "/ui/insights/acme-web/actors/installation/" + strconv.FormatInt(subjects[i].ID, 10) + "?" + q.Encode() + "&sort=route&dir=asc"
	_, page1 := admin.get(actor)
	_, page2 := admin.get(actor + "&page=2")
	var routes []string
	for _, r := range append(table(t, page1, "routes-table"), table(t, page2, "routes-table")...) {
		routes = append(routes, r[1]+" "+r[0])
	}
	if len(routes) <= 30 {
		t.Fatalf("%d routes over 31 days; the test needs more than a page", len(routes))
	}
	if !slices.IsSorted(routes) || len(slices.Compact(slices.Clone(routes))) != len(routes) {
		t.Errorf("routes by route over two pages: %v", routes)
	}
	if !strings.Contains(page1, `aria-sort="ascending"`) || !strings.Contains(page1, `rel="next"`) {
		t.Error("page 1 lacks the sorted column's aria-sort or a next link")
	}

	// An installation token: its pool is the installation's, as /rate_limit says.
	inst := env.Data.Installations[0]
	instToken := issue(&usage.Token{Type: usage.ActorInstallation, AppID: inst.AppID, InstallationID: inst.ID, Permissions: inst.Permissions})
	ic := newClient(t, env)
	ic.signIn(instToken)
	_, page = ic.get("/ui/rate-limits")
	var rl struct {
		Resources map[string]struct{ Limit int64 } `json:"resources"`
	}
	_, body = env.Get(t, "/rate_limit", instToken)
	if err := json.Unmarshal([]byte(body), &rl); err != nil {
		t.Fatal(err)
	}
	rows := table(t, page, "rate-table")
	if !strings.Contains(page, "installation "+strconv.FormatInt(inst.ID, 10)) || len(rows) == 0 || rows[0][0] != "core" || rows[0][2] != grouped(rl.Resources["core"].Limit) {
		t.Errorf("installation pool: rows %v, API core limit %d", rows, rl.Resources["core"].Limit)
	}
	_, page = ic.get("/ui/insights")
	for _, o := range env.Data.Orgs {
		if shown := strings.Contains(page, ">"+o.Login+"<"); shown != strings.EqualFold(o.Login, inst.AccountLogin) {
			t.Errorf("installation on %s: organization %s listed = %v", inst.AccountLogin, o.Login, shown)
		}
	}
}
