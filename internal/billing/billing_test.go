package billing

import (
	"context"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

func TestDecimalRoundTrip(t *testing.T) {
	for _, s := range []string{"0", "1", "0.00033602", "642.224551374", "-3.5", "9000000000"} {
		v, err := ParseDecimal(s)
		if err != nil {
			t.Fatalf("ParseDecimal(%q): %v", s, err)
		}
		if got := Quantity(v).String(); got != s {
			t.Errorf("ParseDecimal(%q) formats as %q", s, got)
		}
	}
	for _, s := range []string{"0.0000000001", "1/2", "abc", "", "1e30", "+1", "NaN"} {
		if _, err := ParseDecimal(s); err == nil {
			t.Errorf("ParseDecimal(%q) accepted", s)
		}
	}
	if v, _ := ParseDecimal("1e3"); v != 1000*nano {
		t.Errorf("1e3 = %d", v)
	}
}

func TestAmountIsExact(t *testing.T) {
	q, _ := ParseDecimal("642.224551374")
	p, _ := ParseDecimal("0.00033602")
	a := Mul(Quantity(q), Price(p))
	want := new(big.Int).Mul(big.NewInt(q), big.NewInt(p))
	if a.Big().Cmp(want) != 0 {
		t.Fatalf("Mul = %v, want %v", a.Big(), want)
	}
	if a.String() != "0.21580029375269148" {
		t.Fatalf("String = %s", a.String())
	}
	// Sums far beyond int64 stay exact.
	big1 := Mul(Quantity(9e18), Price(9e18))
	sum := big1.Add(big1).Sub(big1)
	if sum.Cmp(big1) != 0 || big1.Neg().Add(big1).IsZero() != true {
		t.Fatal("128-bit arithmetic is wrong")
	}
	if got := Mul(Units(-2), Price(nano/2)).String(); got != "-1" {
		t.Fatalf("-2 × 0.5 = %s", got)
	}
}

func TestMulDivNeverExceeds(t *testing.T) {
	if got := MulDiv(Units(10), Units(3), Units(7)); got*7 > Units(30) {
		t.Fatalf("MulDiv = %v", got)
	}
	if got := MulDiv(Quantity(1<<62), Quantity(1<<61), Quantity(1<<62)); got != Quantity(1<<61) {
		t.Fatalf("MulDiv without overflow = %d", got)
	}
}

func rec(id, ts, sku string, qty int64) Record {
	t, _ := time.Parse(time.RFC3339, ts)
	c := DefaultCatalog()
	return Record{ID: id, Timestamp: t, Product: c.SKU(sku).Product, SKU: sku, Quantity: Units(qty), Unit: c.SKU(sku).Unit,
		Enterprise: "acme", Organization: "acme-web", Repository: "acme-web/api"}
}

func TestValidateNamesTheField(t *testing.T) {
	c := DefaultCatalog()
	now := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	cases := map[string]func(r *Record){
		"id":        func(r *Record) { r.ID = "" },
		"timestamp": func(r *Record) { r.Timestamp = now.Add(2 * time.Hour) },
		"sku":       func(r *Record) { r.SKU = "actions_quantum" },
		"product":   func(r *Record) { r.Product = "spaceships" },
		"unit":      func(r *Record) { r.Unit = "hours" },
		"quantity":  func(r *Record) { r.Quantity = -1 },
		"repository": func(r *Record) {
			r.Repository = "no-slash"
		},
	}
	for field, breakIt := range cases {
		r := rec("x", "2026-03-01T10:00:00Z", "actions_linux", 3)
		if fe := r.Validate(c, now); fe != nil {
			t.Fatalf("valid record rejected: %v", fe)
		}
		breakIt(&r)
		fe := r.Validate(c, now)
		if fe == nil || fe.Field != field {
			t.Errorf("breaking %s: got %v", field, fe)
		}
	}
	r := rec("x", "2026-03-01T10:00:00Z", "actions_linux", 3)
	r.Quantity = Units(3) + 1
	if fe := r.Validate(c, now); fe == nil || fe.Field != "quantity" {
		t.Errorf("fractional minutes accepted: %v", fe)
	}
}

func TestDecodeAllIsAllOrNothing(t *testing.T) {
	c := DefaultCatalog()
	now := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	good := `{"id":"a","timestamp":"2026-03-01T10:00:00Z","product":"actions","sku":"actions_linux","quantity":3,"unit":"minutes","organization":"acme-web"}`
	recs, err := DecodeAll(strings.NewReader(good+"\n\n"+strings.Replace(good, `"a"`, `"b"`, 1)), c, now, 10)
	if err != nil || len(recs) != 2 || recs[1].Quantity != Units(3) {
		t.Fatalf("DecodeAll = %v, %v", recs, err)
	}
	bad := good + "\n" + strings.Replace(good, `3,`, `-1,`, 1) + "\n" + `{"id":"c","bogus":1}` + "\n" + `{"id":"d","quantity":"x"}`
	_, err = DecodeAll(strings.NewReader(bad), c, now, 10)
	var ue *usage.Error
	if !asError(err, &ue) || ue.Kind != usage.KindInvalid || len(ue.Fields) != 3 {
		t.Fatalf("bad batch: %v", err)
	}
	for i, want := range []string{"line 2: quantity", "line 3: bogus", "line 4: quantity"} {
		if ue.Fields[i].Field != want {
			t.Errorf("error %d names %q, want %q", i, ue.Fields[i].Field, want)
		}
	}
}

func asError(err error, target **usage.Error) bool {
	e, ok := err.(*usage.Error)
	*target = e
	return ok
}

func newTestService(t *testing.T, recs ...Record) *Service {
	t.Helper()
	s := NewService(NewMemStore(), DefaultCatalog(), func() time.Time { return time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC) })
	if _, err := s.Ingest(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPriceOfTheDay(t *testing.T) {
	a := rec("dec", "2025-12-31T23:30:00Z", "actions_linux_4_core", 10)
	b := rec("jan", "2026-01-01T00:30:00Z", "actions_linux_4_core", 10)
	s := newTestService(t, a, b)
	for _, tc := range []struct {
		year, month  int
		price, gross string
	}{{2025, 12, "0.016", "0.16"}, {2026, 1, "0.012", "0.12"}} {
		p, err := ParseParams(url.Values{"year": {itoa(tc.year)}, "month": {itoa(tc.month)}}, EndpointUsage, s.Catalog, s.Now())
		if err != nil {
			t.Fatal(err)
		}
		rep, err := s.Usage(context.Background(), Scope{Account: Account{KindEnterprise, "acme"}}, p)
		if err != nil || len(rep.UsageItems) != 1 {
			t.Fatalf("%d-%d: %v %v", tc.year, tc.month, rep, err)
		}
		it := rep.UsageItems[0]
		if it.PricePerUnit.String() != tc.price || it.GrossAmount.String() != tc.gross || !it.DiscountAmount.IsZero() {
			t.Errorf("%d-%d: price %s gross %s discount %s, want %s %s 0 (larger runners get no included minutes)",
				tc.year, tc.month, it.PricePerUnit, it.GrossAmount, it.DiscountAmount, tc.price, tc.gross)
		}
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func TestIncludedMinutesInTimeOrder(t *testing.T) {
	// 50,000 included minutes: 30,000 Linux on day 1, 10,000 Windows (20,000
	// weighted) on day 2 uses the rest, 5,000 Linux on day 3 pays in full;
	// a public-repository job is free and uses nothing.
	pub := rec("pub", "2026-02-01T08:00:00Z", "actions_linux", 999)
	pub.Public, pub.Repository = true, "acme-web/oss"
	s := newTestService(t,
		rec("d3", "2026-02-03T10:00:00Z", "actions_linux", 5000), // ingested first: order is by time, not arrival
		rec("d1", "2026-02-01T10:00:00Z", "actions_linux", 30000),
		rec("d2", "2026-02-02T10:00:00Z", "actions_windows", 10000),
		pub)
	p, _ := ParseParams(url.Values{"year": {"2026"}, "month": {"2"}}, EndpointUsage, s.Catalog, s.Now())
	rep, err := s.Usage(context.Background(), Scope{Account: Account{KindEnterprise, "acme"}}, p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{ // date/sku -> discount, net
		"2026-02-01/actions_linux":   {"180", "0"}, // 30,000 × 0.006 (+ the free public item, checked below)
		"2026-02-02/actions_windows": {"100", "0"},
		"2026-02-03/actions_linux":   {"0", "30"},
	}
	for _, it := range rep.UsageItems {
		k := it.Date + "/" + it.SKU
		if it.Quantity == Units(999) {
			if it.NetAmount.String() != "0" || it.DiscountAmount.String() != "5.994" {
				t.Errorf("public job: %+v", it)
			}
			continue
		}
		if w, ok := want[k]; !ok || it.DiscountAmount.String() != w[0] || it.NetAmount.String() != w[1] {
			t.Errorf("%s: discount %s net %s, want %v", k, it.DiscountAmount, it.NetAmount, w)
		}
	}
}

func TestQuotaSharedOnTheDayItRunsOut(t *testing.T) {
	// 49,000 minutes on day 1, then 3,000 in two repositories on day 2:
	// 1,000 included minutes remain and are shared 2:1, never exceeded.
	a := rec("a", "2026-02-02T10:00:00Z", "actions_linux", 2000)
	b := rec("b", "2026-02-02T11:00:00Z", "actions_linux", 1000)
	b.Repository = "acme-web/site"
	s := newTestService(t, rec("x", "2026-02-01T10:00:00Z", "actions_linux", 49000), a, b)
	p, _ := ParseParams(url.Values{"year": {"2026"}, "month": {"2"}}, EndpointSummary, s.Catalog, s.Now())
	sum, err := s.Summary(context.Background(), Scope{Account: Account{KindEnterprise, "acme"}}, p, EndpointSummary)
	if err != nil || len(sum.UsageItems) != 1 {
		t.Fatal(sum, err)
	}
	it := sum.UsageItems[0]
	// Each of the day's two rows rounds its share down to a whole minute
	// (666 and 333): the quota is never exceeded, at most a minute per row unused.
	if it.DiscountQuantity != Units(49999) || it.NetQuantity != Units(2001) || it.GrossQuantity != Units(52000) {
		t.Fatalf("discount %s net %s, want 49999 and 2001", it.DiscountQuantity, it.NetQuantity)
	}
}

func TestRunnerSKU(t *testing.T) {
	c := DefaultCatalog()
	for want, labels := range map[string][]string{
		"actions_linux":              {"ubuntu-latest"},
		"actions_linux_arm":          {"ubuntu-24.04-arm"},
		"actions_linux_slim":         {"ubuntu-slim"},
		"actions_windows":            {"windows-2025"},
		"actions_macos":              {"macos-15"},
		"actions_macos_l":            {"macos-15-large"},
		"actions_macos_xl":           {"macos-latest-xlarge"},
		"actions_self_hosted":        {"self-hosted", "linux", "x64"},
		"actions_linux_16_core":      {"ubuntu-latest-16-cores"},
		"actions_windows_8_core":     {"windows_8core"},
		"actions_linux_8_core_arm":   {"linux-8-core-arm"},
		"actions_windows_4_core_gpu": {"windows-4-core-gpu"},
		"":                           {"my-special-box"},
	} {
		if got := c.RunnerSKU(labels); got != want {
			t.Errorf("RunnerSKU(%q) = %q, want %q", labels, got, want)
		}
	}
}

func TestCatalogApply(t *testing.T) {
	c := DefaultCatalog()
	err := c.Apply(strings.NewReader(`{"skus":{"actions_linux":{"prices":[{"from":"2026-06-01","price":"0.004"},{"from":"2000-01-01","price":0.006}]},
		"actions_gpu_h100":{"product":"actions","unit":"minutes","prices":[{"from":"2026-01-01","price":1.5}]}},
		"plans":{"enterprise":{"included":{"actions_minutes":100000}}},"accounts":{"organization:solo":"team"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.SKU("actions_linux").PriceOn(NewDate(2026, 7, 1)); p.String() != "0.004" {
		t.Errorf("negotiated price = %s", p)
	}
	if p := c.SKU("actions_linux").PriceOn(NewDate(2026, 5, 31)); p.String() != "0.006" {
		t.Errorf("price before the negotiated one = %s", p)
	}
	if c.SKU("actions_gpu_h100") == nil || c.PlanOf(Account{KindEnterprise, "acme"}).Included[PoolActionsMinutes] != Units(100000) {
		t.Error("new SKU or plan quota not applied")
	}
	if DefaultCatalog().PlanOf(Account{KindEnterprise, "acme"}).Included[PoolActionsMinutes] != Units(50000) {
		t.Error("Apply changed the default catalogue")
	}
	if c.PlanOf(Account{KindOrganization, "solo"}).Included[PoolActionsMinutes] != Units(3000) {
		t.Error("account plan not applied")
	}
	for _, bad := range []string{`{"skus":{"x":{"unit":"minutes"}}}`, `{"plans":{"team":{"included":{"gold":1}}}}`,
		`{"accounts":{"organization:solo":"platinum"}}`, `{"skus":{"actions_linux":{"prices":[{"from":"2026-01-01","price":-1}]}}}`, `{"bogus":1}`} {
		if err := DefaultCatalog().Apply(strings.NewReader(bad)); err == nil {
			t.Errorf("Apply(%s) accepted", bad)
		}
	}
}
