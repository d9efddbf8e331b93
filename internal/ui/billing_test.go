package ui_test

import (
	"encoding/csv"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// seedBilling ingests generated usage for acme's organizations over the
// previous and current month, through the billing service.
func seedBilling(t *testing.T, env *testenv.Env, now time.Time) {
	t.Helper()
	start := billing.DateOf(now).MonthStart().Time().AddDate(0, -1, 0)
	g := &billinggen.Gen{Seed: 7, N: 3000, Start: start, End: now.Add(-time.Minute), Enterprise: "acme",
		Orgs: []string{"acme-web", "acme-data"}, Repos: 15, Users: 6, IDPrefix: "ui-"}
	if _, err := env.Server.API.Billing.Ingest(t.Context(), g.Records()); err != nil {
		t.Fatal(err)
	}
}

// decimal sums exact decimal strings.
func decimal(t *testing.T, vals ...string) *big.Rat {
	t.Helper()
	sum := new(big.Rat)
	for _, v := range vals {
		r, ok := new(big.Rat).SetString(v)
		if !ok {
			t.Fatalf("%q is not a decimal", v)
		}
		sum.Add(sum, r)
	}
	return sum
}

// TestBillingView: the breakdown's CSV has the page's rows, its groups
// and "Other" add up exactly to the total, and the total equals the sum
// of the API's usage items for the same period and filters; the table
// shows the same rows; a token that may not read acme's billing sees none.
func TestBillingView(t *testing.T) {
	env := testenv.New(t)
	now := time.Now().UTC()
	seedBilling(t, env, now)
	// A cost center holding acme-data since before the usage: the view adds
	// its usage to the unassigned usage, and can group by it.
	cc := &billing.CostCenter{ID: billing.NewUUID(), EnterpriseID: env.Data.Enterprise.ID, Name: "Data platform"}
	if err := env.Store.CreateCostCenter(t.Context(), cc, billing.MaxActiveCostCenters); err != nil {
		t.Fatal(err)
	}
	since := billing.DateOf(now).MonthStart().Time().AddDate(0, -2, 0)
	if _, err := env.Store.AddCostCenterResources(t.Context(), env.Data.Enterprise.ID, cc.ID,
		[]billing.Resource{{Type: billing.ResourceOrg, Name: "acme-data"}}, since); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, env)
	c.signIn(env.AdminToken)

	_, page := c.get("/ui/billing")
	if !strings.Contains(page, `href="/ui/billing/enterprise/acme"`) {
		t.Fatal("the billing index does not list acme")
	}
	for _, tc := range []struct{ query, apiQuery string }{
		{"group=repository", ""},
		{"group=sku&frame=last-month", ""},
		{"group=organization&product=actions", "product=actions"},
		{"group=product&organization=acme-data", "organization=acme-data"},
		{"group=costcenter", ""},
	} {
		resp, page := c.get("/ui/billing/enterprise/acme?" + tc.query)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", tc.query, resp.StatusCode)
		}
		rows := table(t, page, "billing-table")
		resp, body := c.get("/ui/billing/enterprise/acme/usage.csv?" + tc.query)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%s CSV: %d %s", tc.query, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		recs = recs[1:]
		if len(recs) != len(rows) || len(rows) < 2 {
			t.Fatalf("%s: the CSV has %d rows, the table %d", tc.query, len(recs), len(rows))
		}
		n := len(recs[0])
		var groupsNet []string
		for i, rec := range recs {
			if rec[0] != rows[i][0] {
				t.Errorf("%s: CSV row %d is %q, the table's %q", tc.query, i, rec[0], rows[i][0])
			}
			if i < len(recs)-1 {
				groupsNet = append(groupsNet, rec[n-1])
			}
		}
		total := recs[len(recs)-1]
		if total[0] != "Total" || decimal(t, groupsNet...).Cmp(decimal(t, total[n-1])) != 0 {
			t.Errorf("%s: the groups' net amounts do not add up to the total %s", tc.query, total[n-1])
		}
		if decimal(t, total[n-3]).Cmp(new(big.Rat).Add(decimal(t, total[n-2]), decimal(t, total[n-1]))) != 0 {
			t.Errorf("%s: gross %s ≠ discount %s + net %s", tc.query, total[n-3], total[n-2], total[n-1])
		}
		// The API's usage summary (all usage; usage alone is the part without
		// a cost center) for the same period and filters sums to the same total.
		api := url.Values{"year": {now.Format("2006")}, "month": {now.Format("1")}}
		if strings.Contains(tc.query, "last-month") {
			last := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
			api = url.Values{"year": {last.Format("2006")}, "month": {last.Format("1")}}
		}
		extra, _ := url.ParseQuery(tc.apiQuery)
		for k, v := range extra {
			api[k] = v
		}
		_, body = env.Get(t, "/enterprises/acme/settings/billing/usage/summary?"+api.Encode(), env.AdminToken)
		var rep struct {
			Items []struct {
				Gross json.Number `json:"grossAmount"`
				Net   json.Number `json:"netAmount"`
			} `json:"usageItems"`
		}
		d := json.NewDecoder(strings.NewReader(body))
		d.UseNumber()
		if err := d.Decode(&rep); err != nil {
			t.Fatal(err)
		}
		var nets, grosses []string
		for _, it := range rep.Items {
			nets, grosses = append(nets, it.Net.String()), append(grosses, it.Gross.String())
		}
		if len(rep.Items) == 0 || decimal(t, nets...).Cmp(decimal(t, total[n-1])) != 0 || decimal(t, grosses...).Cmp(decimal(t, total[n-3])) != 0 {
			t.Errorf("%s: the API's %d items sum to gross %s, net %s; the page's total is %s, %s", tc.query, len(rep.Items),
				decimal(t, grosses...).FloatString(6), decimal(t, nets...).FloatString(6), total[n-3], total[n-1])
		}
		if tc.query == "group=costcenter" {
			// The cost center's row equals the API's usage for that cost center.
			var ccRep struct {
				Items []struct {
					Net json.Number `json:"netAmount"`
				} `json:"usageItems"`
			}
			api.Set("cost_center_id", cc.ID)
			_, body := env.Get(t, "/enterprises/acme/settings/billing/usage?"+api.Encode(), env.AdminToken)
			d := json.NewDecoder(strings.NewReader(body))
			d.UseNumber()
			if err := d.Decode(&ccRep); err != nil {
				t.Fatal(err)
			}
			var ccNets []string
			for _, it := range ccRep.Items {
				ccNets = append(ccNets, it.Net.String())
			}
			found := false
			for _, rec := range recs {
				if rec[0] == "Data platform" {
					found = true
					if decimal(t, rec[n-1]).Cmp(decimal(t, ccNets...)) != 0 || len(ccRep.Items) == 0 {
						t.Errorf("cost center row net %s; usage?cost_center_id answers %s over %d items", rec[n-1], decimal(t, ccNets...).FloatString(6), len(ccRep.Items))
					}
				}
			}
			if !found || !strings.Contains(page, "(no cost center)") || !strings.Contains(page, "<code>Org acme-data</code>") {
				t.Errorf("group=costcenter: rows %v; the page should list the cost center, its resource and the unassigned usage", rows)
			}
		}
		if !strings.Contains(page, `id="net">`) || strings.Count(page, `<g class="pt" data-label=`) < 1 {
			t.Errorf("%s: the page lacks its net tile or chart points", tc.query)
		}
	}
	if resp, page := c.get("/ui/billing/enterprise/acme?sku=no_such_sku"); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "sku") {
		t.Errorf("an unknown SKU: %d, want 422 naming sku", resp.StatusCode)
	}

	// An enterprise member who is not an owner: nothing, as the API answers.
	member := env.Data.Users[len(env.Data.Users)-1]
	secret, err := demo.IssueToken(t.Context(), env.Store, &usage.Token{Type: usage.ActorClassicPAT, UserID: member.ID,
		Scopes: []string{"manage_billing:enterprise", "repo"}, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := env.Get(t, "/enterprises/acme/settings/billing/usage", secret); resp.StatusCode == http.StatusOK {
		t.Fatal("the API lets a member read acme's usage; the test expects it not to")
	}
	m := newClient(t, env)
	m.signIn(secret)
	if _, page := m.get("/ui/billing"); strings.Contains(page, "/ui/billing/enterprise/acme") {
		t.Error("a member sees acme on the billing index")
	}
	for _, path := range []string{"/ui/billing/enterprise/acme", "/ui/billing/enterprise/acme/usage.csv"} {
		if resp, body := m.get(path); resp.StatusCode == http.StatusOK || strings.Contains(body, "acme-web") {
			t.Errorf("a member opens %s: %d", path, resp.StatusCode)
		}
	}
}
