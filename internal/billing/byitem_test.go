package billing_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
)

// fixedAttribution attributes with one index.
type fixedAttribution struct{ ix *billing.AttributionIndex }

func (a fixedAttribution) CostCenter(_ context.Context, _, id string) (billing.CostCenterRef, error) {
	return billing.CostCenterRef{ID: id, Name: "cc " + id}, nil
}
func (a fixedAttribution) Memberships(context.Context, string, time.Time, time.Time) (*billing.AttributionIndex, error) {
	return a.ix, nil
}

// TestItemRowsAttributeAsUserRows checks that answers computed from rows
// summed over users (no cost center holds a user or team) equal those
// computed from per-user rows (forced by a user membership of a user
// without usage), cost centers, mid-day moves and quotas included.
func TestItemRowsAttributeAsUserRows(t *testing.T) {
	ctx := context.Background()
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := &billinggen.Gen{Seed: 3, N: 6000, Start: jan, End: jan.AddDate(0, 1, 0), Enterprise: "acme",
		Orgs: []string{"acme-web", "acme-data"}, Repos: 4, Users: 5, IDPrefix: "i-"}
	st := billing.NewMemStore()
	if _, err := st.BillingIngest(ctx, g.Records()); err != nil {
		t.Fatal(err)
	}
	ms := []billing.Membership{
		{CostCenterID: "a", Resource: billing.Resource{Type: billing.ResourceOrg, Name: "acme-web"}, Start: jan},
		{CostCenterID: "b", Resource: billing.Resource{Type: billing.ResourceRepo, Name: "acme-data/repo1"}, Start: jan.Add(9*24*time.Hour + 12*time.Hour + 17*time.Minute)},
		{CostCenterID: "c", Resource: billing.Resource{Type: billing.ResourceOrg, Name: "acme-data"}, Start: jan, End: jan.Add(19*24*time.Hour + 15*time.Hour + 30*time.Minute)},
	}
	ccs := []*billing.CostCenter{{ID: "a", Name: "cc a"}, {ID: "b", Name: "cc b"}, {ID: "c", Name: "cc c"}, {ID: "u", Name: "cc u"}}
	withUser := append(append([]billing.Membership{}, ms...),
		billing.Membership{CostCenterID: "u", Resource: billing.Resource{Type: billing.ResourceUser, Name: "nobody"}, Start: jan})
	ixItems, ixUsers := billing.NewAttributionIndex(ms, ccs, nil), billing.NewAttributionIndex(withUser, ccs, nil)
	if ixItems.NeedsUsers() || !ixUsers.NeedsUsers() {
		t.Fatal("NeedsUsers is wrong")
	}
	svc := func(ix *billing.AttributionIndex) *billing.Service {
		s := billing.NewService(st, billing.DefaultCatalog(), func() time.Time { return jan.AddDate(0, 2, 0) })
		s.Attribution = fixedAttribution{ix}
		return s
	}
	items, users := svc(ixItems), svc(ixUsers)
	sc := billing.Scope{Account: billing.Account{Kind: billing.KindEnterprise, Login: "acme"}}
	for _, c := range []struct {
		ep billing.Endpoint
		q  string
	}{
		{billing.EndpointUsage, "year=2026&month=1"},
		{billing.EndpointUsage, "year=2026&month=1&cost_center_id=b"},
		{billing.EndpointUsage, "year=2026&month=1&day=10"},
		{billing.EndpointUsage, "year=2026&month=1&day=20&cost_center_id=c"},
		{billing.EndpointSummary, "year=2026&month=1&cost_center_id=none"},
		{billing.EndpointSummary, "year=2026&month=1&organization=acme-data"},
		{billing.EndpointPremiumRequest, "year=2026&month=1&cost_center_id=a"},
		{billing.EndpointPremiumRequest, "year=2026&month=1"},
	} {
		vals, _ := url.ParseQuery(c.q)
		answer := func(s *billing.Service) string {
			p, err := billing.ParseParams(vals, c.ep, s.Catalog, s.Now())
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if c.ep == billing.EndpointUsage {
				v, err = s.Usage(ctx, sc, p)
			} else {
				v, err = s.Summary(ctx, sc, p, c.ep)
			}
			if err != nil {
				t.Fatalf("%s: %v", c.q, err)
			}
			b, _ := json.Marshal(v)
			return string(b)
		}
		if a, b := answer(items), answer(users); a != b {
			t.Errorf("%v %s: item rows answer\n%.300s\nper-user rows\n%.300s", c.ep, c.q, a, b)
		}
	}
	p, _ := billing.ParseParams(url.Values{"year": {"2026"}, "month": {"1"}}, billing.EndpointUsage, items.Catalog, items.Now())
	ra, ca, err := items.UsageByCostCenter(ctx, sc, p)
	if err != nil {
		t.Fatal(err)
	}
	rb, cb, err := users.UsageByCostCenter(ctx, sc, p)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(ra)
	jb, _ := json.Marshal(rb)
	if string(ja) != string(jb) || len(ca) != len(cb) {
		t.Fatal("UsageByCostCenter differs between item and per-user rows")
	}
	for i := range ca {
		if ca[i] != cb[i] {
			t.Fatalf("item %d: cost center %v, want %v", i, ca[i], cb[i])
		}
	}
}
