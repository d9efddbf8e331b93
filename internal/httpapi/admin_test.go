package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/go-github/v92/github"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/httpapi"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// recorder is an http.RoundTripper that keeps every exchange, so each
// response a client received can be checked against the contract.
type recorder struct {
	mu        sync.Mutex
	exchanges []exchange
}

type exchange struct {
	req    *http.Request
	status int
	header http.Header
	body   []byte
}

func (rec *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	rec.mu.Lock()
	rec.exchanges = append(rec.exchanges, exchange{req.Clone(context.Background()), resp.StatusCode, resp.Header.Clone(), b})
	rec.mu.Unlock()
	return resp, nil
}

// adminContract loads GitHub's site-admin subset with servers at base.
func adminContract(t *testing.T, base string) *openapi3.T {
	t.Helper()
	p := filepath.Join(filepath.Dir(contractPath(t)), "ghes-admin-subset.openapi.json")
	doc, err := openapi3.NewLoader().LoadFromFile(p)
	if err != nil {
		t.Fatalf("loading %s: %v", p, err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	return doc
}

// checkAgainstContract validates every successful response rec holds
// against the operation the contract has for its request, status included,
// and fails on requests the contract does not describe (insights aside).
func checkAgainstContract(t *testing.T, rec *recorder, doc *openapi3.T) (checked int) {
	t.Helper()
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range rec.exchanges {
		if x.status >= 300 || strings.Contains(x.req.URL.Path, "/insights/api/") {
			continue // insights answers are checked against their own contract
		}
		route, params, err := router.FindRoute(x.req)
		if err != nil {
			t.Errorf("%s %s: not in the contract: %v", x.req.Method, x.req.URL.Path, err)
			continue
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: x.req, PathParams: params, Route: route},
			Status:                 x.status, Header: x.header, Body: io.NopCloser(bytes.NewReader(x.body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			t.Errorf("%s %s → %d does not match the contract: %v\n%s", x.req.Method, x.req.URL.Path, x.status, err, x.body)
		}
		checked++
	}
	return checked
}

// adminClient is a go-github client on ghusage's /api/v3, recording into rec.
func adminClient(t *testing.T, e *testenv.Env, token string, rec *recorder) *github.Client {
	t.Helper()
	base := e.URL + "/api/v3/"
	c, err := github.NewClient(github.WithURLs(&base, &base), github.WithAuthToken(token),
		github.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantGitHubError(t *testing.T, what string, err error, status int, message string) {
	t.Helper()
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != status || (message != "" && er.Message != message) {
		t.Fatalf("%s: %v, want %d %q", what, err, status, message)
	}
}

// TestAdminAPIWithGoGitHub drives the site-admin API through go-github's
// AdminService and UsersService as an operator would: a user, an
// organization and an impersonation token made remotely, the token used
// against insights, suspension and its end, promotion, renames, token
// listing and deletion. Every successful response is validated against
// the contract.
func TestAdminAPIWithGoGitHub(t *testing.T) {
	// A long token cache: a suspension must still take effect at once on
	// the replica that made it.
	e := testenv.New(t, func(c *server.Config) { c.TokenCacheTTL = time.Hour })
	ctx := context.Background()
	rec := &recorder{}
	admin := adminClient(t, e, e.AdminToken, rec)

	var meta struct {
		InstalledVersion string `json:"installed_version"`
	}
	req, _ := admin.NewRequest(ctx, "GET", "meta", nil)
	if _, err := admin.Do(req, &meta); err != nil || meta.InstalledVersion != httpapi.InstalledVersion {
		t.Fatalf("GET /meta: %v %+v", err, meta)
	}

	u, resp, err := admin.Admin.CreateUser(ctx, github.CreateUserRequest{Login: "new_hire", Email: github.Ptr("nh@example.com")})
	if err != nil || resp.StatusCode != 201 || u.GetLogin() != "new-hire" || u.GetEmail() != "nh@example.com" {
		t.Fatalf("CreateUser: %v %+v (a login with _ becomes one with -)", err, u)
	}
	_, _, err = admin.Admin.CreateUser(ctx, github.CreateUserRequest{Login: "NEW-HIRE"})
	wantGitHubError(t, "CreateUser of a taken login", err, 422, "Validation Failed")

	org, resp, err := admin.Admin.CreateOrg(ctx, &github.Organization{Login: github.Ptr("skunkworks")}, "new-hire")
	if err != nil || resp.StatusCode != 201 || org.GetLogin() != "skunkworks" {
		t.Fatalf("CreateOrg: %v %+v", err, org)
	}

	auth, resp, err := admin.Admin.CreateUserImpersonation(ctx, "new-hire", github.CreateUserImpersonationRequest{Scopes: []string{"read:org"}})
	if err != nil || resp.StatusCode != 201 || !strings.HasPrefix(auth.GetToken(), "gho_") || auth.GetApp().GetName() != "GitHub Site Administrator" {
		t.Fatalf("CreateUserImpersonation: %v %+v", err, auth)
	}
	imp := adminClient(t, e, auth.GetToken(), rec)
	me, _, err := imp.Users.Get(ctx, "")
	if err != nil || me.GetLogin() != "new-hire" {
		t.Fatalf("GET /user with the impersonation token: %v %+v", err, me)
	}
	// The impersonated user owns the new organization: its insights answer.
	since := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	insights := func(c *github.Client) (*github.Response, error) {
		req, _ := c.NewRequest(ctx, "GET", "orgs/skunkworks/insights/api/summary-stats?min_timestamp="+url.QueryEscape(since), nil)
		return c.Do(req, nil)
	}
	if resp, err := insights(imp); err != nil || resp.StatusCode != 200 {
		t.Fatalf("insights with the impersonation token: %v", err)
	}
	if o, _, err := imp.Organizations.Get(ctx, "skunkworks"); err != nil || o.GetLogin() != "skunkworks" {
		t.Fatalf("GET /orgs/skunkworks: %v", err)
	}

	// Suspension: every request with the user's token is refused, at once.
	if resp, err := admin.Users.Suspend(ctx, "new-hire", &github.UserSuspendOptions{Reason: github.Ptr("test")}); err != nil || resp.StatusCode != 204 {
		t.Fatalf("Suspend: %v", err)
	}
	_, err = insights(imp)
	wantGitHubError(t, "insights of a suspended user", err, 403, "Sorry. Your account was suspended.")
	_, _, err = imp.Users.Get(ctx, "")
	wantGitHubError(t, "GET /user of a suspended user", err, 403, "Sorry. Your account was suspended.")
	if resp, err := admin.Users.Unsuspend(ctx, "new-hire"); err != nil || resp.StatusCode != 204 {
		t.Fatalf("Unsuspend: %v", err)
	}
	if resp, err := insights(imp); err != nil || resp.StatusCode != 200 {
		t.Fatalf("insights after unsuspension: %v", err)
	}

	// Promotion and demotion.
	if _, err := admin.Users.PromoteSiteAdmin(ctx, "new-hire"); err != nil {
		t.Fatal(err)
	}
	if got, _, err := admin.Users.Get(ctx, "new-hire"); err != nil || !got.GetSiteAdmin() {
		t.Fatalf("after promotion: %v %+v", err, got)
	}
	if _, err := admin.Users.DemoteSiteAdmin(ctx, "new-hire"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := admin.Users.Get(ctx, "new-hire"); got.GetSiteAdmin() {
		t.Fatal("still a site administrator after demotion")
	}
	_, err = admin.Users.DemoteSiteAdmin(ctx, "ghusage-admin")
	wantGitHubError(t, "demoting oneself", err, 403, "")

	// Renames.
	// go-github reports GitHub's 202 "job queued" as an *AcceptedError.
	var accepted *github.AcceptedError
	if _, _, err := admin.Admin.RenameOrgByName(ctx, "skunkworks", "skunk-works"); !errors.As(err, &accepted) ||
		!strings.Contains(string(accepted.Raw), `/api/v3/orgs/skunk-works"`) {
		t.Fatalf("RenameOrgByName: %v", err)
	}
	if _, _, err := imp.Organizations.Get(ctx, "skunk-works"); err != nil {
		t.Fatalf("the owner after the rename: %v", err)
	}
	req, _ = admin.NewRequest(ctx, "PATCH", "admin/users/new-hire", map[string]string{"login": "new-hire-2"})
	if _, err := admin.Do(req, nil); !errors.As(err, &accepted) || !strings.Contains(string(accepted.Raw), `/api/v3/users/new-hire-2"`) {
		t.Fatalf("rename user: %v", err)
	}
	if me, _, err := imp.Users.Get(ctx, ""); err != nil || me.GetLogin() != "new-hire-2" {
		t.Fatalf("after the rename the token acts for %+v (%v)", me, err)
	}

	// Personal access tokens: listed with no secret, deleted remotely.
	pat, err := demo.IssueToken(ctx, e.Store, &usage.Token{Type: usage.ActorClassicPAT, UserID: e.Data.Users[0].ID, Note: "ci", Scopes: []string{"read:org"}, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var listed []struct {
		ID        int64  `json:"id"`
		Token     string `json:"token"`
		LastEight string `json:"token_last_eight"`
		Note      string `json:"note"`
		User      struct{ Login string }
	}
	var patID int64
	for page := 1; patID == 0; page++ {
		req, _ = admin.NewRequest(ctx, "GET", "admin/tokens?per_page=100&page="+strconv.Itoa(page), nil)
		listed = nil
		resp, err := admin.Do(req, &listed)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range listed {
			if l.Token != "" {
				t.Fatalf("GET /admin/tokens shows a secret: %+v", l)
			}
			if l.LastEight == pat[len(pat)-8:] {
				patID = l.ID
				if l.Note != "ci" || l.User.Login != e.Data.Users[0].Login {
					t.Errorf("listed token: %+v", l)
				}
			}
		}
		if resp.NextPage == 0 && patID == 0 {
			t.Fatal("the new token is not in GET /admin/tokens")
		}
	}
	if got, _ := e.Get(t, "/user", pat); got.StatusCode != 200 {
		t.Fatalf("the token before deletion: %d", got.StatusCode)
	}
	req, _ = admin.NewRequest(ctx, "DELETE", "admin/tokens/"+strconv.FormatInt(patID, 10), nil)
	if resp, err := admin.Do(req, nil); err != nil || resp.StatusCode != 204 {
		t.Fatalf("DELETE /admin/tokens/%d: %v", patID, err)
	}
	if got, _ := e.Get(t, "/user", pat); got.StatusCode != 401 {
		t.Fatalf("a deleted token answers %d, want 401", got.StatusCode)
	}
	_, err = admin.Do(req, nil)
	wantGitHubError(t, "deleting a deleted token", err, 404, "Not Found")
	adminTok, _ := e.Store.TokenByHash(ctx, usage.HashToken(e.AdminToken))
	req, _ = admin.NewRequest(ctx, "DELETE", "admin/tokens/"+strconv.FormatInt(adminTok.ID, 10), nil)
	_, err = admin.Do(req, nil)
	wantGitHubError(t, "deleting the token in use", err, 403, "")

	// Impersonation ends; a second one replaces the first.
	again, _, err := admin.Admin.CreateUserImpersonation(ctx, "new-hire-2", github.CreateUserImpersonationRequest{Scopes: []string{"read:org"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Get(t, "/user", auth.GetToken()); got.StatusCode != 401 {
		t.Errorf("the replaced impersonation token answers %d, want 401", got.StatusCode)
	}
	if _, err := admin.Admin.DeleteUserImpersonation(ctx, "new-hire-2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Get(t, "/user", again.GetToken()); got.StatusCode != 401 {
		t.Errorf("a deleted impersonation token answers %d, want 401", got.StatusCode)
	}

	// Deletion.
	if resp, err := admin.Admin.DeleteUser(ctx, "new-hire-2"); err != nil || resp.StatusCode != 204 {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, _, err = admin.Users.Get(ctx, "new-hire-2")
	wantGitHubError(t, "a deleted user", err, 404, "Not Found")
	_, err = admin.Admin.DeleteUser(ctx, "ghusage-admin")
	wantGitHubError(t, "deleting oneself", err, 403, "")

	if n := checkAgainstContract(t, rec, adminContract(t, e.URL+"/api/v3")); n < 20 {
		t.Errorf("only %d responses checked against the contract", n)
	}
}

// adminRoutes lists one request per site-admin operation.
var adminRoutes = []struct{ method, path, body string }{
	{"POST", "/admin/users", `{"login":"x"}`},
	{"PATCH", "/admin/users/ada-dev0", `{"login":"y"}`},
	{"DELETE", "/admin/users/ada-dev0", ``},
	{"POST", "/admin/users/ada-dev0/authorizations", `{"scopes":[]}`},
	{"DELETE", "/admin/users/ada-dev0/authorizations", ``},
	{"POST", "/admin/organizations", `{"login":"o","admin":"ada-dev0"}`},
	{"PATCH", "/admin/organizations/acme-web", `{"login":"z"}`},
	{"GET", "/admin/tokens", ``},
	{"DELETE", "/admin/tokens/1", ``},
	{"PUT", "/users/ada-dev0/site_admin", ``},
	{"DELETE", "/users/ada-dev0/site_admin", ``},
	{"PUT", "/users/ada-dev0/suspended", ``},
	{"DELETE", "/users/ada-dev0/suspended", ``},
}

// TestAdminRoutesOnlyForSiteAdmins: everyone but a site administrator
// gets 404 on every site-admin route, with and without /api/v3, whatever
// the token's scopes; an administrator whose token lacks site_admin gets
// 403 naming the scope; no credentials is 401. Nothing changes.
func TestAdminRoutesOnlyForSiteAdmins(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	owner := e.Data.Users[0] // a member of the demo organizations, not a site admin
	if owner.SiteAdmin {
		t.Fatal("demo user 0 is a site admin")
	}
	classic, err := demo.IssueToken(ctx, e.Store, &usage.Token{Type: usage.ActorClassicPAT, UserID: owner.ID,
		Scopes: []string{"site_admin", "admin:org", "admin:enterprise", "user"}, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	org, _ := e.Store.OrganizationByLogin(ctx, "acme-web")
	if err := e.Store.SetOrgRole(ctx, org.ID, owner.ID, usage.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	fine, err := demo.IssueToken(ctx, e.Store, &usage.Token{Type: usage.ActorFineGrainedPAT, UserID: owner.ID, ResourceOwner: "acme-web",
		Permissions: map[string]string{"organization_administration": "write"}, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	admin := e.Data.Admin
	adminNoScope, err := demo.IssueToken(ctx, e.Store, &usage.Token{Type: usage.ActorClassicPAT, UserID: admin.ID, Scopes: []string{"admin:org", "user"}, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	adminFine, err := demo.IssueToken(ctx, e.Store, &usage.Token{Type: usage.ActorFineGrainedPAT, UserID: admin.ID, ResourceOwner: "acme-web",
		Permissions: map[string]string{"organization_administration": "write"}, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	target := e.Data.Users[1].Login
	for _, rt := range adminRoutes {
		path := strings.ReplaceAll(rt.path, "ada-dev0", target)
		for _, prefix := range []string{"", "/api/v3"} {
			for _, c := range []struct {
				who, token string
				status     int
			}{
				{"a non-admin's classic token with every scope", classic, 404},
				{"a non-admin's fine-grained token", fine, 404},
				{"an admin's fine-grained token", adminFine, 404},
				{"an admin's token without site_admin", adminNoScope, 403},
				{"no token", "", 401},
			} {
				resp, body := e.Do(t, rt.method, prefix+path, c.token, strings.NewReader(rt.body))
				if resp.StatusCode != c.status {
					t.Errorf("%s %s%s with %s: %d %s, want %d", rt.method, prefix, path, c.who, resp.StatusCode, body, c.status)
				}
				if c.status == 403 && resp.Header.Get("X-Accepted-OAuth-Scopes") != "site_admin" {
					t.Errorf("%s %s with %s: X-Accepted-OAuth-Scopes %q", rt.method, path, c.who, resp.Header.Get("X-Accepted-OAuth-Scopes"))
				}
			}
		}
	}
	// Nothing was changed by the refused requests.
	u, err := e.Store.UserByLogin(ctx, target)
	if err != nil || u.Suspended() || u.SiteAdmin {
		t.Fatalf("target after refused requests: %v %+v", err, u)
	}
	if _, err := e.Store.UserByLogin(ctx, "x"); !usage.IsNotFound(err) {
		t.Fatalf("a refused POST /admin/users created a user: %v", err)
	}
}

// TestAdminValidation: bad bodies are 400 or a 422 naming the field,
// never a 500.
func TestAdminValidation(t *testing.T) {
	e := testenv.New(t)
	for _, c := range []struct {
		method, path, body string
		status             int
		field, code        string
	}{
		{"POST", "/admin/users", `{}`, 422, "login", "missing_field"},
		{"POST", "/admin/users", ``, 400, "", ""},
		{"POST", "/admin/users", `{"login":`, 400, "", ""},
		{"POST", "/admin/users", `{"login":42}`, 422, "login", "invalid"},
		{"POST", "/admin/users", `{"login":"___"}`, 422, "login", "invalid"},
		{"POST", "/admin/users", `{"login":"` + strings.Repeat("a", 40) + `"}`, 422, "login", "invalid"},
		{"POST", "/admin/users", `{"login":"acme-web"}`, 422, "login", "already_exists"},
		{"POST", "/admin/users", `{"login":"ghusage-admin"}`, 422, "login", "already_exists"},
		{"PATCH", "/admin/users/ada-dev0", `{}`, 422, "login", "missing_field"},
		{"PATCH", "/admin/users/nobody-here", `{"login":"x"}`, 404, "", ""},
		{"POST", "/admin/organizations", `{"login":"o"}`, 422, "admin", "missing_field"},
		{"POST", "/admin/organizations", `{"login":"o","admin":"nobody-here"}`, 422, "admin", "invalid"},
		{"POST", "/admin/organizations", `{"login":"acme-web","admin":"ghusage-admin"}`, 422, "login", "already_exists"},
		{"PATCH", "/admin/organizations/acme-web", `{"login":"acme-data"}`, 422, "login", "already_exists"},
		{"POST", "/admin/users/ghusage-admin/authorizations", `{}`, 422, "scopes", "missing_field"},
		{"POST", "/admin/users/ghusage-admin/authorizations", `{"scopes":["root"]}`, 422, "scopes", "invalid"},
		{"PUT", "/users/nobody-here/suspended", ``, 404, "", ""},
		{"PUT", "/users/ghusage-admin/suspended", ``, 403, "", ""},
		{"PUT", "/users/ada-dev0/suspended", `{"reason":7}`, 422, "reason", "invalid"},
		{"DELETE", "/admin/tokens/abc", ``, 404, "", ""},
	} {
		path := strings.ReplaceAll(c.path, "ada-dev0", e.Data.Users[1].Login)
		resp, body := e.Do(t, c.method, path, e.AdminToken, strings.NewReader(c.body))
		if resp.StatusCode != c.status {
			t.Errorf("%s %s %s: %d %s, want %d", c.method, path, c.body, resp.StatusCode, body, c.status)
			continue
		}
		if c.field == "" {
			continue
		}
		var eb struct {
			Errors []usage.FieldError `json:"errors"`
		}
		if err := json.Unmarshal([]byte(body), &eb); err != nil || len(eb.Errors) != 1 || eb.Errors[0].Field != c.field || eb.Errors[0].Code != c.code {
			t.Errorf("%s %s %s: %s, want field %s code %s", c.method, path, c.body, body, c.field, c.code)
		}
	}
}

// TestGetUserAndOrgMatchTheContract checks the account lookups in both
// shapes: the public profile to anyone, the organization to its members.
func TestGetUserAndOrgMatchTheContract(t *testing.T) {
	e := testenv.New(t)
	rec := &recorder{}
	c := adminClient(t, e, e.AdminToken, rec)
	ctx := context.Background()
	login := e.Data.Users[1].Login
	if u, _, err := c.Users.Get(ctx, login); err != nil || u.GetLogin() != login {
		t.Fatalf("GET /users/%s: %v", login, err)
	}
	if _, _, err := c.Users.Get(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if o, _, err := c.Organizations.Get(ctx, "acme-data"); err != nil || o.GetLogin() != "acme-data" {
		t.Fatalf("GET /orgs/acme-data: %v", err)
	}
	if resp, body := e.Get(t, "/users/"+login, ""); resp.StatusCode != 200 || !strings.Contains(body, `"login":"`+login+`"`) {
		t.Fatalf("GET /users/%s without a token: %d %s", login, resp.StatusCode, body)
	}
	// A user outside an organization does not see it.
	outsider := &usage.User{Login: "outsider", CreatedAt: time.Now()}
	if err := e.Store.CreateUser(ctx, outsider); err != nil {
		t.Fatal(err)
	}
	tok, _ := demo.IssueToken(ctx, e.Store, &usage.Token{Type: usage.ActorClassicPAT, UserID: outsider.ID, Scopes: []string{"read:org"}, CreatedAt: time.Now()})
	if resp, _ := e.Get(t, "/orgs/acme-data", tok); resp.StatusCode != 404 {
		t.Errorf("GET /orgs/acme-data by an outsider: %d, want 404", resp.StatusCode)
	}
	if resp, _ := e.Get(t, "/users/nobody-here", tok); resp.StatusCode != 404 {
		t.Errorf("GET /users/nobody-here: %d, want 404", resp.StatusCode)
	}
	if n := checkAgainstContract(t, rec, adminContract(t, e.URL+"/api/v3")); n != 3 {
		t.Errorf("%d responses checked, want 3", n)
	}
}
