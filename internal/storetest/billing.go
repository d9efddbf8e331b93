package storetest

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/usage"
)

// RunBilling runs the billing ledger conformance cases against backends
// whose Store also implements billing.Store (others are skipped).
func RunBilling(t *testing.T, open func(t *testing.T) Backend) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s billing.Store)
	}{
		{"MatchesReference", testBillingMatchesReference},
		{"Dedup", testBillingDedup},
		{"DedupLarge", testBillingDedupLarge},
		{"Invariants", testBillingInvariants},
		{"Committers", testBillingCommitters},
		{"Version", testBillingVersion},
		{"KeptReads", testBillingKeptReads},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := open(t)
			bs, ok := b.Store.(billing.Store)
			if !ok {
				t.Skip("backend does not implement billing.Store")
			}
			c.fn(t, bs)
		})
	}
}

// billingGen is the generated usage of the billing cases: three months
// around the 2026-01-01 price change, an enterprise of two organizations
// and a standalone organization.
func billingGen(seed uint64, n int, ent string, orgs ...string) *billinggen.Gen {
	return &billinggen.Gen{Seed: seed, N: n, Start: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC),
		End: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Enterprise: ent, Orgs: orgs, Repos: 6, Users: 5,
		IDPrefix: fmt.Sprintf("%s-%d-", ent+strings.Join(orgs, ""), seed)}
}

var (
	acme = billing.Account{Kind: billing.KindEnterprise, Login: "acme"}
	solo = billing.Account{Kind: billing.KindOrganization, Login: "solo"}
)

func ingestBoth(t *testing.T, s billing.Store, ref *billing.MemStore, recs []billing.Record) {
	t.Helper()
	want, _ := ref.BillingIngest(t.Context(), recs)
	got, err := s.BillingIngest(t.Context(), recs)
	must(t, "BillingIngest", err)
	if got != want {
		t.Fatalf("BillingIngest = %+v, want %+v", got, want)
	}
}

func sortRows(rows []billing.Row) {
	slices.SortFunc(rows, func(a, b billing.Row) int {
		return billing.CompareRowDelta(billing.RowDelta{Row: a}, billing.RowDelta{Row: b})
	})
}

func testBillingMatchesReference(t *testing.T, s billing.Store) {
	ref := billing.NewMemStore()
	recs := billingGen(1, 3000, "acme", "acme-web", "acme-data").Records()
	recs = append(recs, billingGen(2, 500, "", "solo").Records()...)
	// Three overlapping batches: the second re-sends part of the first.
	ingestBoth(t, s, ref, recs[:1500])
	ingestBoth(t, s, ref, recs[1000:2500])
	ingestBoth(t, s, ref, recs[2500:])
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	queries := []billing.Query{
		{Account: acme, Level: billing.LevelDay, From: jan.AddDate(0, -1, 0), To: jan.AddDate(0, 3, 0)},
		{Account: acme, Level: billing.LevelHour, From: jan, To: jan.AddDate(0, 0, 3)},
		{Account: acme, Level: billing.LevelDay, From: jan, To: jan.AddDate(0, 1, 0), Organization: "acme-web", Repository: "acme-web/repo1"},
		{Account: acme, Level: billing.LevelDay, From: jan, To: jan.AddDate(0, 1, 0), Username: "acme-data-user2", SKU: "copilot_premium_request"},
		{Account: acme, Level: billing.LevelDay, From: jan, To: jan.AddDate(0, 1, 0), Product: "copilot", SKUs: billing.DefaultCatalog().ProductSKUs("copilot"), Model: "gpt-5"},
		{Account: solo, Level: billing.LevelDay, From: jan.AddDate(0, -1, 0), To: jan.AddDate(0, 3, 0)},
		{Account: billing.Account{Kind: billing.KindOrganization, Login: "acme-web"}, Level: billing.LevelDay, From: jan, To: jan.AddDate(0, 1, 0)},
		// Rows summed over users (day item packs).
		{Account: acme, Level: billing.LevelDay, From: jan.AddDate(0, -1, 0), To: jan.AddDate(0, 3, 0), ByItem: true},
		{Account: acme, Level: billing.LevelDay, From: jan, To: jan.AddDate(0, 1, 0), Product: "copilot", SKUs: billing.DefaultCatalog().ProductSKUs("copilot"), Model: "gpt-5", ByItem: true},
		{Account: acme, Level: billing.LevelDay, From: jan, To: jan.AddDate(0, 1, 0), Username: "acme-data-user2", ByItem: true},
	}
	for i, q := range queries {
		want, _ := ref.BillingRows(t.Context(), q)
		got, err := s.BillingRows(t.Context(), q)
		must(t, "BillingRows", err)
		sortRows(want)
		sortRows(got)
		if len(got) != len(want) {
			t.Fatalf("query %d: %d rows, want %d", i, len(got), len(want))
		}
		for j := range want {
			if !got[j].Bucket.Equal(want[j].Bucket) || got[j].Quantity != want[j].Quantity || got[j].SKU != want[j].SKU ||
				got[j].Repository != want[j].Repository || got[j].Username != want[j].Username || got[j].Model != want[j].Model || got[j].Public != want[j].Public {
				t.Fatalf("query %d row %d = %+v, want %+v", i, j, got[j], want[j])
			}
		}
		if i == 0 && len(want) == 0 {
			t.Fatal("the reference has no rows: the generator is broken")
		}
	}
	wantT, _ := ref.BillingDayTotals(t.Context(), acme, jan, jan.AddDate(0, 1, 0))
	gotT, err := s.BillingDayTotals(t.Context(), acme, jan, jan.AddDate(0, 1, 0))
	must(t, "BillingDayTotals", err)
	byKey := func(ts []billing.DayTotal) {
		slices.SortFunc(ts, func(a, b billing.DayTotal) int {
			return cmp.Or(a.Day.Compare(b.Day), strings.Compare(a.SKU, b.SKU), cmp.Compare(fmt.Sprint(a.Public), fmt.Sprint(b.Public)))
		})
	}
	byKey(wantT)
	byKey(gotT)
	if len(gotT) != len(wantT) {
		t.Fatalf("day totals: %d, want %d", len(gotT), len(wantT))
	}
	for i := range wantT {
		if !gotT[i].Day.Equal(wantT[i].Day) || gotT[i].SKU != wantT[i].SKU || gotT[i].Public != wantT[i].Public || gotT[i].Quantity != wantT[i].Quantity {
			t.Fatalf("day total %d = %+v, want %+v", i, gotT[i], wantT[i])
		}
	}
	// Records come back whole, in time then id order.
	q := billing.Query{Account: acme, From: jan, To: jan.AddDate(0, 0, 10), Organization: "acme-data"}
	var want, got []billing.Record
	ref.BillingRecords(t.Context(), q, func(r *billing.Record) error { want = append(want, *r); return nil })
	must(t, "BillingRecords", s.BillingRecords(t.Context(), q, func(r *billing.Record) error { got = append(got, *r); return nil }))
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("BillingRecords: %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Timestamp.Equal(want[i].Timestamp) {
			t.Fatalf("record %d at %v, want %v", i, got[i].Timestamp, want[i].Timestamp)
		}
		got[i].Timestamp = want[i].Timestamp
		if got[i] != want[i] {
			t.Fatalf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func testBillingDedup(t *testing.T, s billing.Store) {
	recs := billingGen(3, 200, "acme", "acme-web").Records()
	batch := append(slices.Clone(recs), recs[:50]...) // repeats within the batch count once
	res, err := s.BillingIngest(t.Context(), batch)
	must(t, "BillingIngest", err)
	if res.Recorded != 200 || res.Duplicates != 50 || res.Received != 250 {
		t.Fatalf("first batch: %+v, want 200 recorded, 50 duplicates", res)
	}
	res, err = s.BillingIngest(t.Context(), recs)
	must(t, "BillingIngest again", err)
	if res.Recorded != 0 || res.Duplicates != 200 {
		t.Fatalf("re-sent batch: %+v, want nothing recorded", res)
	}
	var sum, want billing.Quantity
	for _, r := range recs {
		want += r.Quantity
	}
	rows, err := s.BillingRows(t.Context(), billing.Query{Account: acme, Level: billing.LevelDay,
		From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	must(t, "BillingRows", err)
	for _, r := range rows {
		sum += r.Quantity
	}
	if sum != want {
		t.Fatalf("rows sum to %v, want %v: a duplicate was counted", sum, want)
	}
}

// testBillingInvariants checks the invariants on generated data
// through the service over the backend.
func testBillingInvariants(t *testing.T, s billing.Store) {
	g := billingGen(4, 4000, "acme", "acme-web", "acme-data")
	// Make the included minutes run out mid-month: a burst on 2026-01-10.
	recs := g.Records()
	for i := range 40 {
		recs = append(recs, billing.Record{ID: fmt.Sprintf("burst-%d", i), Timestamp: time.Date(2026, 1, 10, i%24, 0, 0, 0, time.UTC),
			Product: "actions", SKU: "actions_windows", Unit: billing.UnitMinutes, Quantity: billing.Units(1000),
			Enterprise: "acme", Organization: "acme-web", Repository: "acme-web/repo0"})
	}
	_, err := s.BillingIngest(t.Context(), recs)
	must(t, "BillingIngest", err)
	svc := billing.NewService(s, billing.DefaultCatalog(), func() time.Time { return time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC) })
	CheckBillingInvariants(t, svc, billing.Scope{Account: acme}, 2026, 1)
	CheckBillingInvariants(t, svc, billing.Scope{Account: acme}, 2025, 12)
	CheckBillingInvariants(t, svc, billing.Scope{Account: acme, Organization: "acme-data"}, 2026, 2)
}

// CheckBillingInvariants checks, for one month of a scope: the usage items
// sum to usage/summary (per filter too); every amount is quantity × price
// exactly and net = gross − discount; included pools are never exceeded
// and are used in time order (no day pays while a later day is included).
func CheckBillingInvariants(t *testing.T, svc *billing.Service, sc billing.Scope, year, month int) {
	t.Helper()
	ctx := context.Background()
	for _, filter := range []url.Values{{}, {"product": {"Actions"}}, {"sku": {"actions_linux"}}, {"organization": {"acme-web"}}, {"repository": {"acme-web/repo1"}}} {
		v := url.Values{"year": {fmt.Sprint(year)}, "month": {fmt.Sprint(month)}}
		for k, x := range filter {
			v[k] = x
		}
		p, err := billing.ParseParams(v, billing.EndpointUsage, svc.Catalog, svc.Now())
		must(t, "ParseParams", err)
		rep, err := svc.Usage(ctx, sc, p)
		must(t, "Usage", err)
		sum, err := svc.Summary(ctx, sc, p, billing.EndpointSummary)
		must(t, "Summary", err)
		type key struct {
			sku   string
			price billing.Price
		}
		qty := map[key]billing.Quantity{}
		gross, disc, net := map[key]billing.Amount{}, map[key]billing.Amount{}, map[key]billing.Amount{}
		for _, it := range rep.UsageItems {
			if g := billing.Mul(it.Quantity, it.PricePerUnit); g.Cmp(it.GrossAmount) != 0 {
				t.Fatalf("%v: item %+v: gross %s ≠ quantity × price %s", filter, it, it.GrossAmount, g)
			}
			if it.GrossAmount.Sub(it.DiscountAmount).Cmp(it.NetAmount) != 0 || it.NetAmount.Cmp(billing.Amount{}) < 0 {
				t.Fatalf("%v: item %+v: net ≠ gross − discount", filter, it)
			}
			k := key{it.SKU, it.PricePerUnit}
			qty[k] += it.Quantity
			gross[k], disc[k], net[k] = gross[k].Add(it.GrossAmount), disc[k].Add(it.DiscountAmount), net[k].Add(it.NetAmount)
		}
		if len(sum.UsageItems) != len(qty) {
			t.Fatalf("%v: summary has %d items, usage %d SKU/price pairs", filter, len(sum.UsageItems), len(qty))
		}
		for _, it := range sum.UsageItems {
			k := key{it.SKU, it.PricePerUnit}
			if it.GrossQuantity != qty[k] || it.GrossAmount.Cmp(gross[k]) != 0 || it.DiscountAmount.Cmp(disc[k]) != 0 || it.NetAmount.Cmp(net[k]) != 0 {
				t.Fatalf("%v: summary item %+v ≠ the sum of its usage items (%s, %s, %s, %s)", filter, it, qty[k], gross[k], disc[k], net[k])
			}
			if it.NetQuantity != it.GrossQuantity-it.DiscountQuantity || billing.Mul(it.DiscountQuantity, it.PricePerUnit).Cmp(it.DiscountAmount) != 0 {
				t.Fatalf("%v: summary item %+v: quantities do not add up", filter, it)
			}
		}
	}
	// Included pools, over the whole account's day rows in time order.
	monthStart := billing.NewDate(year, time.Month(month), 1)
	rows, err := svc.Store.BillingRows(ctx, billing.Query{Account: sc.Account, Level: billing.LevelDay,
		From: monthStart.Time(), To: monthStart.AddDays(monthStart.DaysInMonth()).Time()})
	must(t, "BillingRows", err)
	priced, err := svc.PriceLevel(ctx, sc.Account, rows, billing.LevelDay)
	must(t, "Price", err)
	slices.SortFunc(priced, func(a, b billing.Priced) int { return a.Bucket.Compare(b.Bucket) })
	plan := svc.Catalog.PlanOf(sc.Account)
	used := map[string]billing.Quantity{}
	paidAt := map[string]time.Time{}
	for _, r := range priced {
		sku := svc.Catalog.SKU(r.SKU)
		if r.DiscountQuantity > r.Quantity || r.DiscountQuantity < 0 {
			t.Fatalf("row %+v: discount outside [0, quantity]", r)
		}
		if sku.Pool == "" || r.Price == 0 || (r.Public && sku.FreeInPublic) {
			continue
		}
		used[sku.Pool] += r.DiscountQuantity * billing.Quantity(max(sku.Weight, 1))
		day := billing.DateOf(r.Bucket).Time()
		if p, ok := paidAt[sku.Pool]; ok && r.DiscountQuantity > 0 && day.After(p) {
			t.Fatalf("pool %s: usage on %s is included but usage on %s already paid: not in time order", sku.Pool, day, p)
		}
		if _, ok := paidAt[sku.Pool]; !ok && r.NetQuantity() > 0 {
			paidAt[sku.Pool] = day
		}
	}
	for pool, u := range used {
		if inc := plan.IncludedFor(pool, monthStart); u > inc {
			t.Fatalf("pool %s: %s included used, more than the plan's %s", pool, u, inc)
		}
	}
	if year == 2026 && month == 1 && sc.Organization == "" {
		if _, ok := paidAt[billing.PoolActionsMinutes]; !ok {
			t.Fatal("the included minutes never ran out: the test data does not exercise the quota")
		}
	}
}

func testBillingCommitters(t *testing.T, s billing.Store) {
	at := func(d int) time.Time { return time.Date(2026, 3, d, 12, 0, 0, 0, time.UTC) }
	pushes := []billing.Push{
		{Account: acme, Organization: "acme-web", Repository: "acme-web/api", Login: "mona", Email: "old@x", AuthorDate: at(1), PushedAt: at(2)},
		{Account: acme, Organization: "acme-web", Repository: "acme-web/api", Login: "mona", Email: "new@x", AuthorDate: at(3), PushedAt: at(4)},
		{Account: acme, Organization: "acme-data", Repository: "acme-data/etl", Login: "mona", Email: "m@x", AuthorDate: at(1), PushedAt: at(1)},
		{Account: acme, Organization: "acme-data", Repository: "acme-data/etl", Login: "hubot", Email: "h@x", AuthorDate: at(5), PushedAt: at(6)},
		{Account: solo, Organization: "solo", Repository: "solo/x", Login: "mona", Email: "s@x", AuthorDate: at(5), PushedAt: at(6)},
	}
	must(t, "BillingRecordPushes", s.BillingRecordPushes(t.Context(), pushes))
	// An older push arriving late changes nothing.
	must(t, "BillingRecordPushes late", s.BillingRecordPushes(t.Context(), pushes[:1]))
	got, err := s.BillingCommitters(t.Context(), acme, "", at(2))
	must(t, "BillingCommitters", err)
	slices.SortFunc(got, func(a, b billing.Committer) int {
		return cmp.Or(strings.Compare(a.Repository, b.Repository), strings.Compare(a.Login, b.Login))
	})
	if len(got) != 2 || got[0].Login != "hubot" || got[1].Login != "mona" || got[1].Email != "new@x" || !got[1].AuthorDate.Equal(at(3)) || !got[1].PushedAt.Equal(at(4)) {
		t.Fatalf("committers since day 2 = %+v", got)
	}
	got, err = s.BillingCommitters(t.Context(), acme, "acme-data", at(1))
	must(t, "BillingCommitters by org", err)
	if len(got) != 2 {
		t.Fatalf("acme-data committers = %+v, want mona and hubot", got)
	}
	got, err = s.BillingCommitters(t.Context(), solo, "", at(1))
	must(t, "BillingCommitters solo", err)
	if len(got) != 1 || got[0].Email != "s@x" {
		t.Fatalf("solo committers = %+v", got)
	}
}

// RunBillingReports runs the report-export cases against backends whose
// Store also implements billing.ReportStore.
func RunBillingReports(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("Lifecycle", func(t *testing.T) {
		t.Parallel()
		rs, ok := open(t).Store.(billing.ReportStore)
		if !ok {
			t.Skip("backend does not implement billing.ReportStore")
		}
		now := time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)
		var made []*billing.ReportExport
		for i, ent := range []string{"acme", "acme", "other"} {
			r, err := billing.NewReportRequest(ent, billing.ReportSummarized, "2026-02-01", "2026-02-28", "ada", now.Add(time.Duration(i)*time.Minute))
			must(t, "NewReportRequest", err)
			must(t, "BillingCreateReport", rs.BillingCreateReport(t.Context(), r))
			made = append(made, r)
		}
		list, err := rs.BillingReports(t.Context(), "acme")
		must(t, "BillingReports", err)
		if len(list) != 2 || list[0].ID != made[1].ID || list[1].Status != billing.ReportProcessing || list[1].Start.String() != "2026-02-01" ||
			list[1].End.String() != "2026-02-28" || !list[1].CreatedAt.Equal(made[0].CreatedAt) || list[1].Actor != "ada" || list[1].Files != nil {
			t.Fatalf("acme's exports = %+v", list)
		}
		pending, err := rs.BillingPendingReports(t.Context(), 10)
		must(t, "BillingPendingReports", err)
		if len(pending) != 3 || pending[0].ID != made[0].ID {
			t.Fatalf("pending = %+v, want all three oldest first", pending)
		}
		must(t, "BillingFinishReport", rs.BillingFinishReport(t.Context(), made[0].ID, billing.ReportCompleted, []string{"a/b.csv"}, ""))
		got, err := rs.BillingReport(t.Context(), "acme", made[0].ID)
		must(t, "BillingReport", err)
		if got.Status != billing.ReportCompleted || len(got.Files) != 1 || got.Files[0] != "a/b.csv" {
			t.Fatalf("finished export = %+v", got)
		}
		_, err = rs.BillingReport(t.Context(), "other", made[0].ID)
		wantKind(t, "another enterprise's export", err, usage.KindNotFound)
		wantKind(t, "finishing an unknown export", rs.BillingFinishReport(t.Context(), "nope", billing.ReportFailed, nil, "x"), usage.KindNotFound)
		pending, _ = rs.BillingPendingReports(t.Context(), 1)
		if len(pending) != 1 || pending[0].ID != made[1].ID {
			t.Fatalf("pending after one finished, limit 1 = %+v", pending)
		}
	})
}
