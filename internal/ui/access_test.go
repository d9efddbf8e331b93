package ui_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

var uiLink = regexp.MustCompile(`href="(/ui/[^"#]*)`)

// crawl visits every dashboard page reachable from start by GET links
// (the CSV export included), breadth first, up to limit pages, and calls
// visit with each answer.
func crawl(c *client, start []string, limit int, visit func(path string, resp *http.Response, body string)) map[string]int {
	seen := map[string]int{}
	queue := slices.Clone(start)
	for len(queue) > 0 && len(seen) < limit {
		path := queue[0]
		queue = queue[1:]
		if _, ok := seen[path]; ok || strings.HasPrefix(path, "/ui/static/") || strings.HasPrefix(path, "/ui/signin") {
			continue
		}
		resp, body := c.get(path)
		seen[path] = resp.StatusCode
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && strings.HasPrefix(loc, "/ui/") && !strings.HasPrefix(loc, "/ui/signin") {
			queue = append(queue, loc) // the home page redirects to a view
			continue
		}
		visit(path, resp, body)
		for _, m := range uiLink.FindAllStringSubmatch(body, -1) {
			if next := html.UnescapeString(m[1]); seen[next] == 0 {
				queue = append(queue, next)
			}
		}
	}
	return seen
}

// TestOnlyAcmeDataInEveryView: on the whole demo dataset, a fine-grained
// token whose resource owner is acme-data, with every read permission of
// the five families (of a site administrator, who could otherwise see
// everything), sees acme-data's numbers in every view (API insights, rate
// limits, billing with its CSV and budgets, Copilot, server statistics)
// and no other organization, nor the enterprise, anywhere: every page
// reachable by a link is crawled, and every other account's address is a
// 404 that does not name it. Once the session is signed out, or its token
// revoked, every one of those pages sends the browser back to sign-in.
func TestOnlyAcmeDataInEveryView(t *testing.T) {
	env := testenv.New(t)
	ctx := t.Context()
	now := time.Now()
	seedDemo(t, env, now)
	tok := &usage.Token{Type: usage.ActorFineGrainedPAT, UserID: env.Data.Admin.ID, ResourceOwner: "acme-data", CreatedAt: now,
		Permissions: map[string]string{"organization_api_insights": "read", "organization_administration": "read",
			"organization_copilot_metrics": "read", "organization_copilot_seat_management": "read"}}
	secret, err := demo.IssueToken(ctx, env.Store, tok)
	if err != nil {
		t.Fatal(err)
	}
	var others []string
	for _, o := range env.Data.Orgs {
		if o.Login != "acme-data" {
			others = append(others, o.Login)
		}
	}
	ent := env.Data.Enterprise.Slug // "acme": a word of its own, not the prefix of acme-data
	entWord := regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(ent) + `\b([^-]|$)`)
	if len(others) < 2 || !entWord.MatchString("x "+ent+" y") || entWord.MatchString("acme-data") {
		t.Fatalf("the test's own checks: orgs %v, enterprise %q", others, ent)
	}
	// The API agrees: acme-data's numbers, nobody else's.
	for path, want := range map[string]int{
		"/orgs/acme-data/insights/api/summary-stats?min_timestamp=2020-01-01":                                                200,
		"/organizations/acme-data/settings/billing/usage":                                                                    200,
		"/orgs/acme-data/copilot/metrics/reports/organization-1-day?day=" + now.UTC().AddDate(0, 0, -2).Format("2006-01-02"): 200,
		"/enterprise-installation/acme-data/server-statistics":                                                               200,
		"/orgs/" + others[0] + "/insights/api/summary-stats?min_timestamp=2020-01-01":                                        404,
		"/organizations/" + others[1] + "/settings/billing/usage":                                                            404,
		"/enterprises/" + ent + "/settings/billing/usage":                                                                    0,
	} {
		resp, body := env.Get(t, path, secret)
		if want != 0 && resp.StatusCode != want || want == 0 && resp.StatusCode == 200 {
			t.Fatalf("the API answers %d to %s (%.200s); the test expects %d", resp.StatusCode, path, body, want)
		}
	}

	c := newClient(t, env)
	c.signIn(secret)
	indexes := []string{"/ui/", "/ui/insights", "/ui/rate-limits", "/ui/billing", "/ui/copilot", "/ui/server-stats"}
	start := append(slices.Clone(indexes), "/ui/insights/acme-data?period=31d", "/ui/billing/org/acme-data?frame=this-year&group=organization",
		"/ui/copilot/org/acme-data?days=90", "/ui/server-stats/acme-data?days=365")
	families := map[string]bool{}
	seen := crawl(c, start, 400, func(path string, resp *http.Response, body string) {
		for _, o := range others {
			if strings.Contains(body, o) {
				t.Errorf("%s (%d) mentions %s", path, resp.StatusCode, o)
			}
		}
		if m := entWord.FindString(body); m != "" {
			i := entWord.FindStringIndex(body)[0]
			t.Errorf("%s (%d) names the enterprise: …%s…", path, resp.StatusCode, body[max(0, i-80):min(len(body), i+40)])
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d; every link the dashboard shows this token should open", path, resp.StatusCode)
			return
		}
		for _, f := range []string{"insights", "rate-limits", "billing", "copilot", "server-stats"} {
			if strings.HasPrefix(path, "/ui/"+f+"/") || strings.HasPrefix(path, "/ui/"+f+"?") || path == "/ui/"+f {
				families[f] = true
			}
		}
	})
	t.Logf("crawled %d pages", len(seen))
	if len(families) != 5 {
		t.Errorf("the crawl opened views of %v only", families)
	}
	// acme-data's views show its numbers (a crawl of empty pages would
	// prove nothing).
	for path, marker := range map[string]*regexp.Regexp{
		"/ui/insights/acme-data?period=31d":         regexp.MustCompile(`id="total-requests">[1-9]`),
		"/ui/billing/org/acme-data?frame=this-year": regexp.MustCompile(`id="net">\$[0-9,]*[1-9]`),
		"/ui/copilot/org/acme-data?days=90":         regexp.MustCompile(`id="report-days">[1-9]`),
		"/ui/rate-limits":                           regexp.MustCompile(`data-resource="core"`),
	} {
		if _, body := c.get(path); !marker.MatchString(body) {
			t.Errorf("%s does not show acme-data's numbers (%s)", path, marker)
		}
	}
	for _, path := range []string{"/ui/billing/org/acme-data/usage.csv?frame=this-year", "/ui/billing/org/acme-data?frame=this-year&group=costcenter"} {
		if seen[path] == 0 {
			if resp, body := c.get(path); resp.StatusCode != 200 || strings.Contains(body, others[0]) || strings.Contains(body, others[1]) {
				t.Errorf("%s: %d", path, resp.StatusCode)
			}
		}
	}
	if _, body := c.get("/ui/billing"); strings.Contains(body, "/ui/billing/enterprise/") {
		t.Error("the billing index lists an enterprise")
	}

	// Every other account's address: 404, naming nothing.
	var probes []string
	for _, o := range append(slices.Clone(others), ent) {
		e := url.PathEscape(o)
		probes = append(probes, "/ui/insights/"+e, "/ui/insights/"+e+"/users/1", "/ui/insights/"+e+"/actors/installation/1",
			"/ui/billing/org/"+e, "/ui/billing/org/"+e+"/usage.csv", "/ui/billing/enterprise/"+e, "/ui/billing/enterprise/"+e+"/usage.csv",
			"/ui/copilot/org/"+e, "/ui/copilot/enterprise/"+e, "/ui/server-stats/"+e)
	}
	for _, path := range probes {
		resp, body := c.get(path)
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 404 (or 403) as the API answers", path, resp.StatusCode)
		}
		for _, o := range others {
			if strings.Contains(body, o) {
				t.Errorf("%s (%d) names %s", path, resp.StatusCode, o)
			}
		}
		if entWord.MatchString(body) {
			t.Errorf("%s (%d) names the enterprise", path, resp.StatusCode)
		}
	}

	// Signed out: every page crawled, and every probe, goes to sign-in.
	paths := append(slices.Sorted(mapKeys(seen)), probes...)
	backToSignIn := func(why, reason string) {
		t.Helper()
		for _, path := range paths {
			resp, _ := c.get(path)
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/signin?") || !strings.Contains(loc, reason) {
				t.Errorf("%s, %s: %d to %q, want the sign-in page (%s)", why, path, resp.StatusCode, loc, reason)
				return
			}
		}
	}
	_, page := c.get("/ui/insights")
	if resp, _ := c.do(http.MethodPost, "/ui/signout", url.Values{"csrf": {csrfOf(t, page)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	backToSignIn("signed out", "next=")
	// Signed in again, then the token is revoked: the same.
	c.signIn(secret)
	if resp, _ := c.get("/ui/billing/org/acme-data"); resp.StatusCode != http.StatusOK {
		t.Fatalf("signed in again: %d", resp.StatusCode)
	}
	if err := env.Store.RevokeToken(ctx, tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.get("/ui/copilot/org/acme-data"); !strings.Contains(resp.Header.Get("Location"), "reason=revoked") {
		t.Errorf("the first page after revocation: %d to %q, want sign-in saying revoked", resp.StatusCode, resp.Header.Get("Location"))
	}
	backToSignIn("revoked", "next=")
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
