package ui_test

import (
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// TestServerStatsView: the administrator sees acme's two servers, each
// tile equal to the API's latest snapshot of that server, a point per
// snapshot in the trends, and /enterprise/stats/all's sums; a member of
// the enterprise who is not its owner sees none of it, as the API.
func TestServerStatsView(t *testing.T) {
	env := testenv.New(t)
	ctx := t.Context()
	now := time.Now()
	if err := demo.SeedServerStats(ctx, env.Store, "acme", 1, now); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, env)
	c.signIn(env.AdminToken)
	resp, page := c.get("/ui/server-stats")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `href="/ui/server-stats/acme"`) {
		t.Fatalf("index: %d, lists acme: %v", resp.StatusCode, strings.Contains(page, "/ui/server-stats/acme"))
	}
	var all struct {
		Users struct {
			Total int64 `json:"total_users"`
		} `json:"users"`
	}
	_, body := env.Get(t, "/enterprise/stats/all", env.AdminToken)
	if err := json.Unmarshal([]byte(body), &all); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, "<dt>Total users</dt><dd>"+grouped(all.Users.Total)+"</dd>") {
		t.Errorf("the index's summed tiles lack total users %d of /enterprise/stats/all", all.Users.Total)
	}

	resp, page = c.get("/ui/server-stats/acme?days=30")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("acme: %d", resp.StatusCode)
	}
	api := "/enterprise-installation/acme/server-statistics?date_start=" + now.UTC().AddDate(0, 0, -29).Format("2006-01-02") + "&date_end=" + now.UTC().Format("2006-01-02")
	var items []struct {
		ServerID string `json:"server_id"`
		Host     string `json:"host_name"`
		Stats    struct {
			Repos struct {
				Total int64 `json:"total_repos"`
			} `json:"repos"`
			Users struct {
				Total int64 `json:"total_users"`
			} `json:"users"`
		} `json:"ghe_stats"`
	}
	resp, body = env.Get(t, api, env.AdminToken)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", api, resp.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), &items); err != nil {
		t.Fatal(err)
	}
	if len(items) != 60 {
		t.Fatalf("the API has %d snapshots over 30 days, want 60 (two servers)", len(items))
	}
	if !strings.Contains(page, "60 daily snapshots") {
		t.Error("the page does not say it shows 60 snapshots")
	}
	if m := regexp.MustCompile(`id="api-stats" href="([^"]+)"`).FindStringSubmatch(page); m == nil {
		t.Error("the page names no API call")
	} else if _, linked := env.Get(t, html.UnescapeString(m[1]), env.AdminToken); linked != body {
		t.Errorf("the page's API call %s answers otherwise than %s", m[1], api)
	}
	latest := map[string]int{}
	for i, it := range items {
		latest[it.ServerID] = i
	}
	sections := strings.Split(page, `<section class="server card">`)[1:]
	if len(sections) != 2 {
		t.Fatalf("%d server sections, want 2", len(sections))
	}
	for _, sec := range sections {
		found := false
		for id, i := range latest {
			if !strings.Contains(sec, id) {
				continue
			}
			found = true
			it := items[i]
			for _, want := range []string{"<h2>" + it.Host, "<dt>Total users</dt><dd>" + grouped(it.Stats.Users.Total) + "</dd>",
				"<dt>Total repos</dt><dd>" + grouped(it.Stats.Repos.Total) + "</dd>"} {
				if !strings.Contains(sec, want) {
					t.Errorf("server %s: the section lacks %q", id, want)
				}
			}
		}
		if !found {
			t.Error("a server section names no server of the API's answer")
		}
	}
	if n := strings.Count(page, `<g class="pt" data-series=`); n != 4*60 {
		t.Errorf("%d trend points, want 4 charts × 60 snapshots", n)
	}
	if rows := table(t, page, "history-table"); len(rows) != 60 {
		t.Errorf("history table: %d rows, want 60", len(rows))
	}

	// An enterprise member who is not an owner: nothing, as the API answers.
	member := env.Data.Users[len(env.Data.Users)-1]
	tok := &usage.Token{Type: usage.ActorClassicPAT, UserID: member.ID, Scopes: []string{"read:enterprise", "read:org"}, CreatedAt: now}
	secret, err := demo.IssueToken(ctx, env.Store, tok)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := env.Get(t, api, secret); resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the API lets a member read acme's statistics: %d", resp.StatusCode)
	}
	m := newClient(t, env)
	m.signIn(secret)
	if _, page := m.get("/ui/server-stats"); strings.Contains(page, "/ui/server-stats/acme") || strings.Contains(page, "All servers now") {
		t.Error("a member sees acme's statistics (or the site-wide sums) on the index")
	}
	if resp, page := m.get("/ui/server-stats/acme"); resp.StatusCode == http.StatusOK || strings.Contains(page, "ghes.acme.example") {
		t.Errorf("a member opens acme's statistics: %d", resp.StatusCode)
	}
}
