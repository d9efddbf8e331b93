package storetest

import (
	"fmt"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/usage"
)

// RunCostCenterAttribution checks, on stores that keep both the billing
// ledger and cost centers, that usage goes to the cost center its
// resource was in when it happened, and that the cost centers' usage plus
// the unassigned usage is the enterprise's, exactly.
func RunCostCenterAttribution(t *testing.T, open Replicas) {
	t.Run("SumsToTheTotal", func(t *testing.T) {
		t.Parallel()
		testAttributionSums(t, newAttrFixture(t, open(t, 1)[0]))
	})
	t.Run("MoveAtNoon", func(t *testing.T) {
		t.Parallel()
		testAttributionMoveAtNoon(t, newAttrFixture(t, open(t, 1)[0]))
	})
	t.Run("Precedence", func(t *testing.T) {
		t.Parallel()
		testAttributionPrecedence(t, newAttrFixture(t, open(t, 1)[0]))
	})
}

// attrMonth is the month the attribution cases generate usage in.
var attrMonth = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

type attrFixture struct {
	st     usage.Store
	ent    *usage.Enterprise
	clock  time.Time
	cc     *billing.CostCenters
	ledger *billing.Service
}

func newAttrFixture(t *testing.T, st usage.Store) *attrFixture {
	t.Helper()
	ls, ok := st.(billing.Store)
	cs, ok2 := st.(billing.CostCenterStore)
	if !ok || !ok2 {
		t.Skip("backend does not keep both the billing ledger and cost centers")
	}
	ctx := t.Context()
	ent := &usage.Enterprise{Slug: "acme", Name: "Acme", CreatedAt: testTime}
	must(t, "enterprise", st.CreateEnterprise(ctx, ent))
	for _, org := range []string{"acme-web", "acme-data"} {
		must(t, "org", st.CreateOrganization(ctx, &usage.Organization{Login: org, EnterpriseID: ent.ID, CreatedAt: testTime}))
		for i := range 4 {
			must(t, "repo", st.CreateRepository(ctx, &usage.Repository{OwnerLogin: org, Name: fmt.Sprint("repo", i), Private: true}))
			must(t, "user", st.CreateUser(ctx, &usage.User{Login: fmt.Sprintf("%s-user%d", org, i), CreatedAt: testTime}))
		}
	}
	must(t, "team", cs.CreateEnterpriseTeam(ctx, &billing.EnterpriseTeam{EnterpriseID: ent.ID, Slug: "platform", Name: "Platform",
		CreatedAt: testTime, Members: []string{"acme-web-user1", "acme-data-user1"}}))
	f := &attrFixture{st: st, ent: ent, clock: attrMonth}
	now := func() time.Time { return f.clock }
	catalog := billing.DefaultCatalog()
	f.cc = &billing.CostCenters{Store: cs, Now: now}
	f.ledger = billing.NewService(ls, catalog, func() time.Time { return attrMonth.AddDate(0, 1, 0) })
	f.ledger.Accounts = st
	f.ledger.Attribution = &billing.CostCenterAttribution{Store: cs, Accounts: st}
	return f
}

func (f *attrFixture) create(t *testing.T, name string) string {
	t.Helper()
	cc, err := f.cc.Create(t.Context(), f.ent.ID, billing.CreateCostCenter{Name: &name})
	must(t, "create "+name, err)
	return cc.ID
}

// at moves the clock to day d, hour h of the month.
func (f *attrFixture) at(d, h, m int) {
	f.clock = attrMonth.Add(time.Duration(d-1)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

func (f *attrFixture) add(t *testing.T, id string, req billing.ResourceRequest) {
	t.Helper()
	_, err := f.cc.AddResources(t.Context(), f.ent.ID, id, req)
	must(t, "add resources", err)
}

type totals struct{ gross, discount, net billing.Amount }

func (a totals) add(b totals) totals {
	return totals{a.gross.Add(b.gross), a.discount.Add(b.discount), a.net.Add(b.net)}
}

// summary sums the usage/summary items of the month for query q.
func (f *attrFixture) summary(t *testing.T, q url.Values) totals {
	t.Helper()
	q.Set("year", "2026")
	q.Set("month", "3")
	p, err := billing.ParseParams(q, billing.EndpointSummary, f.ledger.Catalog, attrMonth)
	must(t, "params "+q.Encode(), err)
	s, err := f.ledger.Summary(t.Context(), billing.Scope{Account: billing.Account{Kind: billing.KindEnterprise, Login: "acme"}}, p, billing.EndpointSummary)
	must(t, "summary "+q.Encode(), err)
	var out totals
	for _, it := range s.UsageItems {
		out = out.add(totals{it.GrossAmount, it.DiscountAmount, it.NetAmount})
	}
	return out
}

// usageTotal sums the usage endpoint's items for query q.
func (f *attrFixture) usageTotal(t *testing.T, q url.Values) totals {
	t.Helper()
	q.Set("year", "2026")
	q.Set("month", "3")
	p, err := billing.ParseParams(q, billing.EndpointUsage, f.ledger.Catalog, attrMonth)
	must(t, "params "+q.Encode(), err)
	r, err := f.ledger.Usage(t.Context(), billing.Scope{Account: billing.Account{Kind: billing.KindEnterprise, Login: "acme"}}, p)
	must(t, "usage "+q.Encode(), err)
	var out totals
	for _, it := range r.UsageItems {
		out = out.add(totals{it.GrossAmount, it.DiscountAmount, it.NetAmount})
	}
	return out
}

func vals(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q
}

// testAttributionSums generates a month of usage while resources move
// between cost centers (and one cost center is archived), then checks
// for every filter that the cost centers' usage plus the unassigned usage
// equals the enterprise total, to the nano-cent, on both usage endpoints.
func testAttributionSums(t *testing.T, f *attrFixture) {
	ctx := t.Context()
	web, data, plat, arch := f.create(t, "Web"), f.create(t, "Data"), f.create(t, "Platform"), f.create(t, "Archived")
	f.add(t, web, billing.ResourceRequest{Organizations: []string{"acme-web"}, Users: []string{"acme-web-user0"}})
	f.add(t, data, billing.ResourceRequest{Organizations: []string{"acme-data"}})
	f.add(t, plat, billing.ResourceRequest{Repositories: []string{"acme-web/repo1", "acme-data/repo1"}, EnterpriseTeams: []string{"platform"}})
	f.add(t, arch, billing.ResourceRequest{Repositories: []string{"acme-data/repo2"}, Users: []string{"acme-data-user2"}})
	f.at(8, 9, 30)
	f.add(t, plat, billing.ResourceRequest{Repositories: []string{"acme-web/repo2"}}) // from the org's cost center to the platform's
	f.at(12, 12, 0)
	f.add(t, data, billing.ResourceRequest{Repositories: []string{"acme-web/repo1"}}) // platform → data
	f.at(15, 0, 0)
	_, err := f.cc.Delete(ctx, f.ent.ID, arch)
	must(t, "archive", err)
	f.at(20, 17, 45)
	must(t, "remove", f.cc.RemoveResources(ctx, f.ent.ID, data, billing.ResourceRequest{Organizations: []string{"acme-data"}}))
	f.at(25, 3, 0)
	f.add(t, web, billing.ResourceRequest{Users: []string{"acme-data-user3"}, Organizations: []string{"acme-data"}})

	g := billinggen.Gen{Seed: 7, N: 3000, Start: attrMonth, End: attrMonth.AddDate(0, 1, 0), Enterprise: "acme",
		Orgs: []string{"acme-web", "acme-data"}, Repos: 4, Users: 4, IDPrefix: "attr-"}
	_, err = f.ledger.Ingest(ctx, g.Records())
	must(t, "ingest", err)

	ids := []string{web, data, plat, arch}
	for _, filter := range []url.Values{
		vals(), vals("product", "actions"), vals("product", "copilot"), vals("organization", "acme-data"),
		vals("repository", "acme-web/repo1"), vals("sku", "actions_linux"), vals("day", "12"), vals("day", "20"),
	} {
		total := f.summary(t, filter)
		if total.gross.IsZero() {
			t.Fatalf("filter %v: no usage; the generated data should have some", filter)
		}
		sum := f.summary(t, withCC(filter, "none"))
		nonEmpty := 0
		for _, id := range ids {
			part := f.summary(t, withCC(filter, id))
			if !part.gross.IsZero() {
				nonEmpty++
			}
			sum = sum.add(part)
		}
		if sum != total {
			t.Fatalf("filter %v: cost centers plus unassigned = gross %s, discount %s, net %s; the total is gross %s, discount %s, net %s",
				filter, sum.gross, sum.discount, sum.net, total.gross, total.discount, total.net)
		}
		if filter.Encode() == "" && nonEmpty != len(ids) {
			t.Fatalf("only %d of %d cost centers have usage; the moves should give each some", nonEmpty, len(ids))
		}
		// The usage endpoint: its default is the unassigned usage.
		usum := f.usageTotal(t, withCC(filter, "none"))
		if d := f.usageTotal(t, filter); d != usum {
			t.Fatalf("filter %v: usage without cost_center_id = %v, want the unassigned usage %v", filter, d, usum)
		}
		for _, id := range ids {
			usum = usum.add(f.usageTotal(t, withCC(filter, id)))
		}
		if usum != total {
			t.Fatalf("filter %v: usage items over cost centers plus unassigned = %v, summary total %v", filter, usum, total)
		}
	}
	// The archived cost center kept its usage from before it was archived, and has none after.
	before := f.summary(t, vals("cost_center_id", arch, "day", "14"))
	after := f.summary(t, vals("cost_center_id", arch, "day", "16"))
	if before.gross.IsZero() || !after.gross.IsZero() {
		t.Fatalf("archived cost center: day 14 gross %s (want some), day 16 gross %s (want none)", before.gross, after.gross)
	}
}

func withCC(q url.Values, id string) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = v
	}
	c.Set("cost_center_id", id)
	return c
}

// testAttributionMoveAtNoon moves a repository from A to B at 12:00: its
// 11:59 job is A's and its 12:01 job B's, in the hourly, daily and
// monthly reports, on both usage endpoints, and in the CSV exports.
func testAttributionMoveAtNoon(t *testing.T, f *attrFixture) {
	ctx := t.Context()
	a, b := f.create(t, "A"), f.create(t, "B")
	f.add(t, a, billing.ResourceRequest{Repositories: []string{"acme-web/repo0"}})
	f.at(10, 12, 0)
	f.add(t, b, billing.ResourceRequest{Repositories: []string{"acme-web/repo0"}})
	job := func(id, sku string, h, m int, minutes int64) billing.Record {
		return billing.Record{ID: id, Timestamp: attrMonth.Add(9*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute),
			Product: "actions", SKU: sku, Unit: billing.UnitMinutes, Quantity: billing.Units(minutes),
			Enterprise: "acme", Organization: "acme-web", Repository: "acme-web/repo0"}
	}
	// A larger runner (never included) and a standard one, whose included
	// minutes must go to the 11:59 job, the earlier one.
	_, err := f.ledger.Ingest(ctx, []billing.Record{
		job("j1159", "actions_linux_4_core", 11, 59, 3), job("j1201", "actions_linux_4_core", 12, 1, 5),
		job("s1159", "actions_linux", 11, 59, 7), job("s1201", "actions_linux", 12, 1, 11),
	})
	must(t, "ingest", err)
	scope := billing.Scope{Account: billing.Account{Kind: billing.KindEnterprise, Login: "acme"}}
	minutes := func(ep billing.Endpoint, q url.Values, sku string) (gross, disc billing.Quantity) {
		q.Set("year", "2026")
		q.Set("month", "3")
		q.Set("sku", sku)
		p, err := billing.ParseParams(q, ep, f.ledger.Catalog, attrMonth)
		must(t, "params", err)
		if ep == billing.EndpointUsage {
			r, err := f.ledger.Usage(ctx, scope, p)
			must(t, "usage", err)
			for _, it := range r.UsageItems {
				gross, disc = gross+it.Quantity, disc+it.DiscountQuantity()
			}
			return gross, disc
		}
		s, err := f.ledger.Summary(ctx, scope, p, billing.EndpointSummary)
		must(t, "summary", err)
		for _, it := range s.UsageItems {
			gross, disc = gross+it.GrossQuantity, disc+it.DiscountQuantity
		}
		return gross, disc
	}
	for _, ep := range []billing.Endpoint{billing.EndpointSummary, billing.EndpointUsage} {
		for _, c := range []struct {
			period   []string
			cc       string
			larger   int64
			standard int64
		}{
			{[]string{"day", "10", "hour", "11"}, a, 3, 7}, {[]string{"day", "10", "hour", "11"}, b, 0, 0},
			{[]string{"day", "10", "hour", "12"}, a, 0, 0}, {[]string{"day", "10", "hour", "12"}, b, 5, 11},
			{[]string{"day", "10"}, a, 3, 7}, {[]string{"day", "10"}, b, 5, 11},
			{nil, a, 3, 7}, {nil, b, 5, 11},
		} {
			q := vals(append(c.period, "cost_center_id", c.cc)...)
			if got, _ := minutes(ep, q, "actions_linux_4_core"); got != billing.Units(c.larger) {
				t.Errorf("endpoint %v, %v: %v larger-runner minutes, want %d", ep, q, got, c.larger)
			}
			got, disc := minutes(ep, q, "actions_linux")
			if got != billing.Units(c.standard) || disc != got {
				t.Errorf("endpoint %v, %v: %v standard minutes with %v included, want %d all included", ep, q, got, disc, c.standard)
			}
		}
	}
	// Nothing is left unassigned and nothing is counted twice.
	if got, _ := minutes(billing.EndpointSummary, vals("cost_center_id", "none"), "actions_linux_4_core"); got != 0 {
		t.Errorf("unassigned: %v minutes, want 0", got)
	}
	if got, _ := minutes(billing.EndpointSummary, vals(), "actions_linux_4_core"); got != billing.Units(8) {
		t.Errorf("all: %v minutes, want 8", got)
	}
	// The exports name each job's cost center.
	for _, typ := range []string{billing.ReportSummarized, billing.ReportDetailed} {
		var csv strings.Builder
		rep := &billing.ReportExport{Enterprise: "acme", Type: typ, Start: billing.DateOf(attrMonth), End: billing.DateOf(attrMonth.AddDate(0, 1, -1))}
		must(t, "csv "+typ, f.ledger.WriteReportCSV(ctx, rep, &csv))
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(csv.String()), "\n")[1:] {
			fields := strings.Split(line, ",")
			if fields[2] == "actions_linux_4_core" {
				got[fields[3]] = fields[len(fields)-1]
			}
		}
		if want := map[string]string{"3": "A", "5": "B"}; !maps.Equal(got, want) {
			t.Errorf("%s export: larger-runner quantity → cost center %v, want %v\n%s", typ, got, want, csv.String())
		}
	}
}

// testAttributionPrecedence checks GitHub's order: for licences and
// premium requests the user, then the user's enterprise team, then the
// organization; for Actions and storage the repository, then the organization.
func testAttributionPrecedence(t *testing.T, f *attrFixture) {
	ctx := t.Context()
	user, team, org, repo := f.create(t, "User"), f.create(t, "Team"), f.create(t, "Org"), f.create(t, "Repo")
	f.add(t, user, billing.ResourceRequest{Users: []string{"acme-web-user0"}})
	f.add(t, team, billing.ResourceRequest{EnterpriseTeams: []string{"platform"}}) // acme-web-user1, acme-data-user1
	f.add(t, org, billing.ResourceRequest{Organizations: []string{"acme-web"}})
	f.add(t, repo, billing.ResourceRequest{Repositories: []string{"acme-web/repo3"}})
	ts := attrMonth.Add(48 * time.Hour)
	rec := func(id, sku, unit, user, repo string) billing.Record {
		sk := f.ledger.Catalog.SKU(sku)
		return billing.Record{ID: id, Timestamp: ts, Product: sk.Product, SKU: sku, Unit: unit, Quantity: billing.Units(1),
			Enterprise: "acme", Organization: "acme-web", Repository: repo, Username: user}
	}
	recs := []billing.Record{
		rec("p-user", "copilot_premium_request", billing.UnitRequests, "acme-web-user0", ""),           // user
		rec("p-team", "copilot_premium_request", billing.UnitRequests, "acme-web-user1", ""),           // team
		rec("p-org", "copilot_premium_request", billing.UnitRequests, "acme-web-user2", ""),            // organization
		rec("a-repo", "actions_linux_4_core", billing.UnitMinutes, "acme-web-user0", "acme-web/repo3"), // repository, not the user
		rec("a-org", "actions_linux_4_core", billing.UnitMinutes, "acme-web-user1", "acme-web/repo0"),  // organization, not the team
	}
	for i := range recs {
		if recs[i].Unit == billing.UnitRequests {
			recs[i].Model = "GPT-5"
		}
	}
	_, err := f.ledger.Ingest(ctx, recs)
	must(t, "ingest", err)
	rows, err := f.ledger.Store.BillingRows(ctx, billing.Query{Account: billing.Account{Kind: billing.KindEnterprise, Login: "acme"}, Level: billing.LevelDay,
		From: attrMonth, To: attrMonth.AddDate(0, 1, 0)})
	must(t, "rows", err)
	ix, err := f.ledger.Attribution.Memberships(ctx, "acme", attrMonth, attrMonth.AddDate(0, 1, 0))
	must(t, "memberships", err)
	want := map[string]string{"copilot_premium_request|acme-web-user0": user, "copilot_premium_request|acme-web-user1": team,
		"copilot_premium_request|acme-web-user2": org, "actions_linux_4_core|acme-web/repo3": repo, "actions_linux_4_core|acme-web/repo0": org}
	for _, r := range rows {
		k := r.SKU + "|" + r.Username
		if r.Repository != "" {
			k = r.SKU + "|" + r.Repository
		}
		got := ix.Of(f.ledger.Catalog.SKU(r.SKU).Product, r.Organization, r.Repository, r.Username, r.Bucket)
		if w, ok := want[k]; !ok || got.ID != w {
			t.Errorf("row %s attributed to %q (%s), want %q", k, got.ID, got.Name, w)
		}
		delete(want, k)
	}
	if len(want) != 0 {
		t.Errorf("rows missing: %v", want)
	}
}
