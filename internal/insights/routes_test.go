package insights

import (
	"fmt"
	"strings"
	"testing"
)

func TestCanonicalRoute(t *testing.T) {
	for _, c := range []struct{ method, in, want string }{
		// raw paths → GitHub's templates
		{"GET", "/repos/acme/web/issues/123", "/repos/:owner/:repo/issues/:issue_number"},
		{"get", "/repos/acme/web/issues/123", "/repos/:owner/:repo/issues/:issue_number"},
		{"GET", "/repos/acme/web/issues/comments", "/repos/:owner/:repo/issues/comments"}, // a literal beats a parameter
		{"GET", "/repos/acme/web/issues/comments/77", "/repos/:owner/:repo/issues/comments/:comment_id"},
		{"GET", "/repos/acme/web", "/repos/:owner/:repo"},
		{"GET", "/repos/acme/web/", "/repos/:owner/:repo"},
		{"GET", "/api/v3/repos/acme/web/pulls?state=open&per_page=100", "/repos/:owner/:repo/pulls"},
		{"GET", "/user", "/user"},
		{"GET", "/rate_limit", "/rate_limit"},
		{"GET", "/", "/"},
		{"GET", "/orgs/acme/insights/api/summary-stats", "/orgs/:org/insights/api/summary-stats"},
		{"GET", "/orgs/acme/insights/api/route-stats/installation/9", "/orgs/:org/insights/api/route-stats/:actor_type/:actor_id"},
		// several segments in a final {path} or {ref}
		{"GET", "/repos/acme/web/contents/src/main.go", "/repos/:owner/:repo/contents/:path"},
		{"GET", "/repos/acme/web/git/refs/heads/feature/x", "/repos/:owner/:repo/git/refs/:ref"},
		{"GET", "/repos/acme/web/git/ref/heads/main", "/repos/:owner/:repo/git/ref/:ref"},
		// a segment mixing text and parameters
		{"GET", "/repos/acme/web/compare/main...feature", "/repos/:owner/:repo/compare/:base...:head"},
		// the method picks among templates of one path
		{"POST", "/repos/acme/web/issues", "/repos/:owner/:repo/issues"},
		{"DELETE", "/repos/acme/web/issues/1/labels/bug", "/repos/:owner/:repo/issues/:issue_number/labels/:name"},
		// no such route for the method: the path's template for another method
		{"OPTIONS", "/repos/acme/web/issues/123", "/repos/:owner/:repo/issues/:issue_number"},
		// unknown paths fold into their deepest known prefix
		{"GET", "/repos/acme/web/no-such-thing/1/2", "/repos/:owner/:repo/*"},
		{"GET", "/nothing/here", "/*"},
		{"GET", "/orgs/acme/bogus", "/orgs/:org/*"},
		// templates are kept, {param} spelled :param
		{"GET", "/repositories/:repository_id", "/repositories/:repository_id"},
		{"GET", "/repos/{owner}/{repo}/issues/{issue_number}", "/repos/:owner/:repo/issues/:issue_number"},
		{"GET", "/custom/:id/thing", "/custom/:id/thing"},
	} {
		if got := CanonicalRoute(strings.ToUpper(c.method), c.in); got != c.want {
			t.Errorf("CanonicalRoute(%s, %q) = %q, want %q", c.method, c.in, got, c.want)
		}
	}
}

// TestEveryGitHubRouteMatchesItself: every template of the embedded list,
// with its parameters filled in, maps back to a template of the same
// method whose literal segments are the same (parameter names may differ
// where GitHub's list spells one position two ways).
func TestEveryGitHubRouteMatchesItself(t *testing.T) {
	n := 0
	for _, line := range strings.Split(githubRoutes, "\n") {
		method, path, ok := strings.Cut(line, "\t")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		var raw []string
		for _, seg := range splitPath(path) {
			switch {
			case seg == "{base}...{head}":
				raw = append(raw, "a...b")
			case strings.Contains(seg, "{"):
				raw = append(raw, "v1")
			default:
				raw = append(raw, seg)
			}
		}
		got := CanonicalRoute(method, "/"+strings.Join(raw, "/"))
		if shape(got) != shape(colonParams(path)) {
			t.Errorf("%s %s (as /%s) → %s", method, path, strings.Join(raw, "/"), got)
		}
	}
	if n < 1500 {
		t.Fatalf("only %d routes in the embedded list", n)
	}
}

// shape replaces parameter names by ':'.
func shape(route string) string {
	segs := splitPath(route)
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = ":"
		}
	}
	return "/" + strings.Join(segs, "/")
}

// TestUnknownPathsAreBounded: a million distinct unknown URLs fold into a
// handful of routes.
func TestUnknownPathsAreBounded(t *testing.T) {
	seen := map[string]bool{}
	for i := range 20000 {
		seen[CanonicalRoute("GET", fmt.Sprintf("/repos/o%d/r%d/x%d/y", i, i, i))] = true
		seen[CanonicalRoute("GET", fmt.Sprintf("/zz%d", i))] = true
		seen[CanonicalRoute("POST", fmt.Sprintf("/repos/o/r/issues/%d/nope%d", i, i))] = true
	}
	if len(seen) > 4 {
		t.Errorf("60,000 unknown URLs made %d routes: %v", len(seen), seen)
	}
}

func BenchmarkCanonicalRoute(b *testing.B) {
	paths := []string{"/repos/acme/web/issues/123", "/repos/acme/web/contents/a/b/c.go", "/orgs/acme/members/ada", "/user", "/nothing/here/at/all"}
	CanonicalRoute("GET", "/")
	for i := 0; b.Loop(); i++ {
		CanonicalRoute("GET", paths[i%len(paths)])
	}
}
