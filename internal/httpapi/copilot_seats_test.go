package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

func loadSeatsContract(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(filepath.Dir(contractPath(t)), "copilot-seats-and-teams-subset.openapi.json"))
	if err != nil {
		t.Fatalf("loading the seats contract: %v", err)
	}
	return doc
}

// checkResponse validates a response body against the contract's schema
// for its method, path template and status.
func checkResponse(t *testing.T, doc *openapi3.T, method, template string, status int, body string) {
	t.Helper()
	item := doc.Paths.Find(template)
	if item == nil {
		t.Fatalf("%s is not in the contract", template)
	}
	op := item.GetOperation(method)
	resp := op.Responses.Status(status)
	if resp == nil {
		t.Fatalf("%s %s: status %d is not in the contract", method, template, status)
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil {
		return
	}
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%s %s: %v", method, template, err)
	}
	if err := mt.Schema.Value.VisitJSON(v); err != nil {
		t.Fatalf("%s %s (%d) does not match the contract: %v\n%.600s", method, template, status, err, body)
	}
}

// TestCopilotSeats drives GitHub's seat API through go-github v92 and
// validates every seat and team response against its contract.
func TestCopilotSeats(t *testing.T) {
	doc := loadSeatsContract(t)
	env := testenv.New(t)
	ctx := context.Background()
	gh := ghCopilot(t, env, env.AdminToken)
	users := env.Data.Users // users 0, 3, 6, ... are acme-web members; 0..5 own their home org
	check := func(method, template, path string, status int, body string) {
		t.Helper()
		resp, out := env.Do(t, method, path, env.AdminToken, strings.NewReader(body))
		if resp.StatusCode != status {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out, status)
		}
		checkResponse(t, doc, method, template, status, out)
	}

	add, _, err := gh.AddCopilotUsers(ctx, "acme-web", []string{users[3].Login, users[6].Login})
	if err != nil || add.SeatsCreated != 2 {
		t.Fatalf("AddCopilotUsers: %+v %v", add, err)
	}
	if again, _, _ := gh.AddCopilotUsers(ctx, "acme-web", []string{users[3].Login}); again.SeatsCreated != 0 {
		t.Fatalf("a seat added twice created %d", again.SeatsCreated)
	}
	teams, err := env.Store.ListTeams(ctx, env.Data.Orgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	platform := teams[0]
	members, _ := env.Server.API.Copilot.Store.CopilotTeamMembers(ctx, platform.ID)
	tadd, _, err := gh.AddCopilotTeams(ctx, "acme-web", []string{platform.Slug})
	if err != nil || tadd.SeatsCreated != len(members) {
		t.Fatalf("AddCopilotTeams: %+v %v; the team has %d members", tadd, err, len(members))
	}
	// Activity gives a seat its last activity.
	at := time.Now().UTC().Add(-26 * time.Hour).Truncate(time.Second)
	rec := copilot.Record{Day: copilot.DayOf(at), UserID: users[3].ID, UserLogin: users[3].Login}
	sampled := at.Format(time.RFC3339)
	rec.Activity.TotalsByIDE = []copilot.IDETotals{{IDE: "vscode", LastKnownIDEVersion: &copilot.IDEVersion{IDEVersion: "1.104.2", SampledAt: &sampled},
		LastKnownPluginVersion: &copilot.PluginVersion{Plugin: "copilot-chat", PluginVersion: "0.31.4", SampledAt: &sampled}}}
	line, _ := rec.MarshalLine()
	if resp, out := env.Do(t, http.MethodPost, "/ghusage/v1/ingest/copilot-usage", env.AdminToken, bytes.NewReader(line)); resp.StatusCode != 200 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, out)
	}

	list, _, err := gh.ListCopilotSeats(ctx, "acme-web", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := 2 + len(members)
	for _, m := range members {
		if m == users[3].ID || m == users[6].ID {
			want--
		}
	}
	if int(list.TotalSeats) != want || len(list.Seats) != want {
		t.Fatalf("ListCopilotSeats: %d seats (%d listed), want %d", list.TotalSeats, len(list.Seats), want)
	}
	viaTeam := 0
	for _, s := range list.Seats {
		u, ok := s.GetUser()
		if !ok {
			t.Fatalf("seat assignee %T", s.Assignee)
		}
		if s.AssigningTeam != nil {
			viaTeam++
			if s.AssigningTeam.GetSlug() != platform.Slug {
				t.Fatalf("assigning team %v", s.AssigningTeam.GetSlug())
			}
		}
		if u.GetLogin() == users[3].Login && (s.LastActivityAt == nil || !s.LastActivityAt.Time.Equal(at) || s.GetLastActivityEditor() != "vscode/1.104.2/copilot-chat/0.31.4") {
			t.Fatalf("last activity of %s: %v %q", u.GetLogin(), s.LastActivityAt, s.GetLastActivityEditor())
		}
	}
	if viaTeam == 0 {
		t.Fatal("no seat names its assigning team")
	}
	check("GET", "/orgs/{org}/copilot/billing/seats", "/orgs/acme-web/copilot/billing/seats", 200, "")
	check("GET", "/orgs/{org}/copilot/billing/seats", "/orgs/acme-web/copilot/billing/seats?per_page=1&page=2", 200, "")
	seat, _, err := gh.GetSeatDetails(ctx, "acme-web", users[3].Login)
	if err != nil || seat.GetLastActivityEditor() == "" {
		t.Fatalf("GetSeatDetails: %+v %v", seat, err)
	}
	check("GET", "/orgs/{org}/members/{username}/copilot", "/orgs/acme-web/members/"+users[3].Login+"/copilot", 200, "")
	if resp, _ := env.Get(t, "/orgs/acme-web/members/"+users[1].Login+"/copilot", env.AdminToken); resp.StatusCode != 404 {
		t.Fatalf("seat of a user without one: %d", resp.StatusCode)
	}
	billing, _, err := gh.GetCopilotBilling(ctx, "acme-web")
	if err != nil || billing.SeatBreakdown.Total != want || billing.SeatBreakdown.ActiveThisCycle > 1 || billing.SeatBreakdown.AddedThisCycle != want {
		t.Fatalf("GetCopilotBilling: %+v %v", billing.SeatBreakdown, err)
	}
	check("GET", "/orgs/{org}/copilot/billing", "/orgs/acme-web/copilot/billing", 200, "")

	// Cancelling: direct seats by user, team seats by team.
	var teamOnly string
	for _, m := range members {
		if m != users[3].ID && m != users[6].ID {
			u, _ := env.Store.UserByID(ctx, m)
			teamOnly = u.Login
			break
		}
	}
	if _, resp, err := gh.RemoveCopilotUsers(ctx, "acme-web", []string{teamOnly}); err == nil || resp.StatusCode != 422 {
		t.Fatalf("cancelling a team seat as a user's: %v", err)
	}
	rm, _, err := gh.RemoveCopilotUsers(ctx, "acme-web", []string{users[6].Login})
	if err != nil || rm.SeatsCancelled != 1 {
		t.Fatalf("RemoveCopilotUsers: %+v %v", rm, err)
	}
	seat, _, _ = gh.GetSeatDetails(ctx, "acme-web", users[6].Login)
	next := copilot.CycleStart(time.Now()).AddDate(0, 1, 0).Format(time.DateOnly)
	if seat.GetPendingCancellationDate() != next {
		t.Fatalf("pending cancellation %q, want %s (the next billing cycle)", seat.GetPendingCancellationDate(), next)
	}
	trm, _, err := gh.RemoveCopilotTeams(ctx, "acme-web", []string{platform.Slug})
	if err != nil || trm.SeatsCancelled == 0 {
		t.Fatalf("RemoveCopilotTeams: %+v %v", trm, err)
	}
	check("POST", "/orgs/{org}/copilot/billing/selected_users", "/orgs/acme-web/copilot/billing/selected_users", 201, `{"selected_usernames":["`+users[9].Login+`"]}`)
	check("DELETE", "/orgs/{org}/copilot/billing/selected_users", "/orgs/acme-web/copilot/billing/selected_users", 200, `{"selected_usernames":["`+users[9].Login+`"]}`)
	check("POST", "/orgs/{org}/copilot/billing/selected_teams", "/orgs/acme-web/copilot/billing/selected_teams", 201, `{"selected_teams":["`+teams[1].Slug+`"]}`)
	check("DELETE", "/orgs/{org}/copilot/billing/selected_teams", "/orgs/acme-web/copilot/billing/selected_teams", 200, `{"selected_teams":["`+teams[1].Slug+`"]}`)
	for _, bad := range []struct{ path, body string }{
		{"/orgs/acme-web/copilot/billing/selected_users", `{"selected_usernames":["` + users[1].Login + `"]}`}, // acme-data's
		{"/orgs/acme-web/copilot/billing/selected_users", `{"selected_usernames":[]}`},
		{"/orgs/acme-web/copilot/billing/selected_users", `{"users":["x"]}`},
		{"/orgs/acme-web/copilot/billing/selected_teams", `{"selected_teams":["no-such-team"]}`},
		{"/enterprises/acme/copilot/billing/selected_enterprise_teams", `{"selected_enterprise_teams":["engteam1"]}`},
	} {
		if resp, out := env.Do(t, http.MethodPost, bad.path, env.AdminToken, strings.NewReader(bad.body)); resp.StatusCode != 422 {
			t.Errorf("POST %s %s: %d %s, want 422", bad.path, bad.body, resp.StatusCode, out)
		}
	}

	// The enterprise.
	check("POST", "/enterprises/{enterprise}/copilot/billing/selected_users", "/enterprises/acme/copilot/billing/selected_users", 201, `{"selected_usernames":["`+users[1].Login+`"]}`)
	eseats, _, err := gh.ListCopilotEnterpriseSeats(ctx, "acme", nil)
	if err != nil || eseats.TotalSeats < 2 {
		t.Fatalf("ListCopilotEnterpriseSeats: %+v %v", eseats, err)
	}
	check("GET", "/enterprises/{enterprise}/copilot/billing/seats", "/enterprises/acme/copilot/billing/seats", 200, "")
	check("GET", "/enterprises/{enterprise}/members/{username}/copilot", "/enterprises/acme/members/"+users[1].Login+"/copilot", 200, "")
	check("DELETE", "/enterprises/{enterprise}/copilot/billing/selected_users", "/enterprises/acme/copilot/billing/selected_users", 200, `{"selected_usernames":["`+users[1].Login+`"]}`)

	// Team reads.
	check("GET", "/orgs/{org}/teams", "/orgs/acme-web/teams", 200, "")
	check("GET", "/orgs/{org}/teams/{team_slug}", "/orgs/acme-web/teams/"+platform.Slug, 200, "")
	check("GET", "/orgs/{org}/teams/{team_slug}/members", "/orgs/acme-web/teams/"+platform.Slug+"/members", 200, "")
	m0, _ := env.Store.UserByID(ctx, members[0])
	check("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", "/orgs/acme-web/teams/"+platform.Slug+"/memberships/"+m0.Login, 200, "")
	if resp, _ := env.Get(t, "/orgs/acme-web/teams/"+platform.Slug+"/memberships/"+users[1].Login, env.AdminToken); resp.StatusCode != 404 {
		t.Fatalf("membership of a non-member: %d", resp.StatusCode)
	}
	if resp, _ := env.Get(t, "/orgs/acme-web/teams/nope", env.AdminToken); resp.StatusCode != 404 {
		t.Fatalf("unknown team: %d", resp.StatusCode)
	}
	_, tm, err := ghClient(t, env, env.AdminToken).Teams.ListTeams(ctx, "acme-web", nil)
	if err != nil || tm.StatusCode != 200 {
		t.Fatalf("go-github ListTeams: %v", err)
	}

	// Access: a member who is not an owner may read teams, not seats.
	member := users[9]
	tok := issueToken(t, env, &usage.Token{Type: usage.ActorClassicPAT, UserID: member.ID, Scopes: []string{"read:org"}, CreatedAt: time.Now()})
	if resp, _ := env.Get(t, "/orgs/acme-web/copilot/billing/seats", tok); resp.StatusCode != 403 {
		t.Fatalf("a member reads the seats: %d", resp.StatusCode)
	}
	if resp, _ := env.Get(t, "/orgs/acme-web/teams", tok); resp.StatusCode != 200 {
		t.Fatalf("a member lists teams: %d", resp.StatusCode)
	}
	owner := issueToken(t, env, &usage.Token{Type: usage.ActorClassicPAT, UserID: users[0].ID, Scopes: []string{"read:org"}, CreatedAt: time.Now()})
	if resp, _ := env.Do(t, http.MethodPost, "/orgs/acme-web/copilot/billing/selected_users", owner, strings.NewReader(`{"selected_usernames":["`+users[3].Login+`"]}`)); resp.StatusCode != 403 {
		t.Fatalf("read:org adds seats: %d", resp.StatusCode)
	}
}
