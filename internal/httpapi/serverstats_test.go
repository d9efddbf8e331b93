package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v92/github"

	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// statsItem is a server-statistics item as GHES writes it, for server on
// day (collected at 23:59:59 UTC), with counts growing with n.
func statsItem(server, day string, n int) string {
	return fmt.Sprintf(`{"server_id":%q,"collection_date":"%sT23:59:59Z","schema_version":"20230306","ghes_version":"3.14.%d","host_name":"%s.example.com",
"github_connect":{"features_enabled":["license_usage_sync","content_analysis"]},
"ghe_stats":{"comments":{"total_commit_comments":%d,"total_gist_comments":2,"total_issue_comments":%d,"total_pull_request_comments":4},
"gists":{"total_gists":%d,"private_gists":6,"public_gists":%d},"hooks":{"total_hooks":3,"active_hooks":2,"inactive_hooks":1},
"issues":{"total_issues":%d,"open_issues":%d,"closed_issues":%d},"milestones":{"total_milestones":5,"open_milestones":3,"closed_milestones":2},
"orgs":{"total_orgs":%d,"disabled_orgs":1,"total_teams":%d,"total_team_members":%d},"pages":{"total_pages":%d},
"pulls":{"total_pulls":%d,"merged_pulls":%d,"mergeable_pulls":7,"unmergeable_pulls":1},
"repos":{"total_repos":%d,"root_repos":%d,"fork_repos":10,"org_repos":%d,"total_pushes":%d,"total_wikis":3},
"users":{"total_users":%d,"admin_users":4,"suspended_users":%d}},
"dormant_users":{"total_dormant_users":%d,"dormancy_threshold":"90 days"},
"actions_stats":{"number_of_repos_using_actions":%d,"percentage_of_repos_using_actions":"41.5"},
"packages_stats":{"registry_enabled":true,"registry_v2_enabled":false,"ecosystems":[{"name":"npm","enabled":"TRUE","published_packages_count":%d,"private_packages_count":3,"public_packages_count":1,"internal_packages_count":0,"user_packages_count":1,"organization_packages_count":3,"daily_download_count":40,"daily_update_count":2,"daily_delete_count":0,"daily_create_count":1},{"name":"containers","enabled":"READONLY"}]},
"advisory_db_stats":{"last_sync":"%sT03:00:00Z"},
"security_products":{"total_repos":%d,"nonarchived_repos":%d,"secret_scanning_enabled_repos":9,"active_committers":%d,"purchased_committers":100,"maximum_committers":80}}`,
		server, day, n%10, server, 10+n, 300+n, 20+n, 14+n, 100+n, 40+n, 60, 3+n/10, 12+n, 80+n, 5, 200+n, 150+n,
		50+n, 40+n, 30+n, 1000+10*n, 120+n, n%7, 9+n, 20+n, 4+n, day, 50+n, 45+n, 25+n)
}

func uploadStats(t *testing.T, env *testenv.Env, account, body string) (*http.Response, string) {
	t.Helper()
	return env.Do(t, http.MethodPost, "/ghusage/v1/ingest/server-statistics?account="+account, env.AdminToken, strings.NewReader(body))
}

func mustUpload(t *testing.T, env *testenv.Env, account string, items ...string) serverstats.IngestResult {
	t.Helper()
	resp, body := uploadStats(t, env, account, "["+strings.Join(items, ",")+"]")
	var res serverstats.IngestResult
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &res) != nil {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	return res
}

// days returns the n days ending today (UTC), oldest first.
func days(n int) []string {
	today := time.Now().UTC()
	out := make([]string, n)
	for i := range out {
		out[i] = today.AddDate(0, 0, i-n+1).Format("2006-01-02")
	}
	return out
}

// seedTwoServers uploads ten days of two acme servers and one acme-web server.
func seedTwoServers(t *testing.T, env *testenv.Env) []string {
	t.Helper()
	ds := days(10)
	var items []string
	for i, d := range ds {
		items = append(items, statsItem("srv-1", d, i), statsItem("srv-2", d, 100+i))
	}
	mustUpload(t, env, "acme", items...)
	mustUpload(t, env, "acme-web", statsItem("srv-web", ds[9], 7))
	return ds
}

// newUser makes a user with a classic token of the given scopes and, when
// entRole or orgRole is set, that role in acme or acme-web.
func newUser(t *testing.T, env *testenv.Env, login string, siteAdmin bool, entRole, orgRole string, scopes ...string) string {
	t.Helper()
	ctx := context.Background()
	u := &usage.User{Login: login, SiteAdmin: siteAdmin, CreatedAt: time.Now()}
	if err := env.Store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if entRole != "" {
		if err := env.Store.SetEnterpriseRole(ctx, env.Data.Enterprise.ID, u.ID, entRole); err != nil {
			t.Fatal(err)
		}
	}
	if orgRole != "" {
		if err := env.Store.SetOrgRole(ctx, env.Data.Orgs[0].ID, u.ID, orgRole); err != nil {
			t.Fatal(err)
		}
	}
	return issueToken(t, env, &usage.Token{Type: usage.ActorClassicPAT, UserID: u.ID, Scopes: scopes, CreatedAt: time.Now()})
}

func TestServerStatsResponsesMatchContract(t *testing.T) {
	doc := loadContract(t)
	env := testenv.New(t)
	ds := seedTwoServers(t, env)
	cases := []struct{ op, path string }{
		{"enterprise-admin/get-server-statistics", "/enterprise-installation/acme/server-statistics"},
		{"enterprise-admin/get-server-statistics", "/api/v3/enterprise-installation/acme-web/server-statistics?date_start=" + ds[0] + "&date_end=" + ds[9]},
	}
	ops := map[string]string{"all": "get-all-stats", "comments": "get-comment-stats", "gists": "get-gist-stats", "hooks": "get-hooks-stats",
		"issues": "get-issue-stats", "milestones": "get-milestone-stats", "orgs": "get-org-stats", "pages": "get-pages-stats",
		"pulls": "get-pull-request-stats", "repos": "get-repo-stats", "security-products": "get-security-products", "users": "get-user-stats"}
	for _, typ := range serverstats.Types {
		cases = append(cases, struct{ op, path string }{"enterprise-admin/" + ops[typ], "/api/v3/enterprise/stats/" + typ},
			struct{ op, path string }{"enterprise-admin/" + ops[typ], "/enterprise/stats/" + typ + "?server_id=srv-2"})
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.op] = true
		resp, body := env.Get(t, c.path, env.AdminToken)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", c.path, resp.StatusCode, body)
		}
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("GET %s: body is not JSON: %v", c.path, err)
		}
		if err := responseSchema(t, doc, c.op).VisitJSON(v); err != nil {
			t.Fatalf("GET %s does not match the contract: %v\n%s", c.path, err, body)
		}
		if strings.Contains(body, `":0,`) && strings.Contains(c.path, "/stats/repos") {
			t.Fatalf("GET %s: zero counts; the test data should give some: %s", c.path, body)
		}
		if a, ok := v.([]any); ok && len(a) == 0 {
			t.Fatalf("GET %s: empty list", c.path)
		}
	}
	if len(seen) != 13 {
		t.Fatalf("%d operations checked, want 13", len(seen))
	}
}

// TestServerStatsGoGithubDecodes reads the routes with go-github v92:
// Admin.GetAdminStats for /enterprise/stats/all, and (go-github has no
// method for server-statistics) its client's NewRequest/Do into items
// whose ghe_stats is go-github's own AdminStats.
func TestServerStatsGoGithubDecodes(t *testing.T) {
	env := testenv.New(t)
	ds := seedTwoServers(t, env)
	gh, err := github.NewClient(github.WithAuthToken(env.AdminToken), github.WithEnterpriseURLs(env.URL, env.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, _, err := gh.Admin.GetAdminStats(ctx)
	if err != nil {
		t.Fatalf("GetAdminStats: %v", err)
	}
	// The latest day of srv-1 (n=9), srv-2 (n=109) and srv-web (n=7).
	if got, want := st.GetRepos().GetTotalRepos(), (50+9)+(50+109)+(50+7); got != want {
		t.Fatalf("GetAdminStats repos.total_repos = %d, want %d (summed over the servers' latest snapshots)", got, want)
	}
	if st.Users == nil || st.Comments == nil || st.Pages == nil || st.Milestones == nil || st.Hooks == nil || st.Gists == nil ||
		st.Orgs == nil || st.Pulls == nil || st.Issues == nil {
		t.Fatalf("GetAdminStats left groups empty: %v", st)
	}
	type item struct {
		ServerID       string             `json:"server_id"`
		CollectionDate github.Timestamp   `json:"collection_date"`
		GHESVersion    string             `json:"ghes_version"`
		GHEStats       *github.AdminStats `json:"ghe_stats"`
		DormantUsers   struct {
			Total int `json:"total_dormant_users"`
		} `json:"dormant_users"`
	}
	req, err := gh.NewRequest(ctx, "GET", "enterprise-installation/acme/server-statistics?date_start="+ds[5], nil)
	if err != nil {
		t.Fatal(err)
	}
	var items []item
	if _, err := gh.Do(req, &items); err != nil {
		t.Fatalf("server-statistics through go-github: %v", err)
	}
	if len(items) != 10 || items[0].ServerID != "srv-1" || items[1].ServerID != "srv-2" ||
		items[0].CollectionDate.Format("2006-01-02") != ds[5] || items[0].GHEStats.GetRepos().GetTotalRepos() != 55 {
		t.Fatalf("server-statistics from %s: %d items, first %+v", ds[5], len(items), items[0])
	}
	// Not a site administrator: 404, as GHES answers.
	member := newUser(t, env, "stats-member", false, usage.RoleOwner, usage.RoleAdmin, "read:enterprise", "admin:org")
	ghMember, err := github.NewClient(github.WithAuthToken(member), github.WithEnterpriseURLs(env.URL, env.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, resp, err := ghMember.Admin.GetAdminStats(ctx)
	var er *github.ErrorResponse
	if !errors.As(err, &er) || resp.StatusCode != 404 {
		t.Fatalf("GetAdminStats as an enterprise owner who is no site admin: %v, want 404", err)
	}
}

func TestServerStatsHistory(t *testing.T) {
	env := testenv.New(t)
	ds := seedTwoServers(t, env)
	get := func(path string) []serverstats.Snapshot {
		t.Helper()
		resp, body := env.Get(t, path, env.AdminToken)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		var items []serverstats.Snapshot
		if err := json.Unmarshal([]byte(body), &items); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(body, "security_products") {
			t.Fatalf("GET %s: the security-products extension leaked into server-statistics items", path)
		}
		// The stored items are written as they are: exactly what
		// encoding/json writes for the decoded items.
		if want, _ := json.Marshal(items); body != string(want)+"\n" {
			t.Fatalf("GET %s:\ngot  %.400s\nwant %.400s", path, body, want)
		}
		return items
	}
	base := "/enterprise-installation/acme/server-statistics"
	all := get(base)
	if len(all) != 20 {
		t.Fatalf("default window: %d items, want 20 (10 days of two servers)", len(all))
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.CollectionDate.After(b.CollectionDate) || (a.CollectionDate.Equal(b.CollectionDate) && a.ServerID >= b.ServerID) {
			t.Fatalf("items %d and %d out of order: %s %s, %s %s", i-1, i, a.ServerID, a.CollectionDate, b.ServerID, b.CollectionDate)
		}
	}
	// Inclusive bounds, as dates or as timestamps (their UTC day).
	if got := get(base + "?date_start=" + ds[2] + "&date_end=" + ds[4]); len(got) != 6 {
		t.Fatalf("days 2..4: %d items, want 6", len(got))
	}
	if got := get(base + "?date_start=" + ds[4] + "T12:00:00Z&date_end=" + ds[4] + "T00:00:00Z"); len(got) != 2 {
		t.Fatalf("one day by timestamps: %d items, want 2", len(got))
	}
	if got := get(base + "?date_end=" + ds[0]); len(got) != 2 {
		t.Fatalf("only date_end (the first day): %d items, want 2", len(got))
	}
	if got := get("/enterprise-installation/acme-web/server-statistics"); len(got) != 1 || got[0].ServerID != "srv-web" {
		t.Fatalf("acme-web: %+v, want its one server", got)
	}
	// Sections an upload did not give stay absent.
	mustUpload(t, env, "acme-data", `{"server_id":"srv-bare","collection_date":"`+ds[9]+`T10:00:00Z","ghe_stats":{"pages":{"total_pages":0}}}`)
	_, body := env.Get(t, "/enterprise-installation/acme-data/server-statistics", env.AdminToken)
	if want := `[{"server_id":"srv-bare","collection_date":"` + ds[9] + `T10:00:00Z","ghe_stats":{"pages":{"total_pages":0}}}]` + "\n"; body != want {
		t.Fatalf("bare snapshot:\ngot  %s\nwant %s", body, want)
	}
}

func TestServerStatsSameDayUploadKeepsOne(t *testing.T) {
	env := testenv.New(t)
	d := days(1)[0]
	if res := mustUpload(t, env, "acme", statsItem("srv-1", d, 1)); res != (serverstats.IngestResult{Received: 1, Recorded: 1}) {
		t.Fatalf("first upload: %+v", res)
	}
	second := strings.Replace(statsItem("srv-1", d, 5), "T23:59:59Z", "T08:00:00Z", 1)
	if res := mustUpload(t, env, "acme", second); res != (serverstats.IngestResult{Received: 1, Recorded: 1, Replaced: 1}) {
		t.Fatalf("second upload of the day: %+v, want one replaced", res)
	}
	// Twice in one upload: the last wins.
	if res := mustUpload(t, env, "acme", statsItem("srv-2", d, 1), statsItem("srv-2", d, 2)); res != (serverstats.IngestResult{Received: 2, Recorded: 1, Replaced: 1}) {
		t.Fatalf("one day twice in one upload: %+v", res)
	}
	_, body := env.Get(t, "/enterprise-installation/acme/server-statistics?date_start="+d, env.AdminToken)
	var items []serverstats.Snapshot
	json.Unmarshal([]byte(body), &items)
	if len(items) != 2 || items[0].ServerID != "srv-1" || items[0].GHEStats.Repos.TotalRepos != 55 || items[0].CollectionDate.Hour() != 8 ||
		items[1].GHEStats.Repos.TotalRepos != 52 {
		t.Fatalf("after same-day uploads: %s", body)
	}
	// /enterprise/stats answers the replacement too.
	_, body = env.Get(t, "/enterprise/stats/repos?server_id=srv-1", env.AdminToken)
	if !strings.Contains(body, `"total_repos":55`) {
		t.Fatalf("/enterprise/stats/repos of srv-1 = %s, want the second snapshot", body)
	}
}

func TestEnterpriseStatsSumsLatestSnapshots(t *testing.T) {
	env := testenv.New(t)
	// Before any snapshot: the sum over no servers.
	_, body := env.Get(t, "/enterprise/stats/pages", env.AdminToken)
	if body != `{"total_pages":0}`+"\n" {
		t.Fatalf("pages without servers = %s", body)
	}
	if _, body := env.Get(t, "/enterprise/stats/security-products", env.AdminToken); body != "{}\n" {
		t.Fatalf("security-products without servers = %s", body)
	}
	seedTwoServers(t, env)
	var all map[string]map[string]int
	_, body = env.Get(t, "/enterprise/stats/all", env.AdminToken)
	if err := json.Unmarshal([]byte(body), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 10 || all["security_products"] != nil {
		t.Fatalf("all has %d sections, want the ten ghe_stats groups: %s", len(all), body)
	}
	if got, want := all["users"]["total_users"], (120+9)+(120+109)+(120+7); got != want {
		t.Fatalf("all users.total_users = %d, want %d", got, want)
	}
	// Each section equals its part of all; server_id narrows to one server.
	for _, typ := range serverstats.Types {
		if typ == "all" || typ == "security-products" {
			continue
		}
		var sec map[string]int
		_, body := env.Get(t, "/enterprise/stats/"+typ, env.AdminToken)
		json.Unmarshal([]byte(body), &sec)
		if fmt.Sprint(sec) != fmt.Sprint(all[typ]) {
			t.Fatalf("/enterprise/stats/%s = %v, want all's %v", typ, sec, all[typ])
		}
	}
	_, body = env.Get(t, "/enterprise/stats/security-products?server_id=srv-2", env.AdminToken)
	if want := `{"total_repos":159,"nonarchived_repos":154,"secret_scanning_enabled_repos":9,"active_committers":134,"purchased_committers":100,"maximum_committers":80}` + "\n"; body != want {
		t.Fatalf("security-products of srv-2:\ngot  %s\nwant %s", body, want)
	}
	_, body = env.Get(t, "/enterprise/stats/security-products", env.AdminToken)
	if !strings.Contains(body, `"purchased_committers":300`) || strings.Contains(body, "code_scanning") {
		t.Fatalf("security-products summed = %s, want sums of what the servers gave and nothing else", body)
	}
	if resp, body := env.Get(t, "/enterprise/stats/all?server_id=no-such-server", env.AdminToken); resp.StatusCode != 404 {
		t.Fatalf("unknown server_id: %d %s, want 404", resp.StatusCode, body)
	}
}

func TestServerStatsAccess(t *testing.T) {
	env := testenv.New(t)
	seedTwoServers(t, env)
	ctx := context.Background()
	hist := "/enterprise-installation/acme/server-statistics"
	orgHist := "/enterprise-installation/acme-web/server-statistics"
	owner := newUser(t, env, "ent-owner", false, usage.RoleOwner, "", "read:enterprise")
	ownerNoScope := newUser(t, env, "ent-owner-2", false, usage.RoleOwner, "", "read:org", "repo")
	member := newUser(t, env, "ent-member", false, usage.RoleMember, "", "read:enterprise")
	outsider := newUser(t, env, "outsider", false, "", "", "read:enterprise", "read:org")
	orgOwner := newUser(t, env, "org-owner", false, "", usage.RoleAdmin, "read:org")
	orgOwnerNoScope := newUser(t, env, "org-owner-2", false, "", usage.RoleAdmin, "repo")
	admin := newUser(t, env, "site-admin-2", true, "", "", "read:enterprise")

	// A fine-grained token of an org owner with Administration (read), and one without.
	orgOwnerUser, _ := env.Store.UserByLogin(ctx, "org-owner")
	fgAdmin := issueToken(t, env, &usage.Token{Type: usage.ActorFineGrainedPAT, UserID: orgOwnerUser.ID, ResourceOwner: "acme-web",
		Permissions: map[string]string{"organization_administration": "read"}, CreatedAt: time.Now()})
	fgOther := issueToken(t, env, &usage.Token{Type: usage.ActorFineGrainedPAT, UserID: orgOwnerUser.ID, ResourceOwner: "acme-web",
		Permissions: map[string]string{"organization_api_insights": "read"}, CreatedAt: time.Now()})
	// The site administrator's fine-grained token: /enterprise/stats takes classic tokens only.
	adminUser, _ := env.Store.UserByLogin(ctx, "site-admin-2")
	fgSiteAdmin := issueToken(t, env, &usage.Token{Type: usage.ActorFineGrainedPAT, UserID: adminUser.ID, ResourceOwner: "acme",
		Permissions: map[string]string{"enterprise_administration": "read"}, CreatedAt: time.Now()})

	cases := []struct {
		name, path, token string
		status            int
		scopes            string
	}{
		{"enterprise owner with read:enterprise", hist, owner, 200, ""},
		{"enterprise owner without read:enterprise", hist, ownerNoScope, 403, "read:enterprise"},
		{"enterprise member, not an owner", hist, member, 403, ""},
		{"not in the enterprise", hist, outsider, 404, ""},
		{"unknown account", "/enterprise-installation/nobody/server-statistics", owner, 404, ""},
		{"no token", hist, "", 401, ""},
		{"org owner with read:org", orgHist, orgOwner, 200, ""},
		{"org owner without read:org", orgHist, orgOwnerNoScope, 403, "read:org"},
		{"org owner, fine-grained Administration read", orgHist, fgAdmin, 200, ""},
		{"org owner, fine-grained without Administration", orgHist, fgOther, 403, ""},
		{"org owner asking for the enterprise", hist, orgOwner, 404, ""},
		{"site administrator, not in the enterprise", hist, admin, 200, ""},
		{"stats/all: site administrator", "/enterprise/stats/all", admin, 200, ""},
		{"stats/all: enterprise owner, no site admin", "/enterprise/stats/all", owner, 404, ""},
		{"stats/all: member", "/api/v3/enterprise/stats/all", member, 404, ""},
		{"stats/users: site admin's fine-grained token", "/enterprise/stats/users", fgSiteAdmin, 404, ""},
		{"stats/repos: no token", "/enterprise/stats/repos", "", 401, ""},
	}
	for _, c := range cases {
		resp, body := env.Get(t, c.path, c.token)
		if resp.StatusCode != c.status {
			t.Errorf("%s: GET %s = %d %s, want %d", c.name, c.path, resp.StatusCode, body, c.status)
			continue
		}
		if c.scopes != "" && resp.Header.Get("X-Accepted-OAuth-Scopes") != c.scopes {
			t.Errorf("%s: X-Accepted-OAuth-Scopes = %q, want %q", c.name, resp.Header.Get("X-Accepted-OAuth-Scopes"), c.scopes)
		}
	}
	// Uploading needs ghusage:ingest.
	resp, body := env.Do(t, http.MethodPost, "/ghusage/v1/ingest/server-statistics?account=acme", owner, strings.NewReader(statsItem("x", days(1)[0], 1)))
	if resp.StatusCode != 403 || resp.Header.Get("X-Accepted-OAuth-Scopes") != "ghusage:ingest" {
		t.Fatalf("upload without ghusage:ingest: %d %s", resp.StatusCode, body)
	}
}

func TestServerStatsRejectsBadInput(t *testing.T) {
	env := testenv.New(t)
	base := "/enterprise-installation/acme/server-statistics?"
	today := days(1)[0]
	for _, c := range []struct{ query, field string }{
		{"date_start=yesterday", "date_start"},
		{"date_start=2026-02-30", "date_start"},
		{"date_end=2026-13-01", "date_end"},
		{"date_end=2026-01-01T25:00:00Z", "date_end"},
		{"date_start=2026-03-10&date_end=2026-03-01", "date_end"}, // reversed
		{"date_start=2025-01-01&date_end=2026-01-01", "date_end"}, // 366 days
		{"date_start=2024-01-01&date_end=2024-12-31", "date_end"}, // 366 days, a leap year
	} {
		resp, body := env.Get(t, base+c.query, env.AdminToken)
		wantFieldError(t, "GET ?"+c.query, resp, body, c.field)
	}
	if resp, body := env.Get(t, base+"date_start=2025-01-01&date_end=2025-12-31", env.AdminToken); resp.StatusCode != 200 {
		t.Fatalf("a 365-day window: %d %s", resp.StatusCode, body)
	}

	good := statsItem("srv-1", today, 1)
	for _, c := range []struct{ name, body, field string }{
		{"string count", strings.Replace(good, `"total_pages":5`, `"total_pages":"5"`, 1), "ghe_stats.pages.total_pages"},
		{"negative count", strings.Replace(good, `"total_hooks":3`, `"total_hooks":-3`, 1), "ghe_stats.hooks.total_hooks"},
		{"fractional count", strings.Replace(good, `"active_hooks":2`, `"active_hooks":2.5`, 1), "ghe_stats.hooks.active_hooks"},
		{"missing count", strings.Replace(good, `"total_wikis":3`, `"total_wiki":3`, 1), "ghe_stats.repos.total_wikis"},
		{"negative security figure", strings.Replace(good, `"purchased_committers":100`, `"purchased_committers":-1`, 1), "security_products.purchased_committers"},
		{"bad ecosystem", strings.Replace(good, `"name":"npm"`, `"name":"pip"`, 1), "packages_stats.ecosystems[0].name"},
		{"bad enabled", strings.Replace(good, `"enabled":"READONLY"`, `"enabled":"yes"`, 1), "packages_stats.ecosystems[1].enabled"},
		{"bad percentage", strings.Replace(good, `"41.5"`, `"lots"`, 1), "actions_stats.percentage_of_repos_using_actions"},
		{"percentage as a number", strings.Replace(good, `"41.5"`, `41.5`, 1), "actions_stats.percentage_of_repos_using_actions"},
		{"bad date", strings.Replace(good, today+"T23:59:59Z", "14/12/2021", 1), "collection_date"},
		{"future date", strings.Replace(good, today+"T23:59:59Z", "2999-01-01T00:00:00Z", 1), "collection_date"},
		{"no server id", strings.Replace(good, `"server_id":"srv-1"`, `"server_id":""`, 1), "server_id"},
		{"group not an object", strings.Replace(good, `"pages":{"total_pages":5}`, `"pages":[5]`, 1), "ghe_stats.pages"},
		{"second item bad", "[" + good + "," + strings.Replace(good, `"total_gists":21`, `"total_gists":true`, 1) + "]", "ghe_stats.gists.total_gists"},
		{"not an object", `[1]`, "body"},
		{"empty array", `[]`, "body"},
	} {
		resp, body := uploadStats(t, env, "acme", c.body)
		wantFieldError(t, c.name, resp, body, c.field)
	}
	resp, body := uploadStats(t, env, "", good)
	wantFieldError(t, "no account", resp, body, "account")
	resp, body = uploadStats(t, env, "no-such-account", good)
	wantFieldError(t, "unknown account", resp, body, "account")
	if resp, body := uploadStats(t, env, "acme", `{"server_id":`); resp.StatusCode != 400 || !strings.Contains(body, "Problems parsing JSON") {
		t.Fatalf("truncated JSON: %d %s, want 400", resp.StatusCode, body)
	}
	// Nothing of the rejected uploads was stored.
	if _, body := env.Get(t, "/enterprise-installation/acme/server-statistics", env.AdminToken); body != "[]\n" {
		t.Fatalf("after rejected uploads: %s", body)
	}
	// A server stays with its account.
	mustUpload(t, env, "acme", good)
	if resp, body := uploadStats(t, env, "acme-web", good); resp.StatusCode != 409 {
		t.Fatalf("the same server for another account: %d %s, want 409", resp.StatusCode, body)
	}
}

func wantFieldError(t *testing.T, what string, resp *http.Response, body, field string) {
	t.Helper()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("%s: %d %s, want 422", what, resp.StatusCode, body)
		return
	}
	var e struct {
		Errors []usage.FieldError `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Errors) == 0 || e.Errors[0].Field != field {
		t.Errorf("%s: %s does not name the field %s", what, body, field)
	}
}
