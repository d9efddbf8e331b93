package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

// Demo cost centers, by name.
const (
	CostCenterWeb      = "Web"
	CostCenterData     = "Data"
	CostCenterInfra    = "Infra"
	CostCenterPlatform = "Platform"
	CostCenterLegacy   = "Legacy"        // archived on the 20th of the previous month
	CostCenterPilot    = "Copilot pilot" // an AI credit pool of users
	// DemoPlatformTeam is the enterprise team the Platform cost center holds.
	DemoPlatformTeam = "platform-eng"
)

// DemoBudgetTargets are the alerting demo budgets' consumption, in
// percent of their amounts, when the demo is seeded: past 90 %, past
// 100 %, past 75 % and below every threshold. Early in a month, when too
// little is consumed to size them, they get DemoBudgetFallback dollars.
var (
	DemoBudgetTargets  = []int64{95, 120, 80, 50}
	DemoBudgetFallback = []int64{1000, 800, 500, 5000}
)

// SeedCostCenters writes acme's demo cost centers and budgets on top of
// the accounts (and, when the store keeps it, the billing ledger, which
// must be seeded first): one cost center per organization, Platform
// holding the platform-eng enterprise team and repositories of acme-web
// and acme-infra, Legacy archived in the previous month, a Copilot pilot
// pool of users, a mid-month move, and budgets sized from the ledger so
// that they stand below 75 % and past 75, 90 and 100 % of their amounts.
// It is deterministic for seed and now.
func SeedCostCenters(ctx context.Context, st usage.Store, d *Dataset, seed uint64, now time.Time) error {
	cs, ok := st.(billing.CostCenterStore)
	if !ok {
		return nil
	}
	bs, ok := st.(billing.BudgetStore)
	if !ok {
		return nil
	}
	r := rand.New(rand.NewPCG(seed, 0xcc))
	newID := func() string {
		b := make([]byte, 16)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	}
	now = now.UTC()
	monthStart := billing.DateOf(now).MonthStart().Time()
	prevStart := monthStart.AddDate(0, -1, 0)
	clock := prevStart
	at := func() time.Time { return clock }
	svc := &billing.CostCenters{Store: cs, Now: at, NewID: newID}
	ent := d.Enterprise.ID
	if len(d.Users) < 12 || len(d.Orgs) < 3 {
		return nil
	}

	var team []string
	for i := 0; i < len(d.Users); i += 9 {
		team = append(team, d.Users[i].Login)
	}
	if err := cs.CreateEnterpriseTeam(ctx, &billing.EnterpriseTeam{EnterpriseID: ent, Slug: DemoPlatformTeam, Name: "Platform engineering",
		CreatedAt: prevStart, Members: team}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	repos := func(org string, n int) ([]string, error) {
		rs, err := st.ListRepositories(ctx, org)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, rp := range rs {
			if rp.Private && len(out) < n {
				out = append(out, rp.FullName())
			}
		}
		return out, nil
	}
	ids := map[string]string{}
	create := func(name string, pool bool) error {
		cc, err := svc.Create(ctx, ent, billing.CreateCostCenter{Name: &name, AICreditPoolEnabled: &pool})
		if err == nil {
			ids[name] = cc.ID
		}
		return err
	}
	add := func(name string, req billing.ResourceRequest) error {
		_, err := svc.AddResources(ctx, ent, ids[name], req)
		return err
	}
	webRepos, err := repos(d.Orgs[0].Login, 3)
	if err != nil {
		return err
	}
	infraRepos, err := repos(d.Orgs[2].Login, 3)
	if err != nil {
		return err
	}
	dataRepos, err := repos(d.Orgs[1].Login, 2)
	if err != nil {
		return err
	}
	pilot := []string{d.Users[1].Login, d.Users[2].Login, d.Users[4].Login, d.Users[5].Login}
	for _, step := range []func() error{
		func() error { return create(CostCenterWeb, false) },
		func() error { return create(CostCenterData, false) },
		func() error { return create(CostCenterInfra, false) },
		func() error { return create(CostCenterPlatform, false) },
		func() error { return create(CostCenterLegacy, false) },
		func() error { return create(CostCenterPilot, true) },
		func() error {
			return add(CostCenterWeb, billing.ResourceRequest{Organizations: []string{d.Orgs[0].Login}})
		},
		func() error {
			return add(CostCenterData, billing.ResourceRequest{Organizations: []string{d.Orgs[1].Login}})
		},
		func() error {
			return add(CostCenterInfra, billing.ResourceRequest{Organizations: []string{d.Orgs[2].Login}})
		},
		func() error {
			return add(CostCenterPlatform, billing.ResourceRequest{EnterpriseTeams: []string{DemoPlatformTeam},
				Repositories: append(append([]string{}, webRepos...), infraRepos...)})
		},
		func() error {
			return add(CostCenterLegacy, billing.ResourceRequest{Repositories: dataRepos, Users: []string{d.Users[3].Login}})
		},
		func() error { return add(CostCenterPilot, billing.ResourceRequest{Users: pilot}) },
	} {
		if err := step(); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	// Legacy is archived on the 20th of the previous month: its usage
	// until then stays its own.
	clock = prevStart.AddDate(0, 0, 19)
	if _, err := svc.Delete(ctx, ent, ids[CostCenterLegacy]); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// The mid-month move: on the 15th (of this month once it has passed,
	// of the previous one before), a pilot user joins Platform and an
	// acme-infra repository goes back to Infra.
	move := monthStart.AddDate(0, 0, 14).Add(12 * time.Hour)
	if !move.Before(now) {
		move = move.AddDate(0, -1, 0)
	}
	clock = move
	if err := add(CostCenterPlatform, billing.ResourceRequest{Users: []string{pilot[0]}}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := add(CostCenterInfra, billing.ResourceRequest{Repositories: infraRepos[:1]}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	// Budgets, made at the start of this month so all of its usage counts.
	clock = monthStart
	catalog := billing.DefaultCatalog()
	budgets := &billing.Budgets{Store: bs, Accounts: st, CostCenters: cs, Catalog: catalog, Now: at, NewID: newID}
	if ls, ok := st.(billing.Store); ok {
		ledger := billing.NewService(ls, catalog, func() time.Time { return now })
		attr := &billing.CostCenterAttribution{Store: cs, Accounts: st}
		ledger.Attribution = attr
		budgets.Spend = &billing.BudgetSpend{Ledger: ledger, Accounts: st, Attribution: attr}
	}
	owner := billing.BudgetOwner{EnterpriseID: ent}
	admin := []string{d.Admin.Login}
	// Candidate budgets, sized from what each has consumed this month: the
	// largest consumption gets the 90 % target (the narrowest in whole
	// dollars), the next ones past 100 %, past 75 % and below 75 %.
	type spec struct {
		scope, entity, typ, sku string
		consumed                billing.Amount
	}
	specs := []*spec{
		{scope: billing.ScopeEnterprise, typ: billing.BudgetProductPricing, sku: "copilot"},
		{scope: billing.ScopeEnterprise, typ: billing.BudgetProductPricing, sku: "actions"},
		{scope: billing.ScopeOrganization, entity: d.Orgs[0].Login, typ: billing.BudgetProductPricing, sku: "actions"},
		{scope: billing.ScopeOrganization, entity: d.Orgs[1].Login, typ: billing.BudgetProductPricing, sku: "actions"},
		{scope: billing.ScopeCostCenter, entity: ids[CostCenterPlatform], typ: billing.BudgetProductPricing, sku: "actions"},
		{scope: billing.ScopeCostCenter, entity: ids[CostCenterPlatform], typ: billing.BudgetProductPricing, sku: "copilot"},
		{scope: billing.ScopeEnterprise, typ: billing.BudgetSkuPricing, sku: billing.PremiumRequests},
	}
	for _, sp := range specs {
		probe := &billing.Budget{EnterpriseID: ent, Scope: sp.scope, EntityName: sp.entity, Type: sp.typ, ProductSKU: sp.sku, CreatedAt: monthStart}
		c, err := budgets.Spend.Consumed(ctx, probe, now)
		if err != nil {
			return err
		}
		sp.consumed = c
	}
	slices.SortStableFunc(specs, func(a, b *spec) int { return b.consumed.Cmp(a.consumed) })
	for i, pct := range DemoBudgetTargets {
		sp := specs[i]
		amount := DemoBudgetFallback[i]
		if billing.Percent(sp.consumed, 10) >= 100 { // at least $10: whole dollars can land the target
			amount = amountFor(sp.consumed, pct)
		}
		if _, err := budgets.Create(ctx, owner, budgetInput(sp.scope, sp.entity, sp.typ, sp.sku, amount, false, true, admin, "")); err != nil {
			return fmt.Errorf("demo: budget %s %s: %w", sp.scope, sp.sku, err)
		}
	}
	// Per-user AI-credit budgets: every user, and one user's own.
	for _, in := range []billing.BudgetInput{
		budgetInput(billing.ScopeMultiUserCustomer, "", billing.BudgetBundlePricing, billing.BundleAICredits, 20, true, false, nil, ""),
		budgetInput(billing.ScopeUser, "", billing.BudgetBundlePricing, billing.BundleAICredits, 50, true, false, nil, pilot[1]),
		budgetInput(billing.ScopeMultiUserCostCenter, ids[CostCenterPilot], billing.BudgetProductPricing, billing.PremiumRequests, 10, false, false, nil, ""),
	} {
		if _, err := budgets.Create(ctx, owner, in); err != nil {
			return fmt.Errorf("demo: budget: %w", err)
		}
	}
	return nil
}

func budgetInput(scope, entity, typ, sku string, amount int64, prevent, alert bool, recipients []string, user string) billing.BudgetInput {
	if recipients == nil {
		recipients = []string{}
	}
	in := billing.BudgetInput{BudgetAmount: &amount, PreventFurtherUsage: &prevent, BudgetScope: &scope, BudgetType: &typ, BudgetProductSKU: &sku,
		BudgetAlerting: &billing.BudgetAlerting{WillAlert: &alert, AlertRecipients: recipients}}
	if entity != "" {
		in.BudgetEntityName = &entity
	}
	if user != "" {
		in.User = &user
	}
	return in
}

// amountFor returns the whole-dollar budget that consumed is pct percent of
// (rounded so the percentage is at least pct), at least $1.
func amountFor(consumed billing.Amount, pct int64) int64 {
	for amount := int64(1); ; {
		// Grow fast, then settle: the largest amount still at or above pct.
		if billing.Percent(consumed, amount*2) >= pct {
			amount *= 2
			continue
		}
		lo, hi := amount, amount*2
		for lo+1 < hi {
			mid := (lo + hi) / 2
			if billing.Percent(consumed, mid) >= pct {
				lo = mid
			} else {
				hi = mid
			}
		}
		return lo
	}
}
