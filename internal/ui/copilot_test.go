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
func seedCopilot(t *testing.T, env *testenv.Env, now time.Time) {
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
	resp, page := c.get("/ui/copilot/enterprise/acme?days=60")
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
