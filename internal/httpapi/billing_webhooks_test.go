package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/testenv"
)

const testWebhookSecret = "It's a Secret to Everybody"

func webhookEnv(t *testing.T) *testenv.Env {
	return testenv.New(t, func(c *server.Config) { c.Billing.WebhookSecret = testWebhookSecret })
}

// workflowJob is a workflow_job completed payload as GitHub sends it (the
// fields ghusage reads, and a few it does not).
func workflowJob(id int64, started time.Time, run time.Duration, labels []string, repo string, private bool) []byte {
	org, _, _ := strings.Cut(repo, "/")
	p := map[string]any{
		"action":       "completed",
		"organization": map[string]any{"login": org, "id": 1},
		"repository":   map[string]any{"full_name": repo, "name": strings.SplitN(repo, "/", 2)[1], "private": private, "owner": map[string]any{"login": org}},
		"sender":       map[string]any{"login": "ada-dev0", "id": 5},
		"workflow_job": map[string]any{
			"id": id, "run_id": id * 10, "run_attempt": 1, "status": "completed", "conclusion": "success",
			"started_at": started.UTC().Format(time.RFC3339), "completed_at": started.Add(run).UTC().Format(time.RFC3339),
			"labels": labels, "runner_name": "GitHub Actions 2", "runner_group_name": "GitHub Actions", "workflow_name": "CI",
			"head_branch": "main", "name": "build", "steps": []any{},
		},
	}
	b, _ := json.Marshal(p)
	return b
}

func deliver(t *testing.T, env *testenv.Env, event, delivery string, body []byte, sig string) (*http.Response, string) {
	t.Helper()
	h := []string{"X-GitHub-Event", event, "X-GitHub-Delivery", delivery, "Content-Type", "application/json"}
	if sig != "" {
		h = append(h, "X-Hub-Signature-256", sig)
	}
	return env.Do(t, http.MethodPost, "/ghusage/v1/webhooks/github", "", bytes.NewReader(body), h...)
}

// linuxMinutes reads acme-web's actions_linux minutes of a day from usage.
func linuxMinutes(t *testing.T, env *testenv.Env, day time.Time) (qty, net string) {
	t.Helper()
	_, body := env.Get(t, fmt.Sprintf("/organizations/acme-web/settings/billing/usage?year=%d&month=%d&day=%d", day.Year(), int(day.Month()), day.Day()), env.AdminToken)
	var rep struct {
		UsageItems []map[string]any `json:"usageItems"`
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("usage: %s", body)
	}
	for _, it := range rep.UsageItems {
		if it["sku"] == "actions_linux" && it["repositoryName"] == "acme-web/api" {
			return fmt.Sprint(it["quantity"]), fmt.Sprint(it["netAmount"])
		}
	}
	return "0", "0"
}

func TestWorkflowJobWebhook(t *testing.T) {
	env := webhookEnv(t)
	started := time.Now().UTC().Add(-10 * time.Minute)
	body := workflowJob(4242, started, 61*time.Second, []string{"ubuntu-latest"}, "acme-web/api", true)
	sig := billing.Sign(testWebhookSecret, body)

	// Missing and wrong signatures: 401, nothing recorded.
	for _, bad := range []string{"", "sha256=" + strings.Repeat("0", 64), billing.Sign("another secret", body), "sha1=abc"} {
		if resp, out := deliver(t, env, "workflow_job", "d-0", body, bad); resp.StatusCode != 401 {
			t.Fatalf("signature %q: %d %s, want 401", bad, resp.StatusCode, out)
		}
	}
	if q, _ := linuxMinutes(t, env, started); q != "0" {
		t.Fatalf("a rejected delivery was recorded: %s minutes", q)
	}
	// A signed delivery of a 61 s job is 2 minutes at once; the same
	// delivery again, or the same job from a second hook, counts once.
	deadline := time.Now().Add(2 * time.Second)
	resp, out := deliver(t, env, "workflow_job", "d-1", body, sig)
	if resp.StatusCode != 200 || !strings.Contains(out, `"recorded":1`) {
		t.Fatalf("delivery: %d %s", resp.StatusCode, out)
	}
	if q, _ := linuxMinutes(t, env, started); q != "2" || time.Now().After(deadline) {
		t.Fatalf("after the delivery: %s minutes of actions_linux, want 2 within 2 s", q)
	}
	for _, d := range []string{"d-1", "d-2"} {
		if resp, out := deliver(t, env, "workflow_job", d, body, sig); resp.StatusCode != 200 || !strings.Contains(out, `"duplicates":1`) {
			t.Fatalf("redelivery %s: %d %s", d, resp.StatusCode, out)
		}
	}
	if q, _ := linuxMinutes(t, env, started); q != "2" {
		t.Fatalf("after redeliveries: %s minutes, want 2", q)
	}
	// A re-run is a new job: it counts again.
	rerun := workflowJob(4243, started, 3*time.Minute, []string{"ubuntu-latest"}, "acme-web/api", true)
	deliver(t, env, "workflow_job", "d-3", rerun, billing.Sign(testWebhookSecret, rerun))
	if q, _ := linuxMinutes(t, env, started); q != "5" {
		t.Fatalf("after a re-run: %s minutes, want 5", q)
	}
}

func TestWorkflowJobPricedOnItsDay(t *testing.T) {
	env := webhookEnv(t)
	dec := time.Date(2025, 12, 31, 12, 0, 0, 0, time.UTC)
	jan := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{dec, jan} {
		// A larger runner: never included, so the net amount shows the price.
		body := workflowJob(int64(100+i), at, 10*time.Minute, []string{"ubuntu-latest-4-cores"}, "acme-web/api", true)
		if resp, out := deliver(t, env, "workflow_job", fmt.Sprint("p-", i), body, billing.Sign(testWebhookSecret, body)); resp.StatusCode != 200 {
			t.Fatalf("delivery: %d %s", resp.StatusCode, out)
		}
	}
	for _, c := range []struct {
		day   time.Time
		price string
	}{{dec, "0.016"}, {jan, "0.012"}} {
		_, body := env.Get(t, fmt.Sprintf("/enterprises/acme/settings/billing/usage?year=%d&month=%d&day=%d", c.day.Year(), int(c.day.Month()), c.day.Day()), env.AdminToken)
		if !strings.Contains(body, `"sku":"actions_linux_4_core","quantity":10,"unitType":"minutes","pricePerUnit":`+c.price) {
			t.Errorf("%s: %s, want 10 minutes at %s", c.day.Format(time.DateOnly), body, c.price)
		}
	}
}

func TestWebhookRejectsMalformedPayloads(t *testing.T) {
	env := webhookEnv(t)
	now := time.Now().UTC()
	good := workflowJob(1, now.Add(-time.Hour), time.Minute, []string{"ubuntu-latest"}, "acme-web/api", true)
	cases := []struct {
		event string
		body  []byte
		field string
	}{
		{"workflow_job", []byte(`{"action":`), "body"},
		{"workflow_job", []byte(`{"action":"completed","repository":{"full_name":"acme-web/api","private":true},"workflow_job":{"id":"seven"}}`), "workflow_job.id"},
		{"workflow_job", []byte(strings.Replace(string(good), `"full_name":"acme-web/api"`, `"full_name":"nope"`, 1)), "repository.full_name"},
		{"workflow_job", []byte(strings.Replace(string(good), now.Add(-time.Hour).Add(time.Minute).Format(time.RFC3339), "later", 1)), "workflow_job.completed_at"},
		{"push", []byte(`{"ref":"refs/heads/main","repository":{"full_name":"acme-web/api","private":true},"commits":[{"id":"a","timestamp":"yesterday","author":{"username":"ada-dev0","email":"a@x"}}]}`), "commits[0].timestamp"},
		{"", good, "X-GitHub-Event"},
	}
	for i, c := range cases {
		resp, out := deliver(t, env, c.event, fmt.Sprint("m-", i), c.body, billing.Sign(testWebhookSecret, c.body))
		if resp.StatusCode != 422 || !strings.Contains(out, `"field":"`+c.field+`"`) {
			t.Errorf("case %d: %d %s, want 422 naming %s", i, resp.StatusCode, out, c.field)
		}
	}
	// Other events and jobs that do not bill are acknowledged.
	queued := bytes.Replace(good, []byte(`"action":"completed"`), []byte(`"action":"queued"`), 1)
	for _, c := range []struct {
		event string
		body  []byte
	}{{"ping", []byte(`{"zen":"Keep it logically awesome."}`)}, {"issues", []byte(`{}`)}, {"workflow_job", queued}} {
		if resp, out := deliver(t, env, c.event, "x", c.body, billing.Sign(testWebhookSecret, c.body)); resp.StatusCode != 200 || !strings.Contains(out, `"ignored"`) {
			t.Errorf("%s: %d %s, want 200 ignored", c.event, resp.StatusCode, out)
		}
	}
	// Without a configured secret the endpoint does not exist.
	plain := testenv.New(t)
	if resp, _ := deliver(t, plain, "workflow_job", "y", good, billing.Sign("", good)); resp.StatusCode != 404 {
		t.Errorf("no secret configured: %d, want 404", resp.StatusCode)
	}
}

func TestPushWebhookCountsCommitters(t *testing.T) {
	env := webhookEnv(t)
	now := time.Now().UTC()
	push := func(repo string, private bool, authors ...string) []byte {
		var commits []map[string]any
		for i, a := range authors {
			commits = append(commits, map[string]any{"id": fmt.Sprint(i), "timestamp": now.Add(-time.Duration(i) * time.Hour).Format(time.RFC3339),
				"author": map[string]any{"username": a, "email": a + "@acme.test", "name": a}})
		}
		org, _, _ := strings.Cut(repo, "/")
		b, _ := json.Marshal(map[string]any{"ref": "refs/heads/main", "organization": map[string]any{"login": org},
			"repository": map[string]any{"full_name": repo, "private": private}, "commits": commits})
		return b
	}
	for i, b := range [][]byte{
		push("acme-web/api", true, "ada-dev0", "alan-ops1", "dependabot[bot]"),
		push("acme-data/etl", true, "ada-dev0"),
		push("acme-web/site", false, "grace-eng2"), // public: free, not counted
	} {
		if resp, out := deliver(t, env, "push", fmt.Sprint("push-", i), b, billing.Sign(testWebhookSecret, b)); resp.StatusCode != 200 {
			t.Fatalf("push %d: %d %s", i, resp.StatusCode, out)
		}
	}
	_, body := env.Get(t, "/enterprises/acme/settings/billing/advanced-security", env.AdminToken)
	var a billing.AdvancedSecurity
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	if a.TotalAdvancedSecurityCommitters != 2 || a.TotalCount != 2 || a.Repositories[0].Name != "acme-data/etl" || a.Repositories[1].AdvancedSecurityCommitters != 2 {
		t.Fatalf("advanced-security = %s: want ada-dev0 and alan-ops1 over two repositories, each login once", body)
	}
}
