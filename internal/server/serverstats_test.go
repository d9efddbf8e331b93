package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/testenv"
)

// peerItem is a server-statistics item of server on day with counts from n.
func peerItem(server, day string, n int) string {
	return fmt.Sprintf(`{"server_id":%q,"collection_date":"%sT22:00:00Z","ghes_version":"3.13.%d",
"ghe_stats":{"comments":{"total_commit_comments":%d,"total_gist_comments":1,"total_issue_comments":%d,"total_pull_request_comments":3},
"gists":{"total_gists":%d,"private_gists":4,"public_gists":5},"hooks":{"total_hooks":2,"active_hooks":1,"inactive_hooks":1},
"issues":{"total_issues":%d,"open_issues":%d,"closed_issues":7},"milestones":{"total_milestones":4,"open_milestones":1,"closed_milestones":3},
"orgs":{"total_orgs":%d,"disabled_orgs":0,"total_teams":11,"total_team_members":%d},"pages":{"total_pages":%d},
"pulls":{"total_pulls":%d,"merged_pulls":%d,"mergeable_pulls":2,"unmergeable_pulls":1},
"repos":{"total_repos":%d,"root_repos":%d,"fork_repos":3,"org_repos":%d,"total_pushes":%d,"total_wikis":2},
"users":{"total_users":%d,"admin_users":2,"suspended_users":%d}},
"dormant_users":{"total_dormant_users":%d,"dormancy_threshold":"90 days"},
"security_products":{"total_repos":%d,"secret_scanning_enabled_repos":%d,"active_committers":%d,"purchased_committers":50}}`,
		server, day, n%9, 10+n, 20+n, 30+n, 40+n, 10+n, 5+n, 60+n, n%4, 70+n, 50+n, 80+n, 77+n, 60+n, 900*n, 100+n, n%5, n, 80+n, 40+n, 12+n)
}

func post(t *testing.T, env *testenv.Env, path, body string) {
	t.Helper()
	resp, out := env.Do(t, http.MethodPost, path, env.AdminToken, strings.NewReader(body))
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, out)
	}
}

func getBody(t *testing.T, env *testenv.Env, path string) string {
	t.Helper()
	resp, body := env.Get(t, path, env.AdminToken)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return body
}

// TestCollectorCollectsFromAPeer starts a second ghusage holding the
// snapshots of two servers and has the first one's collector job read it
// over HTTP through its /api/v3 routes, as it reads a GHES instance: the
// collected snapshot equals what the peer's /enterprise/stats/all and
// /enterprise/stats/security-products serve, ghes_version is its /meta's
// installed_version, sections the stats routes do not give (dormant users)
// stay absent, and collecting again the same day keeps one snapshot.
func TestCollectorCollectsFromAPeer(t *testing.T) {
	peer := testenv.New(t)
	today := time.Now().UTC()
	var items []string
	for i := range 5 {
		d := today.AddDate(0, 0, i-4).Format("2006-01-02")
		items = append(items, peerItem("peer-a", d, i), peerItem("peer-b", d, 50+i))
	}
	post(t, peer, "/ghusage/v1/ingest/server-statistics?account=acme", "["+strings.Join(items, ",")+"]")

	instances := filepath.Join(t.TempDir(), "instances.json")
	tokenFile := filepath.Join(t.TempDir(), "peer.token")
	os.WriteFile(tokenFile, []byte(peer.AdminToken+"\n"), 0o600)
	inst := fmt.Sprintf(`[{"url":%q,"token_file":%q,"account":"acme-data"}]`, peer.URL, tokenFile)
	if err := os.WriteFile(instances, []byte(inst), 0o600); err != nil {
		t.Fatal(err)
	}
	first := testenv.New(t, func(c *server.Config) { c.ServerStats.InstancesFile = instances })
	if ran := first.Server.Jobs.RunDue(t.Context()); !slices.Contains(ran, server.CollectJob) {
		t.Fatalf("jobs run: %v, want %s", ran, server.CollectJob)
	}

	id := serverstats.DeriveServerID(peer.URL)
	peerAll := getBody(t, peer, "/api/v3/enterprise/stats/all")
	if got := getBody(t, first, "/enterprise/stats/all?server_id="+id); got != peerAll {
		t.Fatalf("collected stats/all:\ngot  %s\nwant %s", got, peerAll)
	}
	peerSec := getBody(t, peer, "/api/v3/enterprise/stats/security-products")
	if got := getBody(t, first, "/enterprise/stats/security-products?server_id="+id); got != peerSec {
		t.Fatalf("collected security-products:\ngot  %s\nwant %s", got, peerSec)
	}
	// The peer's numbers are sums of its two servers' latest days.
	var all struct {
		Repos struct {
			TotalRepos int `json:"total_repos"`
		} `json:"repos"`
	}
	json.Unmarshal([]byte(peerAll), &all)
	if all.Repos.TotalRepos != (80+4)+(80+54) {
		t.Fatalf("peer repos.total_repos = %d", all.Repos.TotalRepos)
	}

	hist := getBody(t, first, "/enterprise-installation/acme-data/server-statistics")
	var snaps []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(hist), &snaps); err != nil || len(snaps) != 1 {
		t.Fatalf("acme-data history after one collection: %s", hist)
	}
	s := snaps[0]
	var gheStats, peerStats any
	json.Unmarshal(s["ghe_stats"], &gheStats)
	json.Unmarshal([]byte(peerAll), &peerStats)
	if fmt.Sprint(gheStats) != fmt.Sprint(peerStats) {
		t.Fatalf("the snapshot's ghe_stats %s differs from the peer's stats/all %s", s["ghe_stats"], peerAll)
	}
	// ghes_version comes from the peer's /meta.
	var meta struct {
		InstalledVersion string `json:"installed_version"`
	}
	json.Unmarshal([]byte(getBody(t, peer, "/api/v3/meta")), &meta)
	if meta.InstalledVersion == "" || string(s["ghes_version"]) != `"`+meta.InstalledVersion+`"` {
		t.Errorf("ghes_version %s, want the peer's installed_version %q", s["ghes_version"], meta.InstalledVersion)
	}
	for _, absent := range []string{"dormant_users", "actions_stats", "packages_stats", "github_connect", "advisory_db_stats"} {
		if _, ok := s[absent]; ok {
			t.Errorf("%s is present in a collected snapshot; the stats routes do not give it", absent)
		}
	}
	if string(s["host_name"]) != `"127.0.0.1"` || string(s["server_id"]) != `"`+id+`"` {
		t.Fatalf("host_name %s, server_id %s", s["host_name"], s["server_id"])
	}

	// A second collection the same day (ghusage stats collect) replaces it.
	c := server.NewCollector(server.DefaultConfig(), nil, time.Now)
	insts, err := serverstats.LoadInstances(instances)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.CollectAll(t.Context(), first.Server.API.ServerStats, insts); n != 1 || err != nil {
		t.Fatalf("collect again: %d, %v", n, err)
	}
	if hist := getBody(t, first, "/enterprise-installation/acme-data/server-statistics"); strings.Count(hist, `"server_id"`) != 1 {
		t.Fatalf("two collections on one day keep %d snapshots: %s", strings.Count(hist, `"server_id"`), hist)
	}
}
