package ui

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/httpapi"
	"github.com/ghusage/ghusage/internal/usage"
)

// budgetView is one budget of the billing page: its consumption this
// month against the 75, 90 and 100 % thresholds, and its alert state.
type budgetView struct {
	ID, What, Scope, Target string
	Amount                  string // whole dollars
	Consumed                string // rounded to the cent; ConsumedExact is the exact amount
	ConsumedExact           string
	Percent                 int64
	Meter                   int64  // Percent capped at 100, for the bar
	Level                   int    // the highest threshold reached (0, 75, 90, 100)
	State, StateClass       string // "below 75 %", "past 75 %", "past 90 %", "exceeded"
	Alerts                  string // "on", "off", "never (per-user)"
	Raised                  string // thresholds raised this month, e.g. "75 %, 90 %"
	PerUser                 bool
	Users                   []budgetUserView
}

type budgetUserView struct {
	User, Consumed, ConsumedExact, Target string
	Percent, Meter                        int64
	State, StateClass                     string
	Override                              bool
}

// level is the highest of billing.BudgetThresholds that pct reaches; a
// zero budget with nothing consumed reaches none (as the alert job).
func level(pct int64, consumed billing.Amount, amount int64) int {
	l := 0
	for _, t := range billing.BudgetThresholds {
		if pct >= int64(t) && !(amount == 0 && consumed.IsZero()) {
			l = t
		}
	}
	return l
}

func levelState(l int) (string, string) {
	switch l {
	case 100:
		return "exceeded", "bad"
	case 90:
		return "past 90 %", "bad"
	case 75:
		return "past 75 %", "warn"
	}
	return "below 75 %", "ok"
}

// budgetViews reads the account's budgets through cfg.Budgets (the budget
// endpoints' access and consumption); ok is false when the token may not
// read them (the API's 404 or 403), which the page says instead.
func (h *Handler) budgetViews(ctx context.Context, a *usage.Actor, kind, name string, ccNames map[string]string) ([]budgetView, bool, error) {
	if h.cfg.Budgets == nil {
		return nil, false, nil
	}
	states, err := h.cfg.Budgets(ctx, a, kind, name)
	if err != nil {
		if k := usage.ErrorKind(err); k == usage.KindNotFound || k == usage.KindForbidden {
			return nil, false, nil
		}
		return nil, false, err
	}
	out := make([]budgetView, 0, len(states))
	for _, st := range states {
		b := st.Budget
		v := budgetView{ID: b.ID, What: budgetWhat(b), Scope: strings.ReplaceAll(b.Scope, "_", " "), Amount: "$" + grouped(b.Amount),
			Consumed: usd(st.Consumed), ConsumedExact: st.Consumed.String(), Percent: st.Percent, Meter: min(st.Percent, 100)}
		switch b.Scope {
		case billing.ScopeOrganization, billing.ScopeRepository:
			v.Target = b.EntityName
		case billing.ScopeCostCenter, billing.ScopeMultiUserCostCenter:
			v.Target = cmpOr(ccNames[b.EntityName], b.EntityName)
		case billing.ScopeUser:
			v.Target = b.User
		case billing.ScopeEnterprise:
			v.Target = name
		case billing.ScopeMultiUserCustomer:
			v.Target = "each user"
		}
		v.PerUser = b.Scope == billing.ScopeUser || b.Scope == billing.ScopeMultiUserCustomer || b.Scope == billing.ScopeMultiUserCostCenter
		if v.PerUser {
			// The highest user's state; each user's below.
			for _, u := range st.Users {
				uv := budgetUserView{User: u.User, Consumed: usd(u.Consumed), ConsumedExact: u.Consumed.String(), Target: "$" + grouped(u.Target),
					Percent: u.Percent, Meter: min(u.Percent, 100), Override: u.OverrideBudgetID != ""}
				l := level(u.Percent, u.Consumed, u.Target)
				uv.State, uv.StateClass = levelState(l)
				v.Level = max(v.Level, l)
				v.Users = append(v.Users, uv)
			}
		} else {
			v.Level = level(st.Percent, st.Consumed, b.Amount)
		}
		v.State, v.StateClass = levelState(v.Level)
		switch {
		case v.PerUser:
			v.Alerts = "never (per-user)"
		case st.Alerting:
			v.Alerts = "on"
		default:
			v.Alerts = "off"
		}
		var raised []string
		for _, r := range st.Raised {
			raised = append(raised, strconv.Itoa(r.Threshold)+" %")
		}
		v.Raised = strings.Join(raised, ", ")
		out = append(out, v)
	}
	// Most consumed first, as GitHub's budgets page sorts.
	slices.SortStableFunc(out, func(x, y budgetView) int { return cmp.Compare(y.Percent, x.Percent) })
	return out, true, nil
}

// budgetWhat names what a budget covers.
func budgetWhat(b *billing.Budget) string {
	switch {
	case b.ProductSKU == billing.PremiumRequests:
		return "Premium requests"
	case b.Type == billing.BudgetBundlePricing:
		return "AI credits (bundle)"
	case b.Type == billing.BudgetSkuPricing:
		return "SKU " + b.ProductSKU
	}
	return "Product " + b.ProductSKU
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// budgetStates is the type cfg.Budgets answers (httpapi.Server.BudgetStates).
type budgetStates = func(ctx context.Context, a *usage.Actor, kind, name string) ([]httpapi.BudgetState, error)
