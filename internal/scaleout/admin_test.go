package scaleout_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSiteAdminAcrossReplicas: accounts and an impersonation token made
// through the site-admin API on replica A work on replica B (same
// PostgreSQL); a suspension made on A refuses the user's token on B, and
// the unsuspension restores it. The replicas trust no cached token
// (--token-cache-ttl 0), so B sees each change on its next request; with a
// cache, within its TTL (the cache's expiry is tested in httpapi).
func TestSiteAdminAcrossReplicas(t *testing.T) {
	t.Parallel()
	a, b, admin := twoReplicas(t, "--token-cache-ttl", "0s", "--rate-limit=false")
	must := func(r *replica, method, path, token, body string, want int) []byte {
		t.Helper()
		var bb []byte
		if body != "" {
			bb = []byte(body)
		}
		resp, got := r.do(t, method, path, token, bb)
		if resp.StatusCode != want {
			t.Fatalf("%s %s on %s: %d %s, want %d", method, path, r.url, resp.StatusCode, got, want)
		}
		return got
	}
	must(a, "POST", "/api/v3/admin/users", admin, `{"login":"remote_user"}`, 201)
	must(a, "POST", "/api/v3/admin/organizations", admin, `{"login":"remote-org","admin":"remote-user"}`, 201)
	var auth struct{ Token string }
	json.Unmarshal(must(a, "POST", "/api/v3/admin/users/remote-user/authorizations", admin, `{"scopes":["read:org"]}`, 201), &auth)
	if !strings.HasPrefix(auth.Token, "gho_") {
		t.Fatalf("impersonation token %q", auth.Token)
	}
	since := url.QueryEscape(time.Now().UTC().Add(-time.Hour).Format(time.RFC3339))
	insights := "/api/v3/orgs/remote-org/insights/api/summary-stats?min_timestamp=" + since
	must(b, "GET", insights, auth.Token, "", 200)

	must(a, "PUT", "/api/v3/users/remote-user/suspended", admin, "", 204)
	if body := must(b, "GET", insights, auth.Token, "", 403); !strings.Contains(string(body), "Sorry. Your account was suspended.") {
		t.Fatalf("suspended user's token on B: %s", body)
	}
	must(b, "DELETE", "/api/v3/users/remote-user/suspended", admin, "", 204)
	must(a, "GET", insights, auth.Token, "", 200)

	// A rename on B is seen on A; the token acts for the renamed user.
	must(b, "PATCH", "/api/v3/admin/users/remote-user", admin, `{"login":"renamed-user"}`, 202)
	if body := must(a, "GET", "/api/v3/user", auth.Token, "", 200); !strings.Contains(string(body), `"login":"renamed-user"`) {
		t.Fatalf("after the rename on B, A says %s", body)
	}
	// Revoking the impersonation on A ends it on B.
	must(a, "DELETE", "/api/v3/admin/users/renamed-user/authorizations", admin, "", 204)
	must(b, "GET", "/api/v3/user", auth.Token, "", 401)
}
