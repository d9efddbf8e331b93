package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

// Organization budgets are an organization owner's (or billing
// manager's): a classic token needs admin:org; a fine-grained token or an
// installation the organization administration permission.
var (
	orgBudgetRead  = usage.Access{Scopes: []string{"admin:org"}, Permission: "organization_administration", Level: "read", Role: usage.RoleAdmin}
	orgBudgetWrite = usage.Access{Scopes: []string{"admin:org"}, Permission: "organization_administration", Level: "write", Role: usage.RoleAdmin}
)

// DefaultBudgetsPerPage is the budgets lists' default page size (the contract's).
const DefaultBudgetsPerPage = 10

// budgetOwner resolves the {enterprise} or {org} of a budget route and
// checks the caller's access.
func (s *Server) budgetOwner(r *http.Request, write bool) (billing.BudgetOwner, error) {
	if s.Budgets == nil {
		return billing.BudgetOwner{}, usage.ErrNotFound
	}
	if login := r.PathValue("org"); login != "" {
		need := orgBudgetRead
		if write {
			need = orgBudgetWrite
		}
		org, err := s.Store.OrganizationByLogin(r.Context(), login)
		if err != nil {
			if usage.IsNotFound(err) {
				if !usage.ActorFrom(r.Context()).Authenticated() {
					return billing.BudgetOwner{}, usage.ErrRequiresAuthentication
				}
				return billing.BudgetOwner{}, usage.ErrNotFound
			}
			return billing.BudgetOwner{}, err
		}
		if err := usage.AuthorizeOrg(usage.ActorFrom(r.Context()), org, need); err != nil {
			return billing.BudgetOwner{}, err
		}
		return billing.BudgetOwner{EnterpriseID: org.EnterpriseID, OrgID: org.ID, OrgLogin: org.Login}, nil
	}
	need := costCenterRead
	if write {
		need = costCenterWrite
	}
	ent, err := s.costCenterEnterprise(r, need)
	if err != nil {
		return billing.BudgetOwner{}, err
	}
	return billing.BudgetOwner{EnterpriseID: ent.ID}, nil
}

type budgetAlertingJSON struct {
	WillAlert       bool     `json:"will_alert"`
	AlertRecipients []string `json:"alert_recipients"`
}

type budgetJSON struct {
	ID                  string             `json:"id"`
	BudgetType          string             `json:"budget_type"`
	BudgetProductSKU    string             `json:"budget_product_sku"`
	BudgetScope         string             `json:"budget_scope"`
	BudgetEntityName    string             `json:"budget_entity_name"`
	BudgetAmount        int64              `json:"budget_amount"`
	PreventFurtherUsage bool               `json:"prevent_further_usage"`
	BudgetAlerting      budgetAlertingJSON `json:"budget_alerting"`
	User                string             `json:"user,omitempty"`
	// ConsumedAmount is sent for user-scoped budgets, and for every
	// budget of a list filtered by user (that user's consumption).
	ConsumedAmount json.RawMessage `json:"consumed_amount,omitempty"`
}

func budgetOut(b *billing.Budget) budgetJSON {
	rs := b.AlertRecipients
	if rs == nil {
		rs = []string{}
	}
	typ := b.Type
	if typ == billing.BudgetBundlePricing {
		// The contract's responses know only ProductPricing and
		// SkuPricing (requests also take BundlePricing): the AI-credit
		// bundle is answered as a product budget on ai_credits.
		typ = billing.BudgetProductPricing
	}
	return budgetJSON{ID: b.ID, BudgetType: typ, BudgetProductSKU: b.ProductSKU, BudgetScope: b.Scope, BudgetEntityName: b.EntityName,
		BudgetAmount: b.Amount, PreventFurtherUsage: b.PreventFurtherUsage, BudgetAlerting: budgetAlertingJSON{b.WillAlert, rs}, User: b.User}
}

// withConsumed adds the consumed amount of user-scoped budgets.
func (s *Server) withConsumed(r *http.Request, b *billing.Budget) (budgetJSON, error) {
	out := budgetOut(b)
	if b.Scope == billing.ScopeUser {
		c, err := s.Budgets.Spend.Consumed(r.Context(), b, s.Now())
		if err != nil {
			return out, err
		}
		out.ConsumedAmount = json.RawMessage(c.String())
	}
	return out, nil
}

// budgetPage parses page and per_page with the budgets' default page size.
func budgetPage(q url.Values, resource string) (usage.Page, error) {
	if !q.Has("per_page") {
		q = maps2(q)
		q.Set("per_page", strconv.Itoa(DefaultBudgetsPerPage))
	}
	return usage.ParsePage(q, resource)
}

func maps2(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = slices.Clone(v)
	}
	return c
}

func (s *Server) handleListBudgets(w http.ResponseWriter, r *http.Request) error {
	owner, err := s.budgetOwner(r, false)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	p, err := budgetPage(q, "Budget")
	if err != nil {
		return err
	}
	bs, total, err := s.Budgets.List(r.Context(), owner, q.Get("scope"), p)
	if err != nil {
		return err
	}
	out := map[string]any{"has_next_page": p.Offset()+len(bs) < total, "total_count": total}
	list := make([]budgetJSON, 0, len(bs))
	user := strings.TrimSpace(q.Get("user"))
	var effective *billing.Budget
	var effectiveConsumed billing.Amount
	if user != "" {
		u, err := s.Store.UserByLogin(r.Context(), user)
		if err != nil {
			if usage.IsNotFound(err) {
				return usage.Invalid("Budget", "user", "user "+strconv.Quote(user)+" not found")
			}
			return err
		}
		user = u.Login
		out["user"] = user
	}
	for _, b := range bs {
		j, err := s.withConsumed(r, b)
		if err != nil {
			return err
		}
		if user != "" {
			c, applies, err := s.userConsumed(r, b, user)
			if err != nil {
				return err
			}
			if applies {
				j.ConsumedAmount = json.RawMessage(c.String())
				// The user's own budget wins over a multi-user one.
				if effective == nil || (b.Scope == billing.ScopeUser && effective.Scope != billing.ScopeUser) {
					effective, effectiveConsumed = b, c
				}
			}
		}
		list = append(list, j)
	}
	out["budgets"] = list
	if effective != nil {
		out["effective_budget"] = map[string]any{"id": effective.ID, "budget_amount": effective.Amount,
			"consumed_amount": json.RawMessage(effectiveConsumed.String())}
	}
	setLink(w, r, p, total)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// userConsumed returns a user's consumption of b when b applies to the
// user (a budget of that user, or a multi-user budget).
func (s *Server) userConsumed(r *http.Request, b *billing.Budget, user string) (billing.Amount, bool, error) {
	switch b.Scope {
	case billing.ScopeUser:
		if !strings.EqualFold(b.User, user) {
			return billing.Amount{}, false, nil
		}
		c, err := s.Budgets.Spend.Consumed(r.Context(), b, s.Now())
		return c, true, err
	case billing.ScopeMultiUserCustomer, billing.ScopeMultiUserCostCenter:
		by, err := s.Budgets.Spend.ConsumedByUser(r.Context(), b, s.Now())
		return by[strings.ToLower(user)], true, err
	}
	return billing.Amount{}, false, nil
}

func (s *Server) handleCreateBudget(w http.ResponseWriter, r *http.Request) error {
	owner, err := s.budgetOwner(r, true)
	if err != nil {
		return err
	}
	var in billing.BudgetInput
	if err := ccDecode(r, &in, usage.KindInvalid, "Budget"); err != nil {
		return err
	}
	b, err := s.Budgets.Create(r.Context(), owner, in)
	if err != nil {
		return err
	}
	j, err := s.withConsumed(r, b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Budget successfully created.", "budget": j})
	return nil
}

func (s *Server) handleGetBudget(w http.ResponseWriter, r *http.Request) error {
	owner, err := s.budgetOwner(r, false)
	if err != nil {
		return err
	}
	b, err := s.Budgets.Get(r.Context(), owner, r.PathValue("budget_id"))
	if err != nil {
		return err
	}
	j, err := s.withConsumed(r, b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

func (s *Server) handleUpdateBudget(w http.ResponseWriter, r *http.Request) error {
	owner, err := s.budgetOwner(r, true)
	if err != nil {
		return err
	}
	var in billing.BudgetInput
	if err := ccDecode(r, &in, usage.KindInvalid, "Budget"); err != nil {
		return err
	}
	b, err := s.Budgets.Update(r.Context(), owner, r.PathValue("budget_id"), in)
	if err != nil {
		return err
	}
	j, err := s.withConsumed(r, b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Budget successfully updated.", "budget": j})
	return nil
}

func (s *Server) handleDeleteBudget(w http.ResponseWriter, r *http.Request) error {
	owner, err := s.budgetOwner(r, true)
	if err != nil {
		return err
	}
	id := r.PathValue("budget_id")
	if err := s.Budgets.Delete(r.Context(), owner, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Budget successfully deleted.", "id": strings.ToLower(id)})
	return nil
}

// budgetUsers returns, for a multi-user budget, each user's consumption
// this month (by lower-cased login) and the users' own budgets for the
// same product, which override the per-user target; a user with an
// overriding budget is listed even before using anything.
func (s *Server) budgetUsers(ctx context.Context, owner billing.BudgetOwner, b *billing.Budget) (map[string]billing.Amount, map[string]*billing.Budget, error) {
	by, err := s.Budgets.Spend.ConsumedByUser(ctx, b, s.Now())
	if err != nil {
		return nil, nil, err
	}
	overrides := map[string]*billing.Budget{}
	users, _, err := s.Budgets.List(ctx, owner, billing.ScopeUser, usage.Page{Number: 1, PerPage: billing.MaxBudgetsPerAccount})
	if err != nil {
		return nil, nil, err
	}
	for _, u := range users {
		if u.ProductSKU == b.ProductSKU {
			overrides[strings.ToLower(u.User)] = u
			if _, ok := by[strings.ToLower(u.User)]; !ok {
				by[strings.ToLower(u.User)] = billing.Amount{}
			}
		}
	}
	return by, overrides, nil
}

type userStateJSON struct {
	User             string          `json:"user,omitempty"`
	ConsumedAmount   json.RawMessage `json:"consumed_amount"`
	TargetAmount     int64           `json:"target_amount"`
	OverrideBudgetID string          `json:"override_budget_id,omitempty"`
}

// handleBudgetUserStates lists, for a multi-user budget, each user's
// consumption against the per-user target (the budget amount, or the
// amount of the user's own budget for the same product, which overrides
// it). Users appear once they have used what the budget covers this month
// or have an overriding budget.
func (s *Server) handleBudgetUserStates(w http.ResponseWriter, r *http.Request) error {
	owner, err := s.budgetOwner(r, false)
	if err != nil {
		return err
	}
	b, err := s.Budgets.Get(r.Context(), owner, r.PathValue("budget_id"))
	if err != nil {
		return err
	}
	if b.Scope != billing.ScopeMultiUserCustomer && b.Scope != billing.ScopeMultiUserCostCenter {
		return usage.Invalid("Budget", "budget_id", "user states exist only for multi_user_customer and multi_user_cost_center budgets, not "+b.Scope)
	}
	q := r.URL.Query()
	p, err := usage.ParsePage(q, "Budget")
	if err != nil {
		return err
	}
	lower, upper := int64(-1), int64(1)<<62
	for name, dst := range map[string]*int64{"threshold_lower_bound": &lower, "threshold_upper_bound": &upper} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return usage.Invalid("Budget", name, name+" must be a non-negative integer percentage")
			}
			*dst = n
		}
	}
	asc := false
	switch q.Get("sort_order") {
	case "", "0":
	case "1":
		asc = true
	default:
		return usage.Invalid("Budget", "sort_order", "sort_order must be 0 (descending) or 1 (ascending)")
	}
	by, overrides, err := s.budgetUsers(r.Context(), owner, b)
	if err != nil {
		return err
	}
	type state struct {
		login    string
		consumed billing.Amount
		target   int64
		override string
		pct      int64
	}
	var states []state
	filter := strings.ToLower(strings.TrimSpace(q.Get("user")))
	for login, c := range by {
		if filter != "" && login != filter {
			continue
		}
		st := state{login: login, consumed: c, target: b.Amount}
		if o := overrides[login]; o != nil {
			st.target, st.override = o.Amount, o.ID
		}
		st.pct = billing.Percent(c, st.target)
		if st.pct < lower || st.pct > upper {
			continue
		}
		states = append(states, st)
	}
	slices.SortFunc(states, func(x, y state) int {
		c := x.consumed.Cmp(y.consumed)
		if c == 0 {
			c = strings.Compare(y.login, x.login)
		}
		if asc {
			return c
		}
		return -c
	})
	total := len(states)
	from := min(p.Offset(), total)
	to := min(from+p.PerPage, total)
	out := make([]userStateJSON, 0, to-from)
	for _, st := range states[from:to] {
		login := st.login
		if u, err := s.Store.UserByLogin(r.Context(), login); err == nil {
			login = u.Login
		}
		out = append(out, userStateJSON{User: login, ConsumedAmount: json.RawMessage(st.consumed.String()), TargetAmount: st.target, OverrideBudgetID: st.override})
	}
	setLink(w, r, p, total)
	writeJSON(w, http.StatusOK, map[string]any{"user_states": out, "has_next_page": to < total, "total_count": total})
	return nil
}
