package billing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Budget types, scopes and limits, as the contract spells them.
const (
	BudgetBundlePricing  = "BundlePricing"
	BudgetProductPricing = "ProductPricing"
	BudgetSkuPricing     = "SkuPricing"

	ScopeEnterprise          = "enterprise"
	ScopeOrganization        = "organization"
	ScopeRepository          = "repository"
	ScopeCostCenter          = "cost_center"
	ScopeMultiUserCustomer   = "multi_user_customer"
	ScopeMultiUserCostCenter = "multi_user_cost_center"
	ScopeUser                = "user"

	// BundleAICredits is the budget_product_sku of BundlePricing budgets:
	// every AI-credit SKU.
	BundleAICredits = "ai_credits"
	// PremiumRequests is the product_sku of premium-request budgets.
	PremiumRequests = "premium_requests"

	MaxBudgetsPerAccount = 10000
	MaxBudgetAmount      = 1_000_000_000 // whole dollars (or licences)
	MaxAlertRecipients   = 100
)

// EnterpriseBudgetScopes and OrganizationBudgetScopes are the scopes each
// account level may create.
var (
	EnterpriseBudgetScopes   = []string{ScopeEnterprise, ScopeOrganization, ScopeRepository, ScopeCostCenter, ScopeMultiUserCustomer, ScopeMultiUserCostCenter, ScopeUser}
	OrganizationBudgetScopes = []string{ScopeOrganization, ScopeRepository, ScopeMultiUserCustomer, ScopeUser}
)

// Budget is a monthly spending limit on a product, SKU or the AI-credit
// bundle, for a scope: the whole enterprise, an organization, a
// repository, a cost center, one user, or each user (multi-user scopes).
type Budget struct {
	ID           string
	EnterpriseID int64 // the enterprise it belongs to (0 for an organization outside any)
	OrgID        int64 // the organization that owns it; 0 for an enterprise's budget
	Type         string
	ProductSKU   string
	Scope        string
	EntityName   string // organization login, owner/repo or cost-center id; "" for the other scopes
	User         string // the login of a user-scoped budget
	Amount       int64  // whole dollars
	// PreventFurtherUsage is stored and reported; ghusage records usage
	// reported to it and cannot stop it (doc/cost-centers.md).
	PreventFurtherUsage bool
	WillAlert           bool
	AlertRecipients     []string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// TargetKey is what makes a budget unique within its owner: one budget per
// scope, entity, user and product or SKU.
func (b *Budget) TargetKey() string {
	return strings.ToLower(strings.Join([]string{b.Scope, b.EntityName, b.User, b.ProductSKU}, "|"))
}

// BudgetStore keeps budgets and the alerts raised for them.
type BudgetStore interface {
	// CreateBudget stores b unless its owner has a budget with the same
	// TargetKey (ErrBudgetExists) or max budgets (ErrBudgetLimit).
	CreateBudget(ctx context.Context, b *Budget, max int) error
	// Budget returns a budget of the owner (enterprise, and organization
	// or 0), or KindNotFound.
	Budget(ctx context.Context, enterpriseID, orgID int64, id string) (*Budget, error)
	// ListBudgets returns a page of the owner's budgets in scope ("" for
	// all), oldest first, and how many there are.
	ListBudgets(ctx context.Context, enterpriseID, orgID int64, scope string, offset, limit int) ([]*Budget, int, error)
	// UpdateBudget replaces a stored budget's fields (ErrBudgetExists if
	// its new target is another budget's).
	UpdateBudget(ctx context.Context, b *Budget) error
	// DeleteBudget deletes a budget of the owner, or answers KindNotFound.
	DeleteBudget(ctx context.Context, enterpriseID, orgID int64, id string) error
	// AllBudgets lists every budget, oldest first, for the alert job.
	AllBudgets(ctx context.Context) ([]*Budget, error)

	// RaiseBudgetAlert records alert and queues its deliveries, in one
	// transaction, unless a threshold at or above alert.Threshold was
	// raised for the budget and month already; it reports whether it did.
	RaiseBudgetAlert(ctx context.Context, alert BudgetAlert, deliveries []BudgetDelivery) (bool, error)
	// BudgetAlerts lists the alerts raised for a budget in a month, by threshold.
	BudgetAlerts(ctx context.Context, budgetID, month string) ([]BudgetAlert, error)
	// DueBudgetDeliveries returns up to limit undelivered, unfailed
	// deliveries whose next attempt is at or before now.
	DueBudgetDeliveries(ctx context.Context, now time.Time, limit int) ([]BudgetDelivery, error)
	// UpdateBudgetDelivery records an attempt's outcome.
	UpdateBudgetDelivery(ctx context.Context, d BudgetDelivery) error
}

// BudgetAlert is a threshold (75, 90 or 100 %) a budget crossed in a month.
type BudgetAlert struct {
	BudgetID   string
	Month      string // YYYY-MM
	Threshold  int
	DeliveryID string // X-GitHub-Delivery of its webhooks
	Consumed   string // the consumed amount in dollars, exact decimal
	RaisedAt   time.Time
}

// BudgetDelivery is one webhook delivery of an alert to one URL.
type BudgetDelivery struct {
	DeliveryID  string
	URL         string
	Payload     string
	Attempts    int
	NextAttempt time.Time
	DeliveredAt time.Time
	Failed      bool // out of attempts
	LastError   string
}

// Budget errors.
var (
	ErrBudgetExists = &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed",
		Fields: []usage.FieldError{{Resource: "Budget", Field: "budget_scope", Code: "already_exists",
			Message: "a budget for this scope, entity and product or SKU already exists"}}}
	ErrBudgetLimit = &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed",
		Fields: []usage.FieldError{{Resource: "Budget", Code: "custom",
			Message: fmt.Sprintf("this account is already at the limit of %d budgets", MaxBudgetsPerAccount)}}}
)

// BudgetNotFound is the 404 for a budget id the account does not have.
func BudgetNotFound(id string) error {
	return &usage.Error{Kind: usage.KindNotFound, Message: fmt.Sprintf("Budget with ID %s not found.", ccClip(id))}
}

func budgetInvalid(field, code, format string, args ...any) error {
	return &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed",
		Fields: []usage.FieldError{{Resource: "Budget", Field: field, Code: code, Message: fmt.Sprintf(format, args...)}}}
}

// BudgetAlerting is the budget_alerting object.
type BudgetAlerting struct {
	WillAlert       *bool    `json:"will_alert"`
	AlertRecipients []string `json:"alert_recipients"`
}

// BudgetInput is the body of the create and update operations; absent
// fields are nil (on update: unchanged).
type BudgetInput struct {
	BudgetAmount        *int64          `json:"budget_amount"`
	PreventFurtherUsage *bool           `json:"prevent_further_usage"`
	BudgetAlerting      *BudgetAlerting `json:"budget_alerting"`
	BudgetScope         *string         `json:"budget_scope"`
	BudgetEntityName    *string         `json:"budget_entity_name"`
	BudgetType          *string         `json:"budget_type"`
	BudgetProductSKU    *string         `json:"budget_product_sku"`
	User                *string         `json:"user"`
}

// BudgetOwner is the account whose budgets an operation is about: an
// enterprise, or an organization (OrgID not 0) and the enterprise it is in.
type BudgetOwner struct {
	EnterpriseID int64
	OrgID        int64
	OrgLogin     string
}

func (o BudgetOwner) scopes() []string {
	if o.OrgID != 0 {
		return OrganizationBudgetScopes
	}
	return EnterpriseBudgetScopes
}

// Budgets is the budget service the HTTP adapter calls.
type Budgets struct {
	Store       BudgetStore
	Accounts    usage.AccountStore
	CostCenters CostCenterStore // to check cost-center scopes; nil: none exist
	Catalog     *Catalog
	Now         func() time.Time
	// Spend computes consumed amounts; nil: nothing is consumed.
	Spend *BudgetSpend
}

func (s *Budgets) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

// Create validates in and stores a new budget of owner.
func (s *Budgets) Create(ctx context.Context, owner BudgetOwner, in BudgetInput) (*Budget, error) {
	for _, req := range []struct {
		set   bool
		field string
	}{
		{in.BudgetAmount != nil, "budget_amount"}, {in.PreventFurtherUsage != nil, "prevent_further_usage"},
		{in.BudgetScope != nil, "budget_scope"}, {in.BudgetType != nil, "budget_type"},
		{in.BudgetAlerting != nil, "budget_alerting"},
	} {
		if !req.set {
			return nil, budgetInvalid(req.field, "missing_field", "%s is required", req.field)
		}
	}
	now := s.now()
	b := &Budget{ID: NewUUID(), EnterpriseID: owner.EnterpriseID, OrgID: owner.OrgID, CreatedAt: now, UpdatedAt: now}
	if err := s.apply(ctx, owner, b, in, true); err != nil {
		return nil, err
	}
	if err := s.Store.CreateBudget(ctx, b, MaxBudgetsPerAccount); err != nil {
		return nil, err
	}
	return b, nil
}

// Get returns one of owner's budgets.
func (s *Budgets) Get(ctx context.Context, owner BudgetOwner, id string) (*Budget, error) {
	if !ValidUUID(id) {
		return nil, &usage.Error{Kind: usage.KindBadRequest, Message: fmt.Sprintf("Bad request: budget_id %q is not a valid budget ID (a UUID).", ccClip(id)),
			Fields: []usage.FieldError{{Resource: "Budget", Field: "budget_id", Code: "invalid", Message: "not a UUID"}}}
	}
	b, err := s.Store.Budget(ctx, owner.EnterpriseID, owner.OrgID, strings.ToLower(id))
	if usage.IsNotFound(err) {
		return nil, BudgetNotFound(id)
	}
	return b, err
}

// List returns a page of owner's budgets in scope ("" for all) and their number.
func (s *Budgets) List(ctx context.Context, owner BudgetOwner, scope string, p usage.Page) ([]*Budget, int, error) {
	if scope != "" && !slices.Contains(owner.scopes(), scope) && scope != ScopeEnterprise && scope != ScopeCostCenter {
		return nil, 0, budgetInvalid("scope", "invalid", "scope %q is not one of %s", ccClip(scope), strings.Join(EnterpriseBudgetScopes, ", "))
	}
	return s.Store.ListBudgets(ctx, owner.EnterpriseID, owner.OrgID, scope, p.Offset(), p.PerPage)
}

// Update changes the fields in sets of one of owner's budgets.
func (s *Budgets) Update(ctx context.Context, owner BudgetOwner, id string, in BudgetInput) (*Budget, error) {
	b, err := s.Get(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	if err := s.apply(ctx, owner, b, in, false); err != nil {
		return nil, err
	}
	b.UpdatedAt = s.now()
	if err := s.Store.UpdateBudget(ctx, b); err != nil {
		if usage.IsNotFound(err) {
			return nil, BudgetNotFound(id)
		}
		return nil, err
	}
	return b, nil
}

// Delete deletes one of owner's budgets.
func (s *Budgets) Delete(ctx context.Context, owner BudgetOwner, id string) error {
	if _, err := s.Get(ctx, owner, id); err != nil {
		return err
	}
	err := s.Store.DeleteBudget(ctx, owner.EnterpriseID, owner.OrgID, strings.ToLower(id))
	if usage.IsNotFound(err) {
		return BudgetNotFound(id)
	}
	return err
}

// apply validates in against b (the stored budget on update) and copies it over.
func (s *Budgets) apply(ctx context.Context, owner BudgetOwner, b *Budget, in BudgetInput, create bool) error {
	if in.BudgetAmount != nil {
		if *in.BudgetAmount < 0 {
			return budgetInvalid("budget_amount", "invalid", "budget_amount must be 0 or more, not %d", *in.BudgetAmount)
		}
		if *in.BudgetAmount > MaxBudgetAmount {
			return budgetInvalid("budget_amount", "invalid", "budget_amount must be at most %d", MaxBudgetAmount)
		}
		b.Amount = *in.BudgetAmount
	}
	if in.PreventFurtherUsage != nil {
		b.PreventFurtherUsage = *in.PreventFurtherUsage
	}
	if in.BudgetScope != nil {
		if !slices.Contains(owner.scopes(), *in.BudgetScope) {
			return budgetInvalid("budget_scope", "invalid", "budget_scope %q is not one of %s", ccClip(*in.BudgetScope), strings.Join(owner.scopes(), ", "))
		}
		if !create && *in.BudgetScope != b.Scope && in.BudgetEntityName == nil {
			b.EntityName = "" // a new scope names its own entity
		}
		b.Scope = *in.BudgetScope
	}
	if in.BudgetType != nil {
		switch *in.BudgetType {
		case BudgetBundlePricing, BudgetProductPricing, BudgetSkuPricing:
		default:
			return budgetInvalid("budget_type", "invalid", "budget_type %q is not one of BundlePricing, ProductPricing, SkuPricing", ccClip(*in.BudgetType))
		}
		b.Type = *in.BudgetType
	}
	if in.BudgetProductSKU != nil {
		b.ProductSKU = strings.ToLower(strings.TrimSpace(*in.BudgetProductSKU))
	}
	if b.Type == BudgetBundlePricing && b.ProductSKU == "" {
		b.ProductSKU = BundleAICredits
	}
	if b.Type == BudgetProductPricing && b.ProductSKU == BundleAICredits {
		b.Type = BudgetBundlePricing // what the API answers for a bundle budget, sent back
	}
	if err := s.checkProductSKU(b); err != nil {
		return err
	}
	if in.BudgetEntityName != nil {
		b.EntityName = strings.TrimSpace(*in.BudgetEntityName)
	}
	if in.User != nil {
		b.User = strings.TrimSpace(*in.User)
	}
	if in.BudgetAlerting != nil {
		if in.BudgetAlerting.WillAlert == nil && create {
			return budgetInvalid("budget_alerting.will_alert", "missing_field", "budget_alerting.will_alert is required")
		}
		if in.BudgetAlerting.AlertRecipients == nil && create {
			return budgetInvalid("budget_alerting.alert_recipients", "missing_field", "budget_alerting.alert_recipients is required (it may be empty)")
		}
		if in.BudgetAlerting.WillAlert != nil {
			b.WillAlert = *in.BudgetAlerting.WillAlert
		}
		if in.BudgetAlerting.AlertRecipients != nil {
			b.AlertRecipients = nil
			for _, r := range in.BudgetAlerting.AlertRecipients {
				if r = strings.TrimSpace(r); r != "" && !slices.ContainsFunc(b.AlertRecipients, func(x string) bool { return strings.EqualFold(x, r) }) {
					b.AlertRecipients = append(b.AlertRecipients, r)
				}
			}
		}
	}
	return s.checkTarget(ctx, owner, b, in)
}

// checkProductSKU checks budget_product_sku against the budget type and the catalogue.
func (s *Budgets) checkProductSKU(b *Budget) error {
	c := s.Catalog
	if c == nil {
		c = DefaultCatalog()
	}
	switch b.Type {
	case BudgetBundlePricing:
		if b.ProductSKU != BundleAICredits {
			return budgetInvalid("budget_product_sku", "invalid", "a BundlePricing budget covers %s, not %q", BundleAICredits, ccClip(b.ProductSKU))
		}
	case BudgetProductPricing:
		if _, ok := productNames[b.ProductSKU]; !ok && b.ProductSKU != PremiumRequests {
			ids := append(slices.Sorted(mapKeys(productNames)), PremiumRequests)
			if b.ProductSKU == "" {
				return budgetInvalid("budget_product_sku", "missing_field", "budget_product_sku is required: a product, one of %s", strings.Join(ids, ", "))
			}
			return budgetInvalid("budget_product_sku", "invalid", "%q is not a product; valid products: %s", ccClip(b.ProductSKU), strings.Join(ids, ", "))
		}
	case BudgetSkuPricing:
		if c.SKU(b.ProductSKU) == nil && b.ProductSKU != PremiumRequests {
			if b.ProductSKU == "" {
				return budgetInvalid("budget_product_sku", "missing_field", "budget_product_sku is required: a SKU such as actions_linux")
			}
			return budgetInvalid("budget_product_sku", "invalid", "%q is not a SKU; valid SKUs: %s", ccClip(b.ProductSKU), strings.Join(c.SortedSKUs(), ", "))
		}
	}
	return nil
}

func mapKeys[M ~map[string]V, V any](m M) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// checkTarget checks the scope's entity, user and alerting rules.
func (s *Budgets) checkTarget(ctx context.Context, owner BudgetOwner, b *Budget, in BudgetInput) error {
	perUser := b.Scope == ScopeUser || b.Scope == ScopeMultiUserCustomer || b.Scope == ScopeMultiUserCostCenter
	if perUser && b.ProductSKU != BundleAICredits && b.ProductSKU != PremiumRequests {
		return budgetInvalid("budget_product_sku", "invalid", "%s budgets cover only %s or %s, not %q", b.Scope, BundleAICredits, PremiumRequests, ccClip(b.ProductSKU))
	}
	if (b.Scope == ScopeUser || b.Scope == ScopeMultiUserCustomer) && !b.PreventFurtherUsage {
		return budgetInvalid("prevent_further_usage", "invalid", "prevent_further_usage must be true for %s budgets", b.Scope)
	}
	if b.Scope == ScopeUser {
		if in.BudgetAlerting != nil && ((in.BudgetAlerting.WillAlert != nil && *in.BudgetAlerting.WillAlert) || len(in.BudgetAlerting.AlertRecipients) > 0) {
			return budgetInvalid("budget_alerting", "invalid", "alerting is always disabled for user budgets: set will_alert false and no alert_recipients")
		}
		b.WillAlert, b.AlertRecipients = false, nil
	} else {
		b.User = ""
	}
	if len(b.AlertRecipients) > MaxAlertRecipients {
		return budgetInvalid("budget_alerting.alert_recipients", "invalid", "at most %d alert recipients", MaxAlertRecipients)
	}
	for i, r := range b.AlertRecipients {
		u, err := s.Accounts.UserByLogin(ctx, r)
		if usage.IsNotFound(err) {
			return budgetInvalid("budget_alerting.alert_recipients", "invalid", "alert_recipients[%d]: user %q not found", i, ccClip(r))
		} else if err != nil {
			return err
		}
		b.AlertRecipients[i] = u.Login
	}
	name := b.EntityName
	switch b.Scope {
	case ScopeEnterprise, ScopeMultiUserCustomer, ScopeUser:
		b.EntityName = ""
		if b.Scope == ScopeUser {
			if b.User == "" {
				return budgetInvalid("user", "missing_field", "user is required for user budgets")
			}
			u, err := s.Accounts.UserByLogin(ctx, b.User)
			if usage.IsNotFound(err) {
				return budgetInvalid("user", "invalid", "user %q not found", ccClip(b.User))
			} else if err != nil {
				return err
			}
			b.User = u.Login
		}
	case ScopeOrganization:
		if name == "" && owner.OrgID != 0 {
			name = owner.OrgLogin
		}
		o, err := s.Accounts.OrganizationByLogin(ctx, name)
		if err == nil && (o.EnterpriseID != owner.EnterpriseID || owner.EnterpriseID == 0 && o.ID != owner.OrgID || owner.OrgID != 0 && o.ID != owner.OrgID) {
			err = usage.ErrNotFound
		}
		if usage.IsNotFound(err) {
			return budgetInvalid("budget_entity_name", "invalid", "organization %q not found in this account", ccClip(name))
		} else if err != nil {
			return err
		}
		b.EntityName = o.Login
	case ScopeRepository:
		full, err := s.repository(ctx, owner, name)
		if err != nil {
			return err
		}
		b.EntityName = full
	case ScopeCostCenter, ScopeMultiUserCostCenter:
		if !ValidUUID(name) {
			return budgetInvalid("budget_entity_name", "invalid", "budget_entity_name must be a cost center id (a UUID) for %s budgets, not %q", b.Scope, ccClip(name))
		}
		var cc *CostCenter
		var err error = usage.ErrNotFound
		if s.CostCenters != nil {
			cc, err = s.CostCenters.CostCenter(ctx, owner.EnterpriseID, name)
		}
		if usage.IsNotFound(err) || (err == nil && cc.State != CostCenterActive) {
			return budgetInvalid("budget_entity_name", "invalid", "cost center %s not found among the enterprise's active cost centers", ccClip(name))
		} else if err != nil {
			return err
		}
		b.EntityName = cc.ID
	}
	return nil
}

func (s *Budgets) repository(ctx context.Context, owner BudgetOwner, name string) (string, error) {
	o, repo, ok := strings.Cut(name, "/")
	if !ok || o == "" || repo == "" {
		return "", budgetInvalid("budget_entity_name", "invalid", "budget_entity_name must be owner/repo for repository budgets, not %q", ccClip(name))
	}
	org, err := s.Accounts.OrganizationByLogin(ctx, o)
	if err == nil && (org.EnterpriseID != owner.EnterpriseID || owner.OrgID != 0 && org.ID != owner.OrgID) {
		err = usage.ErrNotFound
	}
	if err == nil {
		var rs []*usage.Repository
		rs, err = s.Accounts.ListRepositories(ctx, org.Login)
		if err == nil {
			for _, r := range rs {
				if strings.EqualFold(r.Name, repo) {
					return org.Login + "/" + r.Name, nil
				}
			}
			err = usage.ErrNotFound
		}
	}
	if usage.IsNotFound(err) {
		return "", budgetInvalid("budget_entity_name", "invalid", "repository %q not found in this account", ccClip(name))
	}
	return "", err
}
