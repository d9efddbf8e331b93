package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-github/v92/github"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/copilot/copilotgen"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// copilotDays is how many days of activity copilotEnv ingests, ending yesterday.
const copilotDays = 10

type copilotFixture struct {
	env     *testenv.Env
	svc     *copilot.Service
	recs    []copilot.Record
	today   copilot.Day
	day     copilot.Day // yesterday: the newest report day
	members map[int64][]int64
}

// copilotEnv starts a server with copilotDays of generated activity for the
// demo users, ingested over HTTP, the reports built, and the policy
// enabled for acme.
func copilotEnv(t *testing.T) *copilotFixture {
	t.Helper()
	env := testenv.New(t)
	ctx := context.Background()
	svc := env.Server.API.Copilot
	if svc == nil {
		t.Fatal("the server has no Copilot service")
	}
	svc.Builder.Settle, svc.Builder.ShardRows = 0, 20
	if err := svc.SetPolicy(ctx, copilot.Scope{Enterprise: true, ID: env.Data.Enterprise.ID}, copilot.PolicyEnabled); err != nil {
		t.Fatal(err)
	}
	f := &copilotFixture{env: env, svc: svc, today: svc.Today(), members: map[int64][]int64{}}
	f.day = f.today - 1
	var repos []string
	for _, o := range env.Data.Orgs {
		rs, err := env.Store.ListRepositories(ctx, o.Login)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs[:min(3, len(rs))] {
			repos = append(repos, r.FullName())
		}
	}
	// A team of eight acme-web members, so user-teams files have lines
	// (teams of fewer than 5 active members are left out).
	pilots := &usage.Team{OrgID: env.Data.Orgs[0].ID, Slug: "copilot-pilots", Name: "Copilot pilots"}
	if err := env.Store.CreateTeam(ctx, pilots); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(env.Data.Users) && i < 8*3; i += 3 { // users 0, 3, ... are acme-web members
		if err := env.Store.AddTeamMember(ctx, pilots.ID, env.Data.Users[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for d := f.today - copilotDays; d < f.today; d++ {
		for i, u := range env.Data.Users {
			if (i+int(d))%4 == 0 {
				continue
			}
			f.recs = append(f.recs, copilotgen.Day(rng, u.ID, u.Login, d, copilotgen.Options{Adoption: float64(i%10) / 10, Repos: repos}))
		}
	}
	var body bytes.Buffer
	for i := range f.recs {
		line, err := f.recs[i].MarshalLine()
		if err != nil {
			t.Fatal(err)
		}
		body.Write(append(line, '\n'))
	}
	resp, out := env.Do(t, http.MethodPost, "/ghusage/v1/ingest/copilot-usage", env.AdminToken, &body)
	if resp.StatusCode != 200 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, out)
	}
	var res copilot.IngestResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Recorded != len(f.recs) {
		t.Fatalf("ingest answered %s, want %d recorded", out, len(f.recs))
	}
	if _, err := svc.Builder.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, u := range env.Data.Users {
		orgs, _, err := env.Store.Roles(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range env.Data.Orgs {
			if orgs[strings.ToLower(o.Login)] != "" {
				f.members[o.ID] = append(f.members[o.ID], u.ID)
			}
		}
	}
	return f
}

var copilotRoutes = []struct {
	op, path string
	oneDay   bool
}{
	{"copilot/copilot-enterprise-one-day-usage-metrics", "/enterprises/acme/copilot/metrics/reports/enterprise-1-day", true},
	{"copilot/copilot-enterprise-usage-metrics", "/enterprises/acme/copilot/metrics/reports/enterprise-28-day/latest", false},
	{"copilot/copilot-users-one-day-usage-metrics", "/enterprises/acme/copilot/metrics/reports/users-1-day", true},
	{"copilot/copilot-users-usage-metrics", "/enterprises/acme/copilot/metrics/reports/users-28-day/latest", false},
	{"copilot/copilot-enterprise-user-teams-one-day-report", "/enterprises/acme/copilot/metrics/reports/user-teams-1-day", true},
	{"copilot/copilot-enterprise-repos-one-day-report", "/enterprises/acme/copilot/metrics/reports/repos-1-day", true},
	{"copilot/copilot-organization-one-day-usage-metrics", "/orgs/acme-web/copilot/metrics/reports/organization-1-day", true},
	{"copilot/copilot-organization-usage-metrics", "/orgs/acme-web/copilot/metrics/reports/organization-28-day/latest", false},
	{"copilot/copilot-organization-users-one-day-usage-metrics", "/orgs/acme-web/copilot/metrics/reports/users-1-day", true},
	{"copilot/copilot-organization-users-usage-metrics", "/orgs/acme-web/copilot/metrics/reports/users-28-day/latest", false},
	{"copilot/copilot-organization-user-teams-one-day-report", "/orgs/acme-web/copilot/metrics/reports/user-teams-1-day", true},
	{"copilot/copilot-organization-repos-one-day-report", "/orgs/acme-web/copilot/metrics/reports/repos-1-day", true},
}

// reportPathSchema finds an operation's 200 schema by path, as operation ids
// of the contract's report routes are not all guessable.
func reportPathSchema(t *testing.T, doc *openapi3.T, path string) *openapi3.Schema {
	t.Helper()
	for p, item := range doc.Paths.Map() {
		re := strings.NewReplacer("{enterprise}", "acme", "{org}", "acme-web").Replace(p)
		if re == path && item.Get != nil {
			return item.Get.Responses.Value("200").Value.Content.Get("application/json").Schema.Value
		}
	}
	t.Fatalf("%s is not in the contract", path)
	return nil
}

// fileLines downloads a link without a token and splits its NDJSON.
func fileLines(t *testing.T, env *testenv.Env, link string) []map[string]any {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || !u.IsAbs() {
		t.Fatalf("download link %q is not absolute", link)
	}
	resp, body := env.Get(t, u.RequestURI(), "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("download %s: %d %q %.200s", link, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if !strings.HasSuffix(body, "\n") {
		t.Fatalf("file %s does not end with a newline", link)
	}
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s: line %.200q: %v", link, sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// wantFields checks that m has every key with the JSON type named: s
// string, i integer, n number, b boolean, B boolean or null, a array,
// o object, O object or absent.
func wantFields(t *testing.T, what string, m map[string]any, spec string) {
	t.Helper()
	for _, f := range strings.Fields(spec) {
		k, typ, _ := strings.Cut(f, ":")
		v, ok := m[k]
		if !ok {
			if typ == "O" {
				continue
			}
			t.Fatalf("%s lacks %s", what, k)
		}
		okType := false
		switch typ {
		case "s":
			_, okType = v.(string)
		case "i":
			n, isNum := v.(json.Number)
			_, err := n.Int64()
			okType = isNum && err == nil
		case "n":
			_, okType = v.(json.Number)
		case "b":
			_, okType = v.(bool)
		case "B":
			_, okType = v.(bool)
			okType = okType || v == nil
		case "a":
			_, okType = v.([]any)
		case "o", "O":
			_, okType = v.(map[string]any)
		}
		if !okType {
			t.Fatalf("%s: %s is %v (%T), want type %s", what, k, v, v, typ)
		}
	}
}

const (
	counterSpec   = "user_initiated_interaction_count:i code_generation_activity_count:i code_acceptance_activity_count:i loc_suggested_to_add_sum:i loc_suggested_to_delete_sum:i loc_added_sum:i loc_deleted_sum:i"
	breakdownSpec = "totals_by_ide:a totals_by_feature:a totals_by_language_feature:a totals_by_language_model:a totals_by_model_feature:a"
	userSpec      = "day:s enterprise_id:s user_id:i user_login:s " + counterSpec + " " + breakdownSpec +
		" used_agent:b used_chat:b used_cli:b used_copilot_coding_agent:b used_copilot_cloud_agent:b used_copilot_code_review_active:B used_copilot_code_review_passive:B ai_adoption_phase:o totals_by_cli:O"
	aggregateSpec = "day:s enterprise_id:s " + counterSpec + " " + breakdownSpec +
		" daily_active_users:i weekly_active_users:i monthly_active_users:i monthly_active_chat_users:i monthly_active_agent_users:i" +
		" daily_active_copilot_cloud_agent_users:i weekly_active_copilot_cloud_agent_users:i monthly_active_copilot_cloud_agent_users:i" +
		" daily_active_copilot_code_review_users:i weekly_active_copilot_code_review_users:i monthly_active_copilot_code_review_users:i" +
		" daily_passive_copilot_code_review_users:i weekly_passive_copilot_code_review_users:i monthly_passive_copilot_code_review_users:i pull_requests:o totals_by_cli:O"
	teamSpec = "user_id:i user_login:s day:s enterprise_id:s team_id:i slug:s"
	repoSpec = "day:s enterprise_id:s organization_id:s repo_id:i repo_owner_name:s repo_name:s repo_visibility:s pull_requests:o pull_request_review_times:a"
)

// TestCopilotReports runs the report cases in order on one server: the
// later ones change the policy, the signer's clock and a day's activity.
func TestCopilotReports(t *testing.T) {
	f := copilotEnv(t)
	t.Run("MatchContract", func(t *testing.T) { copilotReportsMatchContract(t, f) })
	t.Run("GoGithub", func(t *testing.T) { copilotGoGithubReports(t, f) })
	t.Run("Statuses", func(t *testing.T) { copilotReportStatuses(t, f) })
	t.Run("CorrectedDay", func(t *testing.T) { copilotCorrectedDay(t, f) })
	t.Run("DownloadLinks", func(t *testing.T) { copilotDownloadLinks(t, f) })
}

// copilotReportsMatchContract calls the twelve routes, validates each
// envelope against the contract and every record of every file kind
// against the research's fields and types.
func copilotReportsMatchContract(t *testing.T, f *copilotFixture) {
	doc := loadContract(t)
	env := f.env
	for _, rt := range copilotRoutes {
		path := rt.path
		if rt.oneDay {
			path += "?day=" + f.day.String()
		}
		resp, body := env.Get(t, path, env.AdminToken, "X-GitHub-Api-Version", "2026-03-10")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		if err := reportPathSchema(t, doc, rt.path).VisitJSON(v); err != nil {
			t.Fatalf("%s does not match the contract: %v\n%s", path, err, body)
		}
		var env1 struct {
			Links          []string `json:"download_links"`
			Day            string   `json:"report_day"`
			Start, EndDay  string
			ReportStartDay string `json:"report_start_day"`
			ReportEndDay   string `json:"report_end_day"`
		}
		json.Unmarshal([]byte(body), &env1)
		if len(env1.Links) == 0 {
			t.Fatalf("%s: no download links", path)
		}
		if rt.oneDay && env1.Day != f.day.String() || !rt.oneDay && (env1.ReportEndDay != f.day.String() || env1.ReportStartDay != copilot.WindowStart(f.day).String()) {
			t.Fatalf("%s: days %s", path, body)
		}
		org := strings.HasPrefix(rt.path, "/orgs/")
		var lines []map[string]any
		for _, l := range env1.Links {
			lines = append(lines, fileLines(t, env, l)...)
		}
		trimmed := strings.TrimSuffix(rt.path, "/latest")
		kind := trimmed[strings.LastIndex(trimmed, "/")+1:]
		for i, m := range lines {
			what := fmt.Sprintf("%s line %d", kind, i+1)
			switch {
			case strings.HasPrefix(kind, "users-1-day"):
				wantFields(t, what, m, userSpec)
			case strings.HasPrefix(kind, "users-28-day"):
				wantFields(t, what, m, userSpec+" report_start_day:s report_end_day:s")
			case kind == "user-teams-1-day":
				wantFields(t, what, m, teamSpec)
			case kind == "repos-1-day":
				wantFields(t, what, m, repoSpec)
				wantFields(t, what+" pull_requests", m["pull_requests"].(map[string]any),
					"total_created:i total_reviewed:i total_merged:i total_suggestions:i total_applied_suggestions:i copilot_suggestions_by_comment_type:a")
			case strings.HasSuffix(kind, "-28-day"):
				wantFields(t, what, m, "report_start_day:s report_end_day:s enterprise_id:s created_at:s day_totals:a")
				totals := m["day_totals"].([]any)
				if len(totals) != 28 {
					t.Fatalf("%s: %d day_totals", what, len(totals))
				}
				for j, e := range totals {
					wantFields(t, fmt.Sprintf("%s day_totals[%d]", what, j), e.(map[string]any), aggregateSpec)
				}
			default:
				wantFields(t, what, m, aggregateSpec)
			}
			if kind != "repos-1-day" {
				if _, has := m["organization_id"]; has != org {
					t.Fatalf("%s: organization_id present %v at %s scope", what, has, map[bool]string{true: "organization", false: "enterprise"}[org])
				}
			}
			if org && kind != "repos-1-day" {
				wantFields(t, what, m, "organization_id:s")
			}
		}
		if len(lines) == 0 {
			t.Fatalf("%s: the files hold no records", path)
		}
	}
}

func ghCopilot(t *testing.T, env *testenv.Env, token string) *github.CopilotService {
	return ghClient(t, env, token).Copilot
}

// copilotGoGithubReports reads every report through go-github v92 and
// its download helpers, and checks the numbers against what was ingested
// and against each other.
func copilotGoGithubReports(t *testing.T, f *copilotFixture) {
	env, ctx := f.env, context.Background()
	gh := ghCopilot(t, env, env.AdminToken)
	day := f.day.String()
	opt := &github.CopilotMetricsReportOptions{Day: day}
	ingested := map[int64]copilot.Record{}
	for _, r := range f.recs {
		if r.Day == f.day {
			ingested[r.UserID] = r
		}
	}
	distinct := map[int64]bool{}
	for _, org := range env.Data.Orgs {
		rep, _, err := gh.GetOrganizationDailyMetricsReport(ctx, org.Login, opt)
		if err != nil {
			t.Fatalf("%s: %v", org.Login, err)
		}
		agg, _, err := gh.DownloadDailyMetrics(ctx, rep.DownloadLinks[0])
		if err != nil {
			t.Fatalf("DownloadDailyMetrics: %v", err)
		}
		urep, _, err := gh.GetOrganizationUsersDailyMetricsReport(ctx, org.Login, opt)
		if err != nil {
			t.Fatal(err)
		}
		var users []*github.CopilotUserDailyMetrics
		for _, l := range urep.DownloadLinks {
			part, _, err := gh.DownloadUserDailyMetrics(ctx, l)
			if err != nil {
				t.Fatalf("DownloadUserDailyMetrics: %v", err)
			}
			users = append(users, part...)
		}
		// Who the organization's users are: its members with activity.
		want := 0
		var interactions, generations int
		for _, id := range f.members[org.ID] {
			if r, ok := ingested[id]; ok {
				want++
				interactions += int(r.Activity.UserInitiatedInteractionCount)
				generations += int(r.Activity.CodeGenerationActivityCount)
			}
		}
		if len(users) != want || agg.GetDailyActiveUsers() != want {
			t.Fatalf("%s: %d user lines, daily_active_users %d; %d members were active", org.Login, len(users), agg.GetDailyActiveUsers(), want)
		}
		var sumI, sumG int
		for _, u := range users {
			r := ingested[int64(u.UserID)]
			if u.GetUserInitiatedInteractionCount() != int(r.Activity.UserInitiatedInteractionCount) || u.UserLogin != r.UserLogin || u.Day != day {
				t.Fatalf("user %d's line %+v does not show the ingested numbers", u.UserID, u)
			}
			if u.GetOrganizationID() != strconv.FormatInt(org.ID, 10) || u.GetEnterpriseID() != strconv.FormatInt(env.Data.Enterprise.ID, 10) {
				t.Fatalf("ids %v %v", u.GetOrganizationID(), u.GetEnterpriseID())
			}
			sumI += u.GetUserInitiatedInteractionCount()
			sumG += u.GetCodeGenerationActivityCount()
			distinct[int64(u.UserID)] = true
		}
		if agg.GetUserInitiatedInteractionCount() != sumI || sumI != interactions || agg.GetCodeGenerationActivityCount() != sumG || sumG != generations {
			t.Fatalf("%s: aggregate %d/%d, users sum %d/%d, ingested %d/%d", org.Login, agg.GetUserInitiatedInteractionCount(),
				agg.GetCodeGenerationActivityCount(), sumI, sumG, interactions, generations)
		}
		rr, _, err := gh.GetOrganizationRepositoriesDailyMetricsReport(ctx, org.Login, opt)
		if err != nil || rr == nil {
			t.Fatalf("repos-1-day of %s: %v %v", org.Login, rr, err)
		}
		for _, l := range rr.DownloadLinks {
			repos, _, err := gh.DownloadRepositoryDailyMetrics(ctx, l)
			if err != nil {
				t.Fatalf("DownloadRepositoryDailyMetrics: %v", err)
			}
			for _, r := range repos {
				if r.RepoOwnerName != org.Login || r.RepoID == 0 || r.PullRequests == nil {
					t.Fatalf("repo line %+v", r)
				}
			}
		}
		tr, _, err := gh.GetOrganizationUserTeamsDailyMetricsReport(ctx, org.Login, opt)
		if err != nil {
			t.Fatal(err)
		}
		if tr != nil { // nil: 204, no team had 5 active members
			for _, l := range tr.DownloadLinks {
				if _, _, err := gh.DownloadUserTeamsDailyMetrics(ctx, l); err != nil {
					t.Fatalf("DownloadUserTeamsDailyMetrics: %v", err)
				}
			}
		}
	}
	// The enterprise counts each user once.
	erep, _, err := gh.GetEnterpriseDailyMetricsReport(ctx, "acme", opt)
	if err != nil {
		t.Fatal(err)
	}
	eagg, _, err := gh.DownloadDailyMetrics(ctx, erep.DownloadLinks[0])
	if err != nil {
		t.Fatal(err)
	}
	if eagg.GetDailyActiveUsers() != len(ingested) || len(distinct) != len(ingested) {
		t.Fatalf("enterprise daily_active_users %d; %d distinct users across organizations; %d ingested", eagg.GetDailyActiveUsers(), len(distinct), len(ingested))
	}
	eu, _, err := gh.GetEnterpriseUsersDailyMetricsReport(ctx, "acme", opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(eu.DownloadLinks) != (len(ingested)+19)/20 {
		t.Fatalf("%d users in %d files: want files of at most 20 lines", len(ingested), len(eu.DownloadLinks))
	}
	n := 0
	for _, l := range eu.DownloadLinks {
		part, _, err := gh.DownloadUserDailyMetrics(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		n += len(part)
	}
	if n != len(ingested) {
		t.Fatalf("enterprise users-1-day: %d lines, %d users active", n, len(ingested))
	}
	// 28 days: each day_totals entry is that day's 1-day aggregate.
	w, _, err := gh.GetEnterpriseMetricsReport(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	period, _, err := gh.DownloadPeriodicMetrics(ctx, w.DownloadLinks[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(period.DayTotals) != 28 || period.ReportEndDay != day {
		t.Fatalf("28-day report: %d days ending %s", len(period.DayTotals), period.ReportEndDay)
	}
	for i, dt := range period.DayTotals {
		d := copilot.WindowStart(f.day) + copilot.Day(i)
		if dt.Day != d.String() {
			t.Fatalf("day_totals[%d] is %s, want %s", i, dt.Day, d)
		}
		if d < f.today-copilotDays {
			if dt.GetDailyActiveUsers() != 0 {
				t.Fatalf("day %s before any activity has %d users", d, dt.GetDailyActiveUsers())
			}
			continue
		}
		one, _, err := gh.GetEnterpriseDailyMetricsReport(ctx, "acme", &github.CopilotMetricsReportOptions{Day: d.String()})
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		oneAgg, _, err := gh.DownloadDailyMetrics(ctx, one.DownloadLinks[0])
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(oneAgg)
		b, _ := json.Marshal(dt)
		if !bytes.Equal(a, b) {
			t.Fatalf("day_totals[%d] differs from the 1-day aggregate of %s:\n%s\n%s", i, d, b, a)
		}
	}
	uw, _, err := gh.GetEnterpriseUsersMetricsReport(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, l := range uw.DownloadLinks {
		part, _, err := gh.DownloadUserPeriodicMetrics(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range part {
			if p.ReportEndDay != day || p.Day == "" {
				t.Fatalf("users-28-day line %+v", p)
			}
		}
		total += len(part)
	}
	if total != len(f.recs) {
		t.Fatalf("users-28-day has %d lines, %d user-days were ingested", total, len(f.recs))
	}
}

// copilotReportStatuses covers access, policy, 204/404 and bad days.
func copilotReportStatuses(t *testing.T, f *copilotFixture) {
	env, ctx := f.env, context.Background()
	admin := env.AdminToken
	get := func(path, token string) (int, string) {
		t.Helper()
		resp, body := env.Get(t, path, token)
		return resp.StatusCode, body
	}
	const orgDay = "/orgs/acme-web/copilot/metrics/reports/organization-1-day"
	const entDay = "/enterprises/acme/copilot/metrics/reports/enterprise-1-day"
	for _, c := range []struct {
		path string
		want int
		has  string
	}{
		{orgDay, 422, `"day"`},
		{orgDay + "?day=", 422, `"day"`},
		{orgDay + "?day=2026-02-30", 422, `2026-02-30`},
		{orgDay + "?day=2026-2-3", 422, `"day"`},
		{orgDay + "?day=" + f.today.String(), 422, `"day"`},
		{orgDay + "?day=" + (f.today + 3).String(), 422, `"day"`},
		{entDay, 422, `"day"`},
		{entDay + "?day=yesterday", 422, `"day"`},
		{orgDay + "?day=" + (f.today - copilotDays - 1).String(), 204, ""},
		{"/orgs/acme-web/copilot/metrics/reports/repos-1-day?day=" + (f.today - copilotDays - 1).String(), 204, ""},
		{entDay + "?day=" + (f.today - copilotDays - 1).String(), 404, "No Copilot"},
		{"/enterprises/acme/copilot/metrics/reports/repos-1-day?day=" + (f.today - copilotDays - 1).String(), 204, ""},
		{entDay + "?day=" + (f.today - 400).String(), 404, ""},
		{"/orgs/nope/copilot/metrics/reports/organization-1-day?day=" + f.day.String(), 404, "Not Found"},
		{"/enterprises/nope/copilot/metrics/reports/enterprise-28-day/latest", 404, "Not Found"},
		{"/api/v3" + orgDay + "?day=" + f.day.String(), 200, "download_links"},
	} {
		if code, body := get(c.path, admin); code != c.want || !strings.Contains(body, c.has) || code == 204 && body != "" {
			t.Errorf("GET %s: %d %s, want %d containing %q", c.path, code, body, c.want, c.has)
		}
	}
	if code, _ := get(orgDay+"?day="+f.day.String(), ""); code != 401 {
		t.Errorf("without a token: %d, want 401", code)
	}
	// Policy: the enterprise's "disabled" closes both scopes; "unconfigured"
	// leaves it to organizations, whose default is disabled.
	ent := copilot.Scope{Enterprise: true, ID: env.Data.Enterprise.ID}
	for _, p := range []struct {
		ent, org  string
		entW, orW int
	}{{copilot.PolicyDisabled, "", 403, 403}, {copilot.PolicyUnconfigured, "", 403, 403},
		{copilot.PolicyUnconfigured, copilot.PolicyEnabled, 403, 200}, {copilot.PolicyEnabled, copilot.PolicyDisabled, 200, 200}} {
		if err := f.svc.SetPolicy(ctx, ent, p.ent); err != nil {
			t.Fatal(err)
		}
		if p.org != "" {
			if err := f.svc.SetPolicy(ctx, copilot.Scope{ID: env.Data.Orgs[0].ID}, p.org); err != nil {
				t.Fatal(err)
			}
		}
		if code, body := get(entDay+"?day="+f.day.String(), admin); code != p.entW {
			t.Errorf("enterprise %s/org %s: enterprise route %d %s, want %d", p.ent, p.org, code, body, p.entW)
		}
		if code, body := get(orgDay+"?day="+f.day.String(), admin); code != p.orW {
			t.Errorf("enterprise %s/org %s: org route %d %s, want %d", p.ent, p.org, code, body, p.orW)
		}
	}
	// Tokens.
	owner := env.Data.Users[0] // an owner of acme-web
	member := env.Data.Users[9]
	tok := func(tk *usage.Token) string { tk.CreatedAt = time.Now(); return issueToken(t, env, tk) }
	for _, c := range []struct {
		name string
		tk   *usage.Token
		path string
		want int
	}{
		{"classic read:org owner", &usage.Token{Type: usage.ActorClassicPAT, UserID: owner.ID, Scopes: []string{"read:org"}}, orgDay, 200},
		{"classic repo owner", &usage.Token{Type: usage.ActorClassicPAT, UserID: owner.ID, Scopes: []string{"repo"}}, orgDay, 403},
		{"classic read:org member", &usage.Token{Type: usage.ActorClassicPAT, UserID: member.ID, Scopes: []string{"read:org"}}, orgDay, 403},
		{"fine-grained org metrics owner", &usage.Token{Type: usage.ActorFineGrainedPAT, UserID: owner.ID, ResourceOwner: "acme-web",
			Permissions: map[string]string{"organization_copilot_metrics": "read"}}, orgDay, 200},
		{"fine-grained on the enterprise", &usage.Token{Type: usage.ActorFineGrainedPAT, UserID: env.Data.Admin.ID, ResourceOwner: "acme",
			Permissions: map[string]string{"enterprise_copilot_metrics": "read"}}, entDay, 403},
		{"classic read:org member on the enterprise", &usage.Token{Type: usage.ActorClassicPAT, UserID: member.ID, Scopes: []string{"read:enterprise"}}, entDay, 403},
	} {
		code, body := get(c.path+"?day="+f.day.String(), tok(c.tk))
		if code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
	}
}

// copilotDownloadLinks: a link works without a token, and answers 403
// once expired or with one character of its signature changed.
func copilotDownloadLinks(t *testing.T, f *copilotFixture) {
	env := f.env
	now := time.Now()
	env.Server.API.Signer.Now = func() time.Time { return now }
	_, body := env.Get(t, "/orgs/acme-data/copilot/metrics/reports/users-1-day?day="+f.day.String(), env.AdminToken)
	var e struct {
		Links []string `json:"download_links"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Links) == 0 {
		t.Fatalf("envelope %s", body)
	}
	u, _ := url.Parse(e.Links[0])
	if !strings.HasPrefix(e.Links[0], env.URL+"/ghusage/v1/files/copilot/") {
		t.Fatalf("link %s is not an absolute link on the server", e.Links[0])
	}
	if resp, _ := env.Get(t, u.RequestURI(), ""); resp.StatusCode != 200 {
		t.Fatalf("link without a token: %d", resp.StatusCode)
	}
	sig := u.Query().Get("signature")
	for i := range []int{0, len(sig) / 2, len(sig) - 1} {
		pos := []int{0, len(sig) / 2, len(sig) - 1}[i]
		c := byte('a')
		if sig[pos] == 'a' {
			c = 'b'
		}
		q := u.Query()
		q.Set("signature", sig[:pos]+string(c)+sig[pos+1:])
		if resp, _ := env.Get(t, u.Path+"?"+q.Encode(), ""); resp.StatusCode != 403 {
			t.Fatalf("signature changed at %d: %d, want 403", pos, resp.StatusCode)
		}
	}
	now = now.Add(2 * time.Hour)
	if resp, _ := env.Get(t, u.RequestURI(), ""); resp.StatusCode != 403 {
		t.Fatalf("expired link: %d, want 403", resp.StatusCode)
	}
}

// copilotCorrectedDay: a day corrected after its report was built
// shows the correction in the next envelope's files.
func copilotCorrectedDay(t *testing.T, f *copilotFixture) {
	env, ctx := f.env, context.Background()
	gh := ghCopilot(t, env, env.AdminToken)
	var target copilot.Record
	for _, r := range f.recs {
		if r.Day == f.day-2 {
			target = r
			break
		}
	}
	target.Activity.UserInitiatedInteractionCount += 1000
	target.Activity.TotalsByIDE[0].UserInitiatedInteractionCount += 1000
	line, _ := target.MarshalLine()
	if resp, out := env.Do(t, http.MethodPost, "/ghusage/v1/ingest/copilot-usage", env.AdminToken, bytes.NewReader(line)); resp.StatusCode != 200 || !strings.Contains(out, `"replaced":1`) {
		t.Fatalf("correction: %d %s", resp.StatusCode, out)
	}
	if _, err := f.svc.Builder.Run(ctx); err != nil {
		t.Fatal(err)
	}
	rep, _, err := gh.GetEnterpriseUsersDailyMetricsReport(ctx, "acme", &github.CopilotMetricsReportOptions{Day: (f.day - 2).String()})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range rep.DownloadLinks {
		users, _, err := gh.DownloadUserDailyMetrics(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if int64(u.UserID) == target.UserID {
				found = u.GetUserInitiatedInteractionCount() == int(target.Activity.UserInitiatedInteractionCount)
			}
		}
	}
	if !found {
		t.Fatal("the corrected line is not in the next envelope's files")
	}
	w, _, err := gh.GetEnterpriseMetricsReport(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := gh.DownloadPeriodicMetrics(ctx, w.DownloadLinks[0])
	if err != nil {
		t.Fatal(err)
	}
	if p.DayTotals[copilot.WindowDays-3].GetUserInitiatedInteractionCount() < 1000 {
		t.Fatal("the 28-day report does not show the correction")
	}
}

// TestCopilotIngestErrors: malformed NDJSON and bad lines are a 422 naming
// line and field, and nothing of the batch is recorded.
func TestCopilotIngestErrors(t *testing.T) {
	env := testenv.New(t)
	u := env.Data.Users[0]
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	good := fmt.Sprintf(`{"day":%q,"user_id":%d,"user_login":%q,"user_initiated_interaction_count":1}`, yesterday, u.ID, u.Login)
	post := func(body string) (int, string) {
		resp, out := env.Do(t, http.MethodPost, "/ghusage/v1/ingest/copilot-usage", env.AdminToken, strings.NewReader(body))
		return resp.StatusCode, out
	}
	for _, c := range []struct{ body, want string }{
		{good + "\n{not json\n", "line 2"},
		{good + "\n" + strings.Replace(good, `"user_id":`, `"user_id":"x`, 1), "line 2"},
		{strings.Replace(good, `"user_initiated_interaction_count":1`, `"user_initiated_interaction_count":"many"`, 1), "user_initiated_interaction_count"},
		{strings.Replace(good, yesterday, "2026-02-30", 1), "line 1: day"},
		{strings.Replace(good, yesterday, "2999-01-01", 1), "future"},
		{strings.Replace(good, `"user_id"`, `"userid"`, 1), "userid"},
		{strings.Replace(good, u.Login, "someone-else", 1), "user_login"},
		{strings.Replace(good, fmt.Sprintf(`"user_id":%d`, u.ID), `"user_id":999999`, 1), "user_id"},
		{strings.Replace(good, `}`, `,"pull_requests_by_repo":[{"repo":"acme-web/nope"}]}`, 1), "pull_requests_by_repo[0].repo"},
		{strings.Replace(good, `}`, `,"ai_adoption_phase":{"phase_number":2,"phase":"Phase 1"}}`, 1), "ai_adoption_phase"},
	} {
		code, out := post(c.body)
		if code != 422 || !strings.Contains(out, c.want) {
			t.Errorf("%.80s: %d %s, want 422 naming %q", c.body, code, out, c.want)
		}
	}
	if code, out := post(good + "\n" + good + "\n"); code != 200 || !strings.Contains(out, `"recorded":1`) {
		t.Fatalf("good batch: %d %s", code, out)
	}
	if code, out := post(good); code != 200 || !strings.Contains(out, `"unchanged":1`) {
		t.Fatalf("re-sent batch: %d %s", code, out)
	}
	tk := &usage.Token{Type: usage.ActorClassicPAT, UserID: u.ID, Scopes: []string{"read:org"}, CreatedAt: time.Now()}
	resp, _ := env.Do(t, http.MethodPost, "/ghusage/v1/ingest/copilot-usage", issueToken(t, env, tk), strings.NewReader(good))
	if resp.StatusCode != 403 {
		t.Fatalf("ingest without ghusage:ingest: %d", resp.StatusCode)
	}
}
