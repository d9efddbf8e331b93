package billing

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// BudgetSpend computes how much of a budget is consumed: the net amount
// (gross less included usage and other discounts) of the usage the budget
// covers in the current UTC month from the instant the budget was created
// (GitHub counts only usage after creation).
type BudgetSpend struct {
	Ledger      *Service // the priced ledger
	Accounts    usage.AccountStore
	Attribution *CostCenterAttribution // for cost-center scopes; nil: no cost centers
}

// monthOf returns the UTC calendar month holding t.
func monthOf(t time.Time) (time.Time, time.Time) {
	t = t.UTC()
	from := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return from, from.AddDate(0, 1, 0)
}

// account returns the billing account a budget's usage is in and the
// organization it is narrowed to.
func (s *BudgetSpend) account(ctx context.Context, b *Budget) (Account, string, error) {
	var org string
	if b.OrgID != 0 {
		orgs, err := s.Accounts.ListOrganizations(ctx, b.EnterpriseID)
		if err != nil {
			return Account{}, "", err
		}
		for _, o := range orgs {
			if o.ID == b.OrgID {
				org = strings.ToLower(o.Login)
			}
		}
		if org == "" {
			return Account{}, "", fmt.Errorf("budget %s: organization %d not found", b.ID, b.OrgID)
		}
		if b.EnterpriseID == 0 {
			return Account{Kind: KindOrganization, Login: org}, "", nil
		}
	}
	ents, err := s.Accounts.ListEnterprises(ctx)
	if err != nil {
		return Account{}, "", err
	}
	for _, e := range ents {
		if e.ID == b.EnterpriseID {
			return Account{Kind: KindEnterprise, Login: strings.ToLower(e.Slug)}, org, nil
		}
	}
	return Account{}, "", fmt.Errorf("budget %s: enterprise %d not found", b.ID, b.EnterpriseID)
}

// covered returns the priced rows a budget covers in its month up to now.
func (s *BudgetSpend) covered(ctx context.Context, b *Budget, now time.Time) ([]Priced, error) {
	acct, org, err := s.account(ctx, b)
	if err != nil {
		return nil, err
	}
	mFrom, mTo := monthOf(now)
	from := mFrom
	if c := b.CreatedAt.UTC().Truncate(time.Hour); c.After(from) {
		from = c
	}
	if !from.Before(mTo) {
		return nil, nil
	}
	q := Query{Account: acct, Level: LevelHour, From: from, To: mTo, Organization: org}
	switch b.Scope {
	case ScopeOrganization:
		q.Organization = strings.ToLower(b.EntityName)
	case ScopeRepository:
		q.Repository = strings.ToLower(b.EntityName)
		q.Organization, _, _ = strings.Cut(q.Repository, "/")
	case ScopeUser:
		q.Username = strings.ToLower(b.User)
	}
	switch {
	case b.ProductSKU == PremiumRequests:
		q.SKU = "copilot_premium_request"
	case b.Type == BudgetProductPricing:
		q.Product = b.ProductSKU
		if q.SKUs = s.Ledger.Catalog.ProductSKUs(b.ProductSKU); len(q.SKUs) == 0 {
			return nil, nil // a product the catalogue has no SKU of
		}
	case b.Type == BudgetSkuPricing:
		q.SKU = b.ProductSKU
	}
	rows, err := s.Ledger.Store.BillingRows(ctx, q)
	if err != nil {
		return nil, err
	}
	if c := b.CreatedAt.UTC(); c.After(from) {
		// Created within its first hour: that hour's usage before the
		// budget existed does not count.
		if rows, err = s.Ledger.withoutUsageBefore(ctx, q, rows, c); err != nil {
			return nil, err
		}
	}
	if b.Type == BudgetBundlePricing {
		kept := rows[:0]
		for _, r := range rows {
			if sku := s.Ledger.Catalog.SKU(r.SKU); sku != nil && sku.Unit == UnitCredits {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	priced, err := s.Ledger.PriceLevel(ctx, acct, rows, q.Level)
	if err != nil || (b.Scope != ScopeCostCenter && b.Scope != ScopeMultiUserCostCenter) {
		return priced, err
	}
	if s.Attribution == nil || acct.Kind != KindEnterprise {
		return nil, nil
	}
	if priced, _, err = s.Ledger.attribute(ctx, s.Attribution, acct.Login, q.Level, priced); err != nil {
		return nil, err
	}
	kept := priced[:0]
	for _, r := range priced {
		if r.CostCenter.ID == b.EntityName {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// withoutUsageBefore takes from the hour rows of q the records of the hour
// holding t that happened before t, reading only that hour's records;
// rows left empty are dropped.
func (s *Service) withoutUsageBefore(ctx context.Context, q Query, rows []Row, t time.Time) ([]Row, error) {
	h := t.Truncate(time.Hour)
	idx := map[Row]int{}
	for i := range rows {
		if rows[i].Bucket.Equal(h) {
			k := rows[i]
			k.Quantity = 0
			idx[k] = i
		}
	}
	if len(idx) == 0 {
		return rows, nil
	}
	hq := q
	hq.Level, hq.From, hq.To = LevelHour, h, h.Add(time.Hour)
	err := s.Store.BillingRecords(ctx, hq, func(rec *Record) error {
		if !rec.Timestamp.Before(t) {
			return nil
		}
		k := RowOf(rec, LevelHour)
		k.Quantity = 0
		if i, ok := idx[k]; ok {
			rows[i].Quantity -= rec.Quantity
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	kept := rows[:0]
	for _, r := range rows {
		if r.Quantity != 0 {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// Consumed returns the net amount a budget has consumed this month.
func (s *BudgetSpend) Consumed(ctx context.Context, b *Budget, now time.Time) (Amount, error) {
	var sum Amount
	if s == nil || s.Ledger == nil {
		return sum, nil
	}
	priced, err := s.covered(ctx, b, now)
	if err != nil {
		return sum, err
	}
	for i := range priced {
		sum = sum.Add(priced[i].Gross().Sub(priced[i].Discount()))
	}
	return sum, nil
}

// ConsumedByUser returns the net amount each user (lower-cased login) has
// consumed of a budget this month; usage with no user is left out.
func (s *BudgetSpend) ConsumedByUser(ctx context.Context, b *Budget, now time.Time) (map[string]Amount, error) {
	out := map[string]Amount{}
	if s == nil || s.Ledger == nil {
		return out, nil
	}
	priced, err := s.covered(ctx, b, now)
	if err != nil {
		return nil, err
	}
	for i := range priced {
		if u := priced[i].Username; u != "" {
			out[u] = out[u].Add(priced[i].Gross().Sub(priced[i].Discount()))
		}
	}
	return out, nil
}

// Dollars is an amount of whole dollars as an Amount.
func Dollars(n int64) Amount { return Mul(Quantity(n*nano), Price(nano)) }

// Percent returns consumed as a whole percentage of budget dollars,
// rounded down; a zero budget is 100 % consumed by any spending.
func Percent(consumed Amount, budget int64) int64 {
	if budget <= 0 {
		if consumed.Cmp(Amount{}) > 0 {
			return 100
		}
		return 0
	}
	v := consumed.Big()
	v.Mul(v, bigInt(100))
	v.Quo(v, Dollars(budget).Big())
	if !v.IsInt64() {
		return 1 << 62
	}
	return v.Int64()
}

func bigInt(n int64) *big.Int { return big.NewInt(n) }
