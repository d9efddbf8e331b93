package serverstats_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/serverstats"
)

// fakeGHES answers the routes the collector reads, as a GHES instance would;
// fail makes the first n answers of a path 502.
type fakeGHES struct {
	mu      sync.Mutex
	calls   map[string]int
	fail    map[string]int
	answers map[string]string
	token   string
}

func (f *fakeGHES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[r.URL.Path]++
	if r.Header.Get("Authorization") != "token "+f.token {
		http.Error(w, `{"message":"Bad credentials"}`, 401)
		return
	}
	if f.calls[r.URL.Path] <= f.fail[r.URL.Path] {
		http.Error(w, "bad gateway", 502)
		return
	}
	body, ok := f.answers[r.URL.Path]
	if !ok {
		http.Error(w, `{"message":"Not Found"}`, 404)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(body))
}

const fakeAll = `{"repos":{"total_repos":212,"root_repos":194,"fork_repos":18,"org_repos":51,"total_pushes":3082,"total_wikis":15},
"hooks":{"total_hooks":27,"active_hooks":23,"inactive_hooks":4},"pages":{"total_pages":36},
"orgs":{"total_orgs":33,"disabled_orgs":0,"total_teams":60,"total_team_members":314},
"users":{"total_users":254,"admin_users":45,"suspended_users":21},
"pulls":{"total_pulls":86,"merged_pulls":60,"mergeable_pulls":21,"unmergeable_pulls":3},
"issues":{"total_issues":179,"open_issues":83,"closed_issues":96},
"milestones":{"total_milestones":7,"open_milestones":6,"closed_milestones":1},
"gists":{"total_gists":178,"private_gists":151,"public_gists":25},
"comments":{"total_commit_comments":6,"total_gist_comments":28,"total_issue_comments":366,"total_pull_request_comments":30}}`

func newFake(t *testing.T) (*fakeGHES, string) {
	f := &fakeGHES{calls: map[string]int{}, fail: map[string]int{}, token: "ghp_secretsecretsecret",
		answers: map[string]string{"/api/v3/enterprise/stats/all": fakeAll}}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	return f, hs.URL
}

func testCollector(logs *bytes.Buffer, slept *[]time.Duration) *serverstats.Collector {
	return &serverstats.Collector{
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    func() time.Time { return time.Date(2026, 3, 14, 6, 0, 0, 0, time.UTC) },
		Sleep: func(_ context.Context, d time.Duration) error {
			*slept = append(*slept, d)
			return nil
		},
	}
}

// TestCollectRetriesAndKeepsAbsentSections has the first two answers of
// stats/all fail: the collector retries with a doubling backoff and gets
// the third. The instance has no security-products route (an older GHES),
// so that section stays absent; /meta fills ghes_version.
func TestCollectRetriesAndKeepsAbsentSections(t *testing.T) {
	f, base := newFake(t)
	f.fail["/api/v3/enterprise/stats/all"] = 2
	f.answers["/api/v3/meta"] = `{"verifiable_password_authentication":true,"installed_version":"3.14.2"}`
	var logs bytes.Buffer
	var slept []time.Duration
	c := testCollector(&logs, &slept)
	snap, err := c.Collect(context.Background(), serverstats.Instance{URL: base + "/", Token: f.token, Account: "Acme"})
	if err != nil {
		t.Fatalf("Collect: %v\n%s", err, logs.String())
	}
	if f.calls["/api/v3/enterprise/stats/all"] != 3 || len(slept) != 2 || slept[0] != 2*time.Second || slept[1] != 4*time.Second {
		t.Fatalf("stats/all asked %d times, waits %v; want 3 tries with 2s and 4s between", f.calls["/api/v3/enterprise/stats/all"], slept)
	}
	if f.calls["/api/v3/enterprise/stats/security-products"] != 1 {
		t.Fatalf("a 404 was retried: %d calls", f.calls["/api/v3/enterprise/stats/security-products"])
	}
	var want serverstats.GHEStats
	json.Unmarshal([]byte(fakeAll), &want)
	got, _ := json.Marshal(snap.GHEStats)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Fatalf("ghe_stats = %s, want %s", got, wantJSON)
	}
	if snap.GHESVersion != "3.14.2" || snap.SecurityProducts != nil || snap.DormantUsers != nil || snap.ActionsStats != nil ||
		snap.PackagesStats != nil || snap.GitHubConnect != nil || snap.Account != "acme" || snap.HostName != "127.0.0.1" {
		t.Fatalf("snapshot = %+v", snap)
	}
	if snap.ServerID != serverstats.DeriveServerID(base) || snap.ServerID != serverstats.DeriveServerID(base+"/api/v3") {
		t.Fatalf("server id %s is not the one derived from the URL", snap.ServerID)
	}
	if snap.CollectionDate != c.Now() {
		t.Fatalf("collection_date = %v", snap.CollectionDate)
	}
	if strings.Contains(logs.String(), f.token) {
		t.Fatalf("the token is in the log:\n%s", logs.String())
	}
}

// TestCollectFailures: a token the instance refuses fails at once (no
// retries), an instance that keeps failing fails after Attempts tries,
// an answer that is not GHES's is refused naming the field; the token is
// in no error and no log line.
func TestCollectFailures(t *testing.T) {
	f, base := newFake(t)
	var logs bytes.Buffer
	var slept []time.Duration
	c := testCollector(&logs, &slept)
	ctx := context.Background()
	_, err := c.Collect(ctx, serverstats.Instance{URL: base, Token: "ghp_wrongwrongwrong", Account: "acme"})
	if err == nil || !strings.Contains(err.Error(), "401") || f.calls["/api/v3/enterprise/stats/all"] != 1 {
		t.Fatalf("bad token: %v after %d calls, want a 401 without retries", err, f.calls["/api/v3/enterprise/stats/all"])
	}
	f.fail["/api/v3/enterprise/stats/all"] = 100
	_, err = c.Collect(ctx, serverstats.Instance{URL: base, Token: f.token, Account: "acme"})
	if err == nil || !strings.Contains(err.Error(), "502") || f.calls["/api/v3/enterprise/stats/all"] != 1+3 {
		t.Fatalf("failing instance: %v after %d calls", err, f.calls["/api/v3/enterprise/stats/all"])
	}
	f.fail["/api/v3/enterprise/stats/all"] = 0
	f.answers["/api/v3/enterprise/stats/all"] = strings.Replace(fakeAll, `"total_pages":36`, `"total_pages":"36"`, 1)
	_, err = c.Collect(ctx, serverstats.Instance{URL: base, Token: f.token, Account: "acme"})
	if err == nil || !strings.Contains(err.Error(), "ghe_stats.pages.total_pages") {
		t.Fatalf("a string count from the instance: %v", err)
	}
	for _, s := range []string{logs.String(), err.Error()} {
		if strings.Contains(s, f.token) {
			t.Fatalf("the token leaked: %s", s)
		}
	}
}

func TestLoadInstances(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "ghes.token")
	os.WriteFile(tokFile, []byte("ghp_fromfile\n"), 0o600)
	write := func(s string) string {
		p := filepath.Join(dir, "instances.json")
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	insts, err := serverstats.LoadInstances(write(`[{"url":"https://ghes.example.com","token_file":"` + tokFile + `","account":"acme"},
		{"url":"https://ghes2.example.com/api/v3","token":"ghp_inline","account":"acme-web","server_id":"ea6088f3-f095-4bf2-8d7f-c573819e8768"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 2 || insts[0].Token != "ghp_fromfile" || insts[1].Token != "ghp_inline" {
		t.Fatalf("instances = %+v", insts)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "instance", insts[0], "other", insts[1])
	if strings.Contains(logs.String(), "ghp_") || !strings.Contains(logs.String(), "ghes.example.com") {
		t.Fatalf("an instance logs as %s", logs.String())
	}
	for _, bad := range []string{`{}`, `[{"url":"ftp://x","token":"t","account":"a"}]`, `[{"url":"https://x","account":"a"}]`,
		`[{"url":"https://x","token":"t"}]`, `[{"url":"https://x","token":"t","account":"a","tokn":"typo"}]`} {
		if _, err := serverstats.LoadInstances(write(bad)); err == nil {
			t.Errorf("LoadInstances accepted %s", bad)
		}
	}
}
