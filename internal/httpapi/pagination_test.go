package httpapi

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ghusage/ghusage/internal/usage"
)

func TestLinkHeader(t *testing.T) {
	base, _ := url.Parse("http://h/api/v3/orgs/o/insights/api/route-stats/x/1?min_timestamp=2024-01-01T00:00:00Z&page=2")
	cases := []struct {
		page, per, total int
		want             []string // rel=page pairs in order
	}{
		{1, 30, 0, nil},
		{1, 30, 30, nil},
		{1, 30, 31, []string{"next=2", "last=2"}},
		{2, 30, 31, []string{"prev=1", "first=1"}},
		{2, 10, 95, []string{"prev=1", "next=3", "last=10", "first=1"}},
		{10, 10, 95, []string{"prev=9", "first=1"}},
		{12, 10, 95, []string{"prev=10", "first=1"}}, // past the end: prev points at the last page
	}
	for _, c := range cases {
		got := LinkHeader(base, usage.Page{Number: c.page, PerPage: c.per}, c.total)
		var rels []string
		if got != "" {
			for _, part := range strings.Split(got, ", ") {
				u := part[1:strings.Index(part, ">")]
				rel := part[strings.Index(part, `rel="`)+5 : len(part)-1]
				pu, err := url.Parse(u)
				if err != nil {
					t.Fatal(err)
				}
				if pu.Query().Get("min_timestamp") != "2024-01-01T00:00:00Z" || pu.Query().Get("per_page") == "" {
					t.Errorf("link %q dropped the other parameters", u)
				}
				if !strings.HasPrefix(u, "http://h/api/v3/orgs/") {
					t.Errorf("link %q lost the path", u)
				}
				rels = append(rels, rel+"="+pu.Query().Get("page"))
			}
		}
		if strings.Join(rels, " ") != strings.Join(c.want, " ") {
			t.Errorf("page %d/%d of %d: rels %v, want %v", c.page, c.per, c.total, rels, c.want)
		}
	}
}

func TestGithubRoute(t *testing.T) {
	for in, want := range map[string]string{
		"/orgs/{org}/insights/api/summary-stats":                       "/orgs/:org/insights/api/summary-stats",
		"/orgs/{org}/insights/api/route-stats/{actor_type}/{actor_id}": "/orgs/:org/insights/api/route-stats/:actor_type/:actor_id",
		"/rate_limit": "/rate_limit",
	} {
		if got := githubRoute(in); got != want {
			t.Errorf("githubRoute(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMediaType(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   "github.v3; format=json",
		"application/vnd.github+json":        "github.v3; format=json",
		"application/vnd.github.v3.raw+json": "github.v3; param=raw; format=json",
		"text/html, application/vnd.github.v3+json": "github.v3; format=json",
	} {
		if got := mediaType(in); got != want {
			t.Errorf("mediaType(%q) = %q, want %q", in, got, want)
		}
	}
}

// Links write each parameter once: a repeated value is dropped, distinct
// values of a key are kept in the order the request gave them.
func TestLinkHeaderIsCanonical(t *testing.T) {
	base, _ := url.Parse("http://h/orgs/o/insights/api/subject-stats?sort=b&sort=a&sort=b" +
		strings.Repeat("&sort=a", 500) + "&page=1&page=1&per_page=5&min_timestamp=2024-01-01")
	got := LinkHeader(base, usage.Page{Number: 1, PerPage: 5}, 12)
	want := `<http://h/orgs/o/insights/api/subject-stats?min_timestamp=2024-01-01&page=2&per_page=5&sort=b&sort=a>; rel="next", ` +
		`<http://h/orgs/o/insights/api/subject-stats?min_timestamp=2024-01-01&page=3&per_page=5&sort=b&sort=a>; rel="last"`
	if got != want {
		t.Fatalf("Link\n got %s\nwant %s", got, want)
	}
}
