package demo_test

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/storetest"
)

func TestSeedBilling(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 15, 30, 0, 0, time.UTC)
	st, d := seed(t, 3)
	start := time.Now()
	if err := demo.SeedBilling(ctx, st, st, d, 3, now); err != nil {
		t.Fatal(err)
	}
	t.Logf("billing demo written in %v", time.Since(start))
	svc := billing.NewService(st, billing.DefaultCatalog(), func() time.Time { return now })
	acme := billing.Scope{Account: billing.Account{Kind: billing.KindEnterprise, Login: "acme"}}
	for _, month := range []int{10, 11} {
		storetest.CheckBillingInvariants(t, svc, acme, 2026, month)
		p, _ := billing.ParseParams(url.Values{"year": {"2026"}, "month": {strconv.Itoa(month)}, "sku": {"actions_linux"}}, billing.EndpointSummary, svc.Catalog, now)
		sum, err := svc.Summary(ctx, acme, p, billing.EndpointSummary)
		if err != nil || len(sum.UsageItems) != 1 {
			t.Fatalf("month %d: %+v %v", month, sum, err)
		}
		// The mid-month burst exhausts the included minutes: some Linux
		// minutes are included, some paid.
		if it := sum.UsageItems[0]; it.DiscountQuantity == 0 || it.NetQuantity == 0 {
			t.Errorf("month %d: actions_linux discount %s, net %s: the burst should exhaust the included minutes", month, it.DiscountQuantity, it.NetQuantity)
		}
	}
	a, err := svc.Actions(ctx, acme)
	if err != nil || a.TotalMinutesUsed == 0 || a.MinutesUsedBreakdown["total"] != a.TotalMinutesUsed || a.TotalPaidMinutesUsed == 0 {
		t.Fatalf("legacy actions: %+v %v", a, err)
	}
	sum := int64(0)
	for k, v := range a.MinutesUsedBreakdown {
		if k != "total" {
			sum += v
		}
	}
	if sum != a.TotalMinutesUsed {
		t.Fatalf("breakdown sums to %d, total %d", sum, a.TotalMinutesUsed)
	}
	as, err := svc.AdvancedSecurity(ctx, acme, 1, 100)
	if err != nil || as.TotalAdvancedSecurityCommitters == 0 || as.TotalCount == 0 {
		t.Fatalf("advanced security: %+v %v", as, err)
	}
	// Deterministic: the same seed writes the same ledger.
	st2, d2 := seed(t, 3)
	if err := demo.SeedBilling(ctx, st2, st2, d2, 3, now); err != nil {
		t.Fatal(err)
	}
	svc2 := billing.NewService(st2, billing.DefaultCatalog(), func() time.Time { return now })
	a2, _ := svc2.Actions(ctx, acme)
	if a2.TotalMinutesUsed != a.TotalMinutesUsed || a2.TotalPaidMinutesUsed != a.TotalPaidMinutesUsed {
		t.Fatalf("two seeds with the same values differ: %+v / %+v", a, a2)
	}
}
