package demo_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/demo"
)

func TestSeedCostCenters(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 15, 30, 0, 0, time.UTC)
	st, d := seed(t, 3)
	if err := demo.SeedBilling(ctx, st, st, d, 3, now); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := demo.SeedCostCenters(ctx, st, d, 3, now); err != nil {
		t.Fatal(err)
	}
	t.Logf("cost-center demo written in %v", time.Since(start))
	ccs, err := st.ListCostCenters(ctx, d.Enterprise.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*billing.CostCenter{}
	for _, cc := range ccs {
		byName[cc.Name] = cc
	}
	for _, name := range []string{demo.CostCenterWeb, demo.CostCenterData, demo.CostCenterInfra, demo.CostCenterPlatform, demo.CostCenterLegacy, demo.CostCenterPilot} {
		if byName[name] == nil {
			t.Fatalf("no cost center %q in %v", name, ccs)
		}
	}
	if byName[demo.CostCenterLegacy].State != billing.CostCenterDeleted || len(byName[demo.CostCenterLegacy].Resources) != 0 {
		t.Errorf("Legacy is not archived: %+v", byName[demo.CostCenterLegacy])
	}
	orgs := map[string]bool{}
	for _, r := range byName[demo.CostCenterPlatform].Resources {
		if r.Type == billing.ResourceRepo {
			orgs[r.Name[:len("acme-web")]] = true
		}
	}
	if !orgs["acme-web"] || !orgs["acme-inf"] || !slices.ContainsFunc(byName[demo.CostCenterPlatform].Resources, func(r billing.Resource) bool { return r.Type == billing.ResourceTeam }) {
		t.Errorf("Platform should hold the platform team and repositories of two organizations: %+v", byName[demo.CostCenterPlatform].Resources)
	}
	// The mid-month move: some resource's membership ended on the 15th at noon.
	ms, err := st.CostCenterMemberships(ctx, d.Enterprise.ID, now.AddDate(0, -2, 0), now)
	if err != nil {
		t.Fatal(err)
	}
	moved := time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)
	if !slices.ContainsFunc(ms, func(m billing.Membership) bool { return m.End.Equal(moved) }) {
		t.Errorf("no membership ends at the mid-month move %v", moved)
	}

	// Budgets stand at each alert state.
	catalog := billing.DefaultCatalog()
	ledger := billing.NewService(st, catalog, func() time.Time { return now })
	attr := &billing.CostCenterAttribution{Store: st, Accounts: st}
	ledger.Attribution = attr
	spend := &billing.BudgetSpend{Ledger: ledger, Accounts: st, Attribution: attr}
	bs, err := st.AllBudgets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var levels []int64
	for _, b := range bs {
		if !b.WillAlert {
			continue
		}
		c, err := spend.Consumed(ctx, b, now)
		if err != nil {
			t.Fatal(err)
		}
		levels = append(levels, billing.Percent(c, b.Amount))
	}
	slices.Sort(levels)
	if len(levels) != 4 || levels[0] >= 75 || levels[1] < 75 || levels[1] >= 90 || levels[2] < 90 || levels[2] >= 100 || levels[3] < 100 {
		t.Fatalf("alerting budgets stand at %v %%; want one below 75, one in each of [75, 90), [90, 100) and one at 100 or more", levels)
	}
	if len(bs) != 7 {
		t.Errorf("%d budgets, want 7", len(bs))
	}
}
