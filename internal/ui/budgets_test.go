package ui_test

import (
	"encoding/json"
	"math/big"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/testenv"
)

var (
	budgetRow = regexp.MustCompile(`<tr data-budget="([^"]+)" data-level="(\d+)" data-consumed="([^"]+)" data-percent="(\d+)">`)
	userRow   = regexp.MustCompile(`<tr data-user="([^"]+)" data-consumed="([^"]+)">`)
)

// budgetAPI is a budget as GET …/settings/billing/budgets lists it.
type budgetAPI struct {
	ID     string `json:"id"`
	Type   string `json:"budget_type"`
	SKU    string `json:"budget_product_sku"`
	Scope  string `json:"budget_scope"`
	Entity string `json:"budget_entity_name"`
	Amount int64  `json:"budget_amount"`
	User   string `json:"user"`
}

// TestBillingBudgets: on the demo's ledger and budgets, with the alert job
// run once, the billing page lists every budget the API lists; an
// enterprise product budget's consumption equals the exact net amount of
// usage/summary for that product this month, every percentage is the
// consumption over the API's amount, every alerting budget's state is the
// highest threshold the alert job recorded, and each per-user budget lists
// every user of …/user-states with the same consumption, exactly.
func TestBillingBudgets(t *testing.T) {
	env := testenv.New(t)
	ctx := t.Context()
	now := time.Now().UTC()
	if err := demo.SeedBilling(ctx, env.Store, env.Store, env.Data, 1, now); err != nil {
		t.Fatal(err)
	}
	if err := demo.SeedCostCenters(ctx, env.Store, env.Data, 1, now); err != nil {
		t.Fatal(err)
	}
	alerter := &billing.BudgetAlerter{Budgets: env.Server.API.Budgets}
	if err := alerter.Run(ctx); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, env)
	c.signIn(env.AdminToken)
	resp, page := c.get("/ui/billing/enterprise/acme")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("billing page: %d", resp.StatusCode)
	}
	var list struct {
		Budgets []budgetAPI `json:"budgets"`
	}
	apiJSON(t, env, "/enterprises/acme/settings/billing/budgets?per_page=100", env.AdminToken, &list)
	byID := map[string]budgetAPI{}
	for _, b := range list.Budgets {
		byID[b.ID] = b
	}
	rows := budgetRow.FindAllStringSubmatch(page, -1)
	if len(rows) != len(list.Budgets) || len(rows) < 5 {
		t.Fatalf("the page lists %d budgets, the API %d", len(rows), len(list.Budgets))
	}
	month := now.Format("2006-01")
	levels := map[int]bool{}
	checkedProduct := false
	for _, m := range rows {
		id, lvl, consumed, pct := m[1], atoi(t, m[2]), m[3], atoi(t, m[4])
		b, ok := byID[id]
		if !ok {
			t.Errorf("the page shows budget %s, which the API does not list", id)
			continue
		}
		perUser := b.Scope == billing.ScopeUser || strings.HasPrefix(b.Scope, "multi_user")
		if perUser {
			continue
		}
		// The percentage is the consumption over the API's amount.
		want := floorPercent(t, consumed, b.Amount)
		if pct != want {
			t.Errorf("budget %s: %d %%, but %s of $%d is %d %%", id, pct, consumed, b.Amount, want)
		}
		// The alert job's record: the highest threshold raised this month.
		raised, err := env.Store.BudgetAlerts(ctx, id, month)
		if err != nil {
			t.Fatal(err)
		}
		top := 0
		for _, a := range raised {
			top = max(top, a.Threshold)
		}
		if lvl != top {
			t.Errorf("budget %s (%s %s): the page's level %d, the alert job raised %d", id, b.Scope, b.SKU, lvl, top)
		}
		levels[lvl] = true
		if b.Scope == billing.ScopeEnterprise && b.Type == billing.BudgetProductPricing {
			var sum struct {
				Items []struct {
					Net json.Number `json:"netAmount"`
				} `json:"usageItems"`
			}
			apiJSON(t, env, "/enterprises/acme/settings/billing/usage/summary?year="+now.Format("2006")+"&month="+now.Format("1")+"&product="+b.SKU, env.AdminToken, &sum)
			var nets []string
			for _, it := range sum.Items {
				nets = append(nets, it.Net.String())
			}
			if decimal(t, nets...).Cmp(decimal(t, consumed)) != 0 {
				t.Errorf("enterprise %s budget consumed %s; usage/summary?product=%s nets %s", b.SKU, consumed, b.SKU, decimal(t, nets...).FloatString(6))
			}
			checkedProduct = true
		}
	}
	if !checkedProduct {
		t.Error("no enterprise product budget to check against usage/summary")
	}
	if len(levels) < 2 {
		t.Errorf("the demo's budgets all show level %v; it sizes them at different thresholds", levels)
	}

	// Each per-user budget: every user of user-states, same consumption.
	perUser := 0
	for _, b := range list.Budgets {
		if !strings.HasPrefix(b.Scope, "multi_user") {
			continue
		}
		perUser++
		var st struct {
			States []struct {
				User     string      `json:"user"`
				Consumed json.Number `json:"consumed_amount"`
			} `json:"user_states"`
			Total int `json:"total_count"`
		}
		apiJSON(t, env, "/enterprises/acme/settings/billing/budgets/"+b.ID+"/user-states?per_page=100", env.AdminToken, &st)
		i := strings.Index(page, `id="budget-users-`+b.ID+`"`)
		if i < 0 {
			t.Fatalf("no users table for budget %s", b.ID)
		}
		sect := page[i:]
		sect = sect[:strings.Index(sect, "</table>")]
		shown := map[string]string{}
		for _, m := range userRow.FindAllStringSubmatch(sect, -1) {
			shown[m[1]] = m[2]
		}
		if len(shown) != st.Total || st.Total == 0 && b.Scope == billing.ScopeMultiUserCustomer {
			t.Errorf("budget %s (%s): %d users shown, user-states has %d", b.ID, b.Scope, len(shown), st.Total)
		}
		for _, s := range st.States {
			if got, ok := shown[s.User]; !ok || decimal(t, got).Cmp(decimal(t, s.Consumed.String())) != 0 {
				t.Errorf("budget %s: user %s shows %q, user-states says %s", b.ID, s.User, got, s.Consumed)
			}
		}
	}
	if perUser == 0 {
		t.Error("the demo has no multi-user budget")
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// floorPercent is floor(consumed × 100 / amount) from the exact decimal;
// a zero budget is 100 % consumed by any spending.
func floorPercent(t *testing.T, consumed string, amount int64) int {
	t.Helper()
	r := decimal(t, consumed)
	if amount == 0 {
		if r.Sign() > 0 {
			return 100
		}
		return 0
	}
	r.Mul(r, big.NewRat(100, amount))
	return int(new(big.Int).Quo(r.Num(), r.Denom()).Int64())
}
