package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/testenv"
)

// TestPublicURLBuildsLinks: behind a reverse proxy, Link headers and the
// url fields of responses are built on --public-url (its scheme, host and
// path prefix), not on the Host the proxy forwarded; without it they
// follow the request.
func TestPublicURLBuildsLinks(t *testing.T) {
	const pub = "https://ghusage.example.com/gh"
	e := testenv.New(t, func(c *server.Config) { c.PublicURL = pub })
	login := e.Data.Users[1].Login

	resp, body := e.Get(t, "/api/v3/admin/tokens?per_page=1", e.AdminToken)
	link := resp.Header.Get("Link")
	if resp.StatusCode != 200 || !strings.Contains(link, "<"+pub+"/api/v3/admin/tokens?page=2&per_page=1>; rel=\"next\"") {
		t.Fatalf("Link behind the proxy: %d %q", resp.StatusCode, link)
	}
	if strings.Contains(link, e.URL) || strings.Contains(body, e.URL) {
		t.Errorf("the listen address leaked into a response: %q %s", link, body)
	}

	_, body = e.Get(t, "/api/v3/users/"+login, e.AdminToken, "X-Forwarded-Host", "evil.example", "Host", "internal:8080")
	var raw map[string]any
	json.Unmarshal([]byte(body), &raw)
	if raw["url"] != pub+"/api/v3/users/"+login || raw["html_url"] != pub+"/"+login {
		t.Errorf("user urls behind the proxy: url %v html_url %v", raw["url"], raw["html_url"])
	}
	// Without the prefix the API is the root, as on GitHub.com.
	_, body = e.Get(t, "/users/"+login, "")
	json.Unmarshal([]byte(body), &raw)
	if raw["url"] != pub+"/users/"+login {
		t.Errorf("url without /api/v3: %v", raw["url"])
	}

	plain := testenv.New(t)
	resp, _ = plain.Get(t, "/api/v3/admin/tokens?per_page=1", plain.AdminToken)
	if link := resp.Header.Get("Link"); !strings.Contains(link, "<"+plain.URL+"/api/v3/admin/tokens?page=2&per_page=1>") {
		t.Errorf("Link without --public-url: %q", link)
	}
}
