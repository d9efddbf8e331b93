package cli_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/server"
)

// ghBinary finds GitHub's CLI. The tier skips without it, except when
// GHUSAGE_TEST_GH is set (CI sets it after installing Debian's gh).
func ghBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("gh")
	if err != nil {
		if os.Getenv("GHUSAGE_TEST_GH") != "" {
			t.Fatalf("GHUSAGE_TEST_GH is set but gh is not on PATH: %v", err)
		}
		t.Skip("gh not installed (apt-get install gh); set GHUSAGE_TEST_GH to make this tier mandatory")
	}
	return p
}

// TestGHAPIOverTLS runs GitHub's own CLI against ghusage as against a
// GitHub Enterprise Server: serve --tls-self-signed on a fresh data
// directory, GH_HOST=127.0.0.1:PORT, GH_ENTERPRISE_TOKEN and SSL_CERT_FILE
// naming the written certificate. gh then calls https://HOST/api/v3/...
// with "Authorization: token ...".
func TestGHAPIOverTLS(t *testing.T) {
	gh := ghBinary(t)
	dir := t.TempDir()
	s := startServe(t, nil, "--demo", "--demo-scale", "0.2", "--data-dir", dir, "--tls-self-signed")
	u, err := url.Parse(s.url)
	if err != nil || u.Scheme != "https" {
		t.Fatalf("serve --tls-self-signed printed %q, want an https URL", s.url)
	}
	cert := server.SelfSignedCertPath(dir)
	cfgDir := t.TempDir()
	ghEnv := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + cfgDir,
		"GH_CONFIG_DIR=" + filepath.Join(cfgDir, "gh"),
		"GH_HOST=" + u.Host,
		"GH_ENTERPRISE_TOKEN=" + s.token,
		"SSL_CERT_FILE=" + cert,
		"GH_NO_UPDATE_NOTIFIER=1",
		"GH_PROMPT_DISABLED=1",
		"NO_COLOR=1",
	}
	ghAPI := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(gh, append([]string{"api"}, args...)...)
		cmd.Env = ghEnv
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("gh api %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String()
	}

	var rl struct {
		Resources map[string]struct{ Limit, Remaining, Used int } `json:"resources"`
		Rate      struct{ Limit, Remaining, Used int }            `json:"rate"`
	}
	if err := json.Unmarshal([]byte(ghAPI("rate_limit")), &rl); err != nil {
		t.Fatalf("gh api rate_limit: %v", err)
	}
	// The token was sent and accepted: an unauthenticated caller's core limit is 60.
	if rl.Resources["core"].Limit != 5000 || rl.Rate.Limit != 5000 {
		t.Fatalf("gh api rate_limit: core %+v rate %+v, want the authenticated 5000", rl.Resources["core"], rl.Rate)
	}

	// -i shows the headers of a call through the /api/v3 prefix, the
	// rate-limit headers of the same pool counting this request.
	headers := ghAPI("-i", "user")
	if !strings.Contains(headers, "HTTP/2.0 200") && !strings.Contains(headers, "HTTP/1.1 200") {
		t.Fatalf("gh api -i user:\n%s", headers)
	}
	if !testContainsFold(headers, "X-Ratelimit-Limit: 5000") || !strings.Contains(headers, `"login":"ghusage-admin"`) {
		t.Fatalf("gh api -i user: no rate-limit header or not the admin:\n%s", headers)
	}

	// An insights call over the demo traffic.
	since := time.Now().UTC().Add(-7 * 24 * time.Hour).Truncate(time.Hour).Format(time.RFC3339)
	var sum struct {
		Total       *int64 `json:"total_request_count"`
		RateLimited *int64 `json:"rate_limited_request_count"`
	}
	body := ghAPI("orgs/acme-web/insights/api/summary-stats?min_timestamp=" + url.QueryEscape(since))
	if err := json.Unmarshal([]byte(body), &sum); err != nil || sum.Total == nil || sum.RateLimited == nil {
		t.Fatalf("gh api summary-stats: %v\n%s", err, body)
	}
	if *sum.Total == 0 {
		t.Fatalf("summary-stats over the demo's last 7 days counted no requests: %s", body)
	}
}

func testContainsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
