package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/ghusage/ghusage/internal/testenv"
)

// The /api/v3 prefix is recognised on the decoded path, as the routes are,
// so an escaped spelling reaches the same route; anything that only looks
// like the prefix is the API's JSON 404, never net/http's plain text.
func TestAPIPrefixSpellings(t *testing.T) {
	env := testenv.New(t)
	cases := []struct {
		path   string
		status int
	}{
		{"/%61pi/v3/rate_limit", http.StatusOK},
		{"/api/v3/rate_limit", http.StatusOK},
		{"/api/%763/user", http.StatusOK},
		{"/api/v3/orgs/%61cme-web/insights/api/summary-stats?min_timestamp=2026-01-01T00:00:00Z", http.StatusOK},
		{"/api/v3x/user", http.StatusNotFound},
		{"/api/v3%2Fuser", http.StatusNotFound},
		{"/%61pi/v3", http.StatusNotFound},
		{"/api/v3/", http.StatusNotFound},
	}
	for _, c := range cases {
		resp, body := env.Get(t, c.path, env.AdminToken)
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("GET %s: %d %q %.80s, want %d with JSON", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, c.status)
			continue
		}
		if resp.Header.Get("X-RateLimit-Limit") == "" {
			t.Errorf("GET %s: no X-RateLimit-Limit: it bypassed the pipeline", c.path)
		}
		if c.status != http.StatusOK {
			decodeErr(t, body)
		}
	}
}
