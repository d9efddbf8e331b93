package ui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// seedCopilot writes the demo's Copilot activity and seats and builds the
// reports, as the report job would.
func seedCopilot(t testing.TB, env *testenv.Env, now time.Time) {
	t.Helper()
	if err := demo.SeedCopilot(t.Context(), env.Store, env.Store, env.Data, 1, now); err != nil {
		t.Fatal(err)
	}
	svc := env.Server.API.Copilot
	svc.Builder.Settle = 0
	if _, err := svc.Builder.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestCopilotView: the newest day's active users equal the aggregate the
// report route links to for that day; the trend has a point per day with a
// report; the licence counts equal the seat API's; a member sees nothing.
func TestCopilotView(t *testing.T) {
	env := testenv.New(t)
	now := time.Now()
	seedCopilot(t, env, now)
	c := newClient(t, env)
	c.signIn(env.AdminToken)
	if _, page := c.get("/ui/copilot"); !strings.Contains(page, `href="/ui/copilot/enterprise/acme"`) {
		t.Fatal("the Copilot index does not list acme")
	}
	from60 := now.UTC().AddDate(0, 0, -60).Format("2006-01-02")
	resp, page := c.get("/ui/copilot/enterprise/acme?from=" + from60 + "&to=" + now.UTC().AddDate(0, 0, -1).Format("2006-01-02"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("acme: %d %.300s", resp.StatusCode, page)
	}
	yesterday := now.UTC().AddDate(0, 0, -1).Format("2006-01-02")
	var links struct {
		Links []string `json:"download_links"`
	}
	_, body := env.Get(t, "/enterprises/acme/copilot/metrics/reports/enterprise-1-day?day="+yesterday, env.AdminToken)
	if err := json.Unmarshal([]byte(body), &links); err != nil || len(links.Links) == 0 {
		t.Fatalf("enterprise-1-day for %s: %s", yesterday, body)
	}
	fr, err := http.Get(links.Links[0])
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(fr.Body)
	fr.Body.Close()
	var agg struct {
		DAU int64 `json:"daily_active_users"`
		WAU int64 `json:"weekly_active_users"`
		MAU int64 `json:"monthly_active_users"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(string(raw), "\n", 2)[0]), &agg); err != nil {
		t.Fatalf("the day's aggregate file: %v: %.200s", err, raw)
	}
	for id, want := range map[string]int64{"dau": agg.DAU, "wau": agg.WAU, "mau": agg.MAU} {
		if !strings.Contains(page, `id="`+id+`">`+grouped(want)+`<`) {
			t.Errorf("the %s tile does not show %d, the aggregate's", id, want)
		}
	}
	if agg.DAU == 0 {
		t.Error("the demo's last day has no active user; the test checks nothing")
	}
	if n := strings.Count(page, `data-series="Daily active"`); n < 50 {
		t.Errorf("%d daily-active points over 60 days", n)
	}
	if len(table(t, page, "languages-table")) < 2 || len(table(t, page, "ides-table")) < 2 || len(table(t, page, "models-table")) < 2 {
		t.Error("languages, IDEs or models tables are nearly empty")
	}

	// Seats: never used and inactive for 7 days, from the seat API.
	var seats struct {
		Total int `json:"total_seats"`
		Seats []struct {
			Last *string `json:"last_activity_at"`
		} `json:"seats"`
	}
	_, body = env.Get(t, "/enterprises/acme/copilot/billing/seats?per_page=100", env.AdminToken)
	if err := json.Unmarshal([]byte(body), &seats); err != nil {
		t.Fatal(err)
	}
	never, idle := 0, 0
	for _, s := range seats.Seats {
		if s.Last == nil {
			never++
			continue
		}
		if at, err := time.Parse(time.RFC3339, *s.Last); err == nil && now.Sub(at) > 7*24*time.Hour {
			idle++
		}
	}
	if seats.Total == 0 || seats.Total > 100 {
		t.Fatalf("%d seats: the test reads one page", seats.Total)
	}
	for id, want := range map[string]int{"seats-total": seats.Total, "never-used": never, "inactive": idle} {
		if !strings.Contains(page, `id="`+id+`">`+grouped(int64(want))+`<`) {
			t.Errorf("%s: the page does not show %d, the seat API's", id, want)
		}
	}

	// A member of the enterprise, not an owner: nothing, as the API.
	member := env.Data.Users[len(env.Data.Users)-1]
	secret, err := demo.IssueToken(t.Context(), env.Store, &usage.Token{Type: usage.ActorClassicPAT, UserID: member.ID,
		Scopes: []string{"manage_billing:copilot", "read:enterprise", "read:org"}, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	m := newClient(t, env)
	m.signIn(secret)
	if _, page := m.get("/ui/copilot"); strings.Contains(page, "/ui/copilot/enterprise/acme") {
		t.Error("a member sees acme on the Copilot index")
	}
	if resp, _ := m.get("/ui/copilot/enterprise/acme"); resp.StatusCode == http.StatusOK {
		t.Errorf("a member opens acme's Copilot page: %d", resp.StatusCode)
	}
}

// dayAggregate fetches a day's aggregate the way an API client does: the
// 1-day report route, then its download link; ok is false for a day
// without a report.
func dayAggregate(t *testing.T, env *testenv.Env, day string, v any) bool {
	t.Helper()
	resp, body := env.Get(t, "/enterprises/acme/copilot/metrics/reports/enterprise-1-day?day="+day, env.AdminToken)
	if resp.StatusCode == http.StatusNotFound {
		return false
	}
	var links struct {
		Links []string `json:"download_links"`
	}
	if err := json.Unmarshal([]byte(body), &links); err != nil || resp.StatusCode != 200 {
		t.Fatalf("enterprise-1-day for %s: %d %s", day, resp.StatusCode, body)
	}
	if len(links.Links) == 0 {
		return false
	}
	fr, err := http.Get(links.Links[0])
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(fr.Body)
	fr.Body.Close()
	if err := json.Unmarshal([]byte(strings.SplitN(string(raw), "\n", 2)[0]), v); err != nil {
		t.Fatalf("the aggregate file of %s: %v: %.200s", day, err, raw)
	}
	return true
}

// TestCopilotRange: a range beyond 28 days (90 days, longer than the
// demo's 60 days of activity) counts the days with a report and sums the
// range's code generations, acceptances, chat interactions and CLI
// sessions exactly as the API's daily aggregates add up; its charts have
// a point per reported day; a bad or too-wide range is a 422 naming the
// parameter.
func TestCopilotRange(t *testing.T) {
	env := testenv.New(t)
	now := time.Now().UTC()
	seedCopilot(t, env, now)
	c := newClient(t, env)
	c.signIn(env.AdminToken)
	to := now.AddDate(0, 0, -1)
	from := to.AddDate(0, 0, -89)
	resp, page := c.get("/ui/copilot/enterprise/acme?from=" + from.Format("2006-01-02") + "&to=" + to.Format("2006-01-02"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("90 days: %d %.300s", resp.StatusCode, page)
	}
	var days int
	var gen, acc, uii, cli int64
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		var a struct {
			Gen int64 `json:"code_generation_activity_count"`
			Acc int64 `json:"code_acceptance_activity_count"`
			UII int64 `json:"user_initiated_interaction_count"`
			CLI *struct {
				Sessions int64 `json:"session_count"`
			} `json:"totals_by_cli"`
		}
		if !dayAggregate(t, env, d.Format("2006-01-02"), &a) {
			continue
		}
		days++
		gen, acc, uii = gen+a.Gen, acc+a.Acc, uii+a.UII
		if a.CLI != nil {
			cli += a.CLI.Sessions
		}
	}
	if days < 28 || days > 90 {
		t.Fatalf("the API has %d daily reports in 90 days; the demo has %d days of activity", days, demo.CopilotDays)
	}
	for id, want := range map[string]int64{"report-days": int64(days), "generations": gen, "acceptances": acc, "interactions": uii, "cli-sessions": cli} {
		if !strings.Contains(page, `id="`+id+`">`+grouped(want)+`<`) {
			t.Errorf("%s: the page does not show %d, the sum of the API's daily aggregates", id, want)
		}
	}
	if gen == 0 || cli == 0 {
		t.Errorf("the demo's range has %d generations and %d CLI sessions; the test checks little", gen, cli)
	}
	for _, series := range []string{"Daily active", "Daily CLI users", "Code generations"} {
		if n := strings.Count(page, `data-series="`+series+`"`); n != days {
			t.Errorf("%d %q points, want one per reported day (%d)", n, series, days)
		}
	}
	if len(table(t, page, "features-table")) < 2 {
		t.Error("the features table is nearly empty")
	}

	today := now.Format("2006-01-02")
	for q, field := range map[string]string{
		"from=" + to.AddDate(0, 0, -366).Format("2006-01-02") + "&to=" + to.Format("2006-01-02"): "from", // 367 days
		"from=2026-02-30": "from",
		"to=" + today:     "to",
		"from=" + to.Format("2006-01-02") + "&to=" + from.Format("2006-01-02"): "from",
		"to=yesterday": "to",
	} {
		resp, page := c.get("/ui/copilot/enterprise/acme?" + q)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, field+":") {
			t.Errorf("%s: %d, want 422 naming %s: %.300s", q, resp.StatusCode, field, page)
		}
	}
	// 366 days is allowed.
	if resp, _ := c.get("/ui/copilot/enterprise/acme?from=" + to.AddDate(0, 0, -365).Format("2006-01-02") + "&to=" + to.Format("2006-01-02")); resp.StatusCode != http.StatusOK {
		t.Errorf("366 days: %d", resp.StatusCode)
	}
}
