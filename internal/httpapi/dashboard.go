package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/usage"
)

// BillingScope resolves the billing account the dashboard shows for
// actor, with exactly the rules of the usage-report endpoints: kind
// "enterprise" is GET /enterprises/{name}/settings/billing/usage, "org" is
// GET /organizations/{name}/settings/billing/usage (an organization in an
// enterprise is narrowed from the enterprise's ledger). Errors are those
// endpoints' (404 for an account the actor may not see, 403 naming the
// scope).
func (s *Server) BillingScope(ctx context.Context, actor *usage.Actor, kind, name string) (billing.Scope, error) {
	r := (&http.Request{Method: http.MethodGet, URL: &url.URL{}, Header: http.Header{}}).WithContext(usage.WithActor(ctx, actor))
	switch kind {
	case "enterprise":
		r.SetPathValue("enterprise", name)
		return s.entUsage(r)
	case "org":
		r.SetPathValue("org", name)
		return s.orgUsage(r)
	}
	return billing.Scope{}, usage.ErrNotFound
}

// CopilotAccount resolves the account of the dashboard's Copilot view for
// actor, with exactly the rules (and the policy check) of the Copilot
// usage metrics report routes: kind "enterprise" as
// /enterprises/{name}/copilot/metrics/reports/*, "org" as
// /orgs/{name}/copilot/metrics/reports/*. Exactly one of ent and org is set.
func (s *Server) CopilotAccount(ctx context.Context, actor *usage.Actor, kind, name string) (sc copilot.Scope, ent *usage.Enterprise, org *usage.Organization, err error) {
	r := (&http.Request{Method: http.MethodGet, URL: &url.URL{}, Header: http.Header{}}).WithContext(usage.WithActor(ctx, actor))
	switch kind {
	case "enterprise":
		r.SetPathValue("enterprise", name)
		if ent, err = s.copilotEnterprise(r); err != nil {
			return sc, nil, nil, err
		}
		return copilot.Scope{Enterprise: true, ID: ent.ID}, ent, nil, nil
	case "org":
		r.SetPathValue("org", name)
		if org, err = s.copilotOrg(r); err != nil {
			return sc, nil, nil, err
		}
		return copilot.Scope{ID: org.ID}, nil, org, nil
	}
	return sc, nil, nil, usage.ErrNotFound
}

// CostCenterList lists an enterprise's cost centers (every state, with
// their current resources) for actor, with exactly the rules of
// GET /enterprises/{name}/settings/billing/cost-centers; nil when the
// server keeps no cost centers.
func (s *Server) CostCenterList(ctx context.Context, actor *usage.Actor, name string) ([]*billing.CostCenter, error) {
	if s.CostCenters == nil {
		return nil, nil
	}
	r := (&http.Request{Method: http.MethodGet, URL: &url.URL{}, Header: http.Header{}}).WithContext(usage.WithActor(ctx, actor))
	r.SetPathValue("enterprise", name)
	ent, err := s.costCenterEnterprise(r, costCenterRead)
	if err != nil {
		return nil, err
	}
	return s.CostCenters.List(ctx, ent.ID, "")
}

// BudgetState is a budget with what it has consumed this month (UTC), for
// the dashboard: the figures the budget endpoints and the alert job use.
type BudgetState struct {
	Budget   *billing.Budget
	Consumed billing.Amount // net amount this month
	Percent  int64          // of the budget amount, rounded down (billing.Percent)
	// Alerting: the budget raises alerts (budget_alerting.will_alert, and
	// not a per-user scope: GitHub never alerts on those).
	Alerting bool
	// Raised are the thresholds the alert job recorded this month.
	Raised []billing.BudgetAlert
	// Users are each user's state, for a multi-user budget (every user who
	// used what it covers this month, or has a budget overriding it), by
	// consumption, highest first; for a user budget, its one user.
	Users []BudgetUserState
}

// BudgetUserState is one user's consumption of a per-user budget against
// its target: the budget's amount, or the user's own budget's.
type BudgetUserState struct {
	User             string
	Consumed         billing.Amount
	Target           int64
	Percent          int64
	OverrideBudgetID string
}

// BudgetStates lists the budgets of an enterprise (kind "enterprise") or
// organization ("org") for actor, with exactly the rules of
// GET /enterprises/{name}/settings/billing/budgets and
// GET /organizations/{name}/settings/billing/budgets (404 for an account
// the actor may not see, 403 naming the scope), each with its
// consumption, the alerts raised this month and, for per-user budgets,
// every user's state as …/budgets/{id}/user-states computes it. nil when
// the server keeps no budgets.
func (s *Server) BudgetStates(ctx context.Context, actor *usage.Actor, kind, name string) ([]BudgetState, error) {
	if s.Budgets == nil {
		return nil, nil
	}
	r := (&http.Request{Method: http.MethodGet, URL: &url.URL{}, Header: http.Header{}}).WithContext(usage.WithActor(ctx, actor))
	switch kind {
	case "enterprise":
		r.SetPathValue("enterprise", name)
	case "org":
		r.SetPathValue("org", name)
	default:
		return nil, usage.ErrNotFound
	}
	owner, err := s.budgetOwner(r, false)
	if err != nil {
		return nil, err
	}
	bs, _, err := s.Budgets.List(ctx, owner, "", usage.Page{Number: 1, PerPage: billing.MaxBudgetsPerAccount})
	if err != nil {
		return nil, err
	}
	now := s.Now()
	month := now.UTC().Format("2006-01")
	out := make([]BudgetState, 0, len(bs))
	for _, b := range bs {
		st := BudgetState{Budget: b, Alerting: b.Alerting()}
		switch b.Scope {
		case billing.ScopeMultiUserCustomer, billing.ScopeMultiUserCostCenter:
			by, overrides, err := s.budgetUsers(ctx, owner, b)
			if err != nil {
				return nil, err
			}
			for login, c := range by {
				us := BudgetUserState{User: login, Consumed: c, Target: b.Amount}
				if o := overrides[login]; o != nil {
					us.Target, us.OverrideBudgetID = o.Amount, o.ID
				}
				us.Percent = billing.Percent(c, us.Target)
				st.Consumed = st.Consumed.Add(c)
				st.Users = append(st.Users, us)
			}
			slices.SortFunc(st.Users, func(x, y BudgetUserState) int {
				if c := y.Consumed.Cmp(x.Consumed); c != 0 {
					return c
				}
				return strings.Compare(x.User, y.User)
			})
			for i := range st.Users {
				if u, err := s.Store.UserByLogin(ctx, st.Users[i].User); err == nil {
					st.Users[i].User = u.Login
				}
			}
			// The budget's own percentage is its most consumed user's.
			if len(st.Users) > 0 {
				st.Percent = st.Users[0].Percent
				for _, u := range st.Users {
					st.Percent = max(st.Percent, u.Percent)
				}
			}
		default:
			if st.Consumed, err = s.Budgets.Spend.Consumed(ctx, b, now); err != nil {
				return nil, err
			}
			st.Percent = billing.Percent(st.Consumed, b.Amount)
			if b.Scope == billing.ScopeUser {
				st.Users = []BudgetUserState{{User: b.User, Consumed: st.Consumed, Target: b.Amount, Percent: st.Percent}}
			}
		}
		if st.Raised, err = s.Budgets.Store.BudgetAlerts(ctx, b.ID, month); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
