package billing

import (
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

func TestUUIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewUUID()
		if !ValidUUID(id) || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) || seen[id] {
			t.Fatalf("NewUUID gave %q (version 4, variant 10, unique)", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "1234", "2eeb8ffe-6903-11ee-8c99-0242ac12000", "2eeb8ffe-6903-11ee-8c99-0242ac12000g", "2eeb8ffe+6903-11ee-8c99-0242ac120002"} {
		if ValidUUID(bad) {
			t.Errorf("ValidUUID(%q) = true", bad)
		}
	}
	if !ValidUUID("2EEB8FFE-6903-11EE-8C99-0242AC120002") {
		t.Error("upper-case UUIDs are UUIDs")
	}
}

func TestResourceRequest(t *testing.T) {
	rs, err := ResourceRequest{Users: []string{"Mona", "mona", " hubot "}, Repositories: []string{"acme/web"}, EnterpriseTeams: []string{"t"}}.Resources()
	if err != nil || len(rs) != 4 || rs[1].Name != "hubot" {
		t.Fatalf("Resources() = %+v, %v: duplicates ignoring case dropped, names trimmed", rs, err)
	}
	many := make([]string, 51)
	for i := range many {
		many[i] = "u" + strings.Repeat("x", i)
	}
	for _, c := range []struct {
		q    ResourceRequest
		want string
	}{
		{ResourceRequest{}, "at least one"},
		{ResourceRequest{Users: []string{}}, "at least one"},
		{ResourceRequest{Users: many}, "51 resources"},
		{ResourceRequest{Users: many[:30], Organizations: many[:21]}, "51 resources"},
		{ResourceRequest{Repositories: []string{"noslash"}}, "repositories[0]"},
		{ResourceRequest{Repositories: []string{"a/b/c"}}, "owner/repo"},
		{ResourceRequest{Organizations: []string{" "}}, "organizations[0] is empty"},
	} {
		_, err := c.q.Resources()
		if usage.ErrorKind(err) != usage.KindBadRequest || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want a 400 containing %q", c.q, err, c.want)
		}
	}
	if _, err := (ResourceRequest{Users: many[:50]}).Resources(); err != nil {
		t.Errorf("50 resources: %v", err)
	}
}

func TestValidName(t *testing.T) {
	if err := ValidName(strings.Repeat("é", 255)); err != nil {
		t.Errorf("255 characters (510 bytes): %v", err)
	}
	for _, bad := range []string{"", "  ", strings.Repeat("n", 256), "\xff"} {
		if err := ValidName(bad); usage.ErrorKind(err) != usage.KindBadRequest {
			t.Errorf("ValidName(%q) = %v, want a 400", bad, err)
		}
	}
}

func TestPercent(t *testing.T) {
	cents := func(c int64) Amount { return Mul(Quantity(c*nano/100), Price(nano)) }
	for _, c := range []struct {
		consumed Amount
		budget   int64
		want     int64
	}{
		{cents(749), 10, 74}, {cents(750), 10, 75}, {cents(1000), 10, 100}, {cents(1), 0, 100}, {Amount{}, 0, 0}, {cents(12345), 100, 123},
	} {
		if got := Percent(c.consumed, c.budget); got != c.want {
			t.Errorf("Percent(%s, %d) = %d, want %d", c.consumed, c.budget, got, c.want)
		}
	}
}

func TestAttributionIndex(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ms := []Membership{
		{CostCenterID: "a", Resource: Resource{ResourceRepo, "Acme/Web"}, Start: t0, End: t0.Add(time.Hour)},
		{CostCenterID: "b", Resource: Resource{ResourceRepo, "acme/web"}, Start: t0.Add(time.Hour)},
		{CostCenterID: "o", Resource: Resource{ResourceOrg, "acme"}, Start: t0},
		{CostCenterID: "t1", Resource: Resource{ResourceTeam, "old"}, Start: t0},
		{CostCenterID: "t2", Resource: Resource{ResourceTeam, "new"}, Start: t0},
	}
	teams := []*EnterpriseTeam{{Slug: "new", CreatedAt: t0.Add(time.Hour), Members: []string{"Mona"}}, {Slug: "old", CreatedAt: t0, Members: []string{"mona"}}}
	ix := NewAttributionIndex(ms, []*CostCenter{{ID: "a", Name: "A"}, {ID: "b", Name: "B"}}, teams)
	for _, c := range []struct {
		product, org, repo, user string
		at                       time.Time
		want                     string
	}{
		{"actions", "acme", "acme/web", "mona", t0.Add(59 * time.Minute), "a"},
		{"actions", "acme", "acme/web", "mona", t0.Add(time.Hour), "b"},
		{"actions", "acme", "acme/other", "mona", t0, "o"},
		{"actions", "", "acme/other", "", t0, "o"}, // the organization from the repository's owner
		{"copilot", "acme", "", "mona", t0, "t1"},  // the oldest team that is in a cost center
		{"copilot", "acme", "", "hubot", t0, "o"},
		{"packages", "globex", "globex/x", "", t0, ""},
		{"actions", "acme", "acme/web", "", t0.Add(-time.Second), ""}, // before any membership
	} {
		if got := ix.Of(c.product, c.org, c.repo, c.user, c.at); got.ID != c.want {
			t.Errorf("Of(%s, %s, %s, %s, %v) = %q, want %q", c.product, c.org, c.repo, c.user, c.at, got.ID, c.want)
		}
	}
	if got := ix.Of("actions", "acme", "acme/web", "", t0); got.Name != "A" {
		t.Errorf("names: %+v", got)
	}
}
