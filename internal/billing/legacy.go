package billing

import (
	"cmp"
	"context"
	"math/big"
	"slices"
	"strings"
	"time"
)

// The legacy per-product endpoints (…/settings/billing/actions,
// packages, shared-storage) answer for the current UTC calendar month
// from the same ledger as the usage endpoints (doc/billing.md).

// ActionsBilling is the body of …/settings/billing/actions.
type ActionsBilling struct {
	TotalMinutesUsed     int64            `json:"total_minutes_used"`
	TotalPaidMinutesUsed int64            `json:"total_paid_minutes_used"`
	IncludedMinutes      int64            `json:"included_minutes"`
	MinutesUsedBreakdown map[string]int64 `json:"minutes_used_breakdown"`
}

// PackagesBilling is the body of …/settings/billing/packages.
type PackagesBilling struct {
	TotalGigabytesBandwidthUsed     int64 `json:"total_gigabytes_bandwidth_used"`
	TotalPaidGigabytesBandwidthUsed int64 `json:"total_paid_gigabytes_bandwidth_used"`
	IncludedGigabytesBandwidth      int64 `json:"included_gigabytes_bandwidth"`
}

// SharedStorageBilling is the body of …/settings/billing/shared-storage.
type SharedStorageBilling struct {
	DaysLeftInBillingCycle       int   `json:"days_left_in_billing_cycle"`
	EstimatedPaidStorageForMonth int64 `json:"estimated_paid_storage_for_month"`
	EstimatedStorageForMonth     int64 `json:"estimated_storage_for_month"`
}

// monthRows returns the current month's priced usage of a scope, of the
// SKUs keep selects: the account's day totals, or (an organization of an
// enterprise) its day rows.
func (s *Service) monthRows(ctx context.Context, sc Scope, keep func(*SKU) bool) ([]Priced, Date, error) {
	month := DateOf(s.Now()).MonthStart()
	from, to := month.Time(), month.AddDays(month.DaysInMonth()).Time()
	pr := s.pricer(sc.Account)
	if sc.Organization == "" {
		p, err := pr.priceTotals(ctx, from, to, keep)
		return p, month, err
	}
	q := Query{Account: sc.Account, Level: LevelDay, From: from, To: to, Organization: sc.Organization, ByItem: true}
	for _, id := range s.Catalog.SortedSKUs() {
		if keep(s.Catalog.SKUs[id]) {
			q.SKUs = append(q.SKUs, id)
		}
	}
	if len(q.SKUs) == 0 {
		return nil, month, nil
	}
	rows, err := s.Store.BillingRows(ctx, q)
	if err != nil {
		return nil, month, err
	}
	priced, err := pr.price(ctx, rows, LevelDay)
	return priced, month, err
}

// Actions answers the legacy Actions endpoint: every Actions minute of the
// month (public, self-hosted and larger runners included) by runner in
// minutes_used_breakdown (whose "total" is their sum, equal to
// total_minutes_used), the minutes not covered by included or free usage
// as paid, and the plan's included minutes. Minutes are raw, without
// multipliers; each job was rounded up to the minute when it was recorded.
func (s *Service) Actions(ctx context.Context, sc Scope) (ActionsBilling, error) {
	priced, _, err := s.monthRows(ctx, sc, func(k *SKU) bool { return k.Product == "actions" && k.Unit == UnitMinutes })
	if err != nil {
		return ActionsBilling{}, err
	}
	out := ActionsBilling{MinutesUsedBreakdown: map[string]int64{},
		IncludedMinutes: wholeUnits(s.Catalog.PlanOf(sc.Account).Included[PoolActionsMinutes])}
	var total, paid Quantity
	by := map[string]Quantity{}
	for _, p := range priced {
		total += p.Quantity
		paid += p.NetQuantity()
		key := s.Catalog.SKU(p.SKU).Legacy
		if key == "" {
			key = strings.TrimPrefix(p.SKU, "actions_")
		}
		by[key] += p.Quantity
	}
	for k, q := range by {
		out.MinutesUsedBreakdown[k] = wholeUnits(q)
	}
	out.TotalMinutesUsed, out.TotalPaidMinutesUsed = wholeUnits(total), wholeUnits(paid)
	out.MinutesUsedBreakdown["total"] = out.TotalMinutesUsed
	return out, nil
}

// wholeUnits rounds q to the nearest whole unit, halves away from zero
// (minutes are whole already; gigabytes are rounded as GitHub rounds
// transfer at month end).
func wholeUnits(q Quantity) int64 {
	n, r := int64(q)/nano, int64(q)%nano
	if r >= nano/2 {
		n++
	} else if r <= -nano/2 {
		n--
	}
	return n
}

// Packages answers the legacy Packages endpoint: the month's packages data
// transfer in GB (rounded to the nearest GB), the part not covered by the
// included transfer or public packages, and the plan's included transfer.
func (s *Service) Packages(ctx context.Context, sc Scope) (PackagesBilling, error) {
	priced, _, err := s.monthRows(ctx, sc, func(k *SKU) bool { return k.Product == "packages" && k.Unit == UnitGigabytes })
	if err != nil {
		return PackagesBilling{}, err
	}
	var total, paid Quantity
	for _, p := range priced {
		total += p.Quantity
		paid += p.NetQuantity()
	}
	return PackagesBilling{TotalGigabytesBandwidthUsed: wholeUnits(total), TotalPaidGigabytesBandwidthUsed: wholeUnits(paid),
		IncludedGigabytesBandwidth: wholeUnits(s.Catalog.PlanOf(sc.Account).Included[PoolPackagesTransfer])}, nil
}

// SharedStorage answers the legacy shared-storage endpoint for the
// current month: the gigabyte-hours of Actions and Packages storage
// accrued so far, plus the latest hour's stored gigabytes for every hour
// left, over the hours of the month, is the estimated GB-months; the paid
// estimate is what exceeds the plan's included storage. Both are rounded
// to the nearest GB.
func (s *Service) SharedStorage(ctx context.Context, sc Scope) (SharedStorageBilling, error) {
	now := s.Now().UTC()
	storage := func(k *SKU) bool { return k.Pool == PoolStorage }
	priced, month, err := s.monthRows(ctx, sc, storage)
	if err != nil {
		return SharedStorageBilling{}, err
	}
	var accrued Quantity
	for _, p := range priced {
		accrued += p.Quantity
	}
	// The stored gigabytes now: the latest hour with storage in the last
	// day, [now's hour − 24 h, now + 1 h), read an hour at a time from the
	// latest (hour packs keep every user: storage is mostly in the first).
	from, to := now.Truncate(time.Hour).Add(-24*time.Hour), now.Add(time.Hour)
	q := Query{Account: sc.Account, Level: LevelHour, Organization: sc.Organization}
	for _, id := range s.Catalog.SortedSKUs() {
		if storage(s.Catalog.SKUs[id]) {
			q.SKUs = append(q.SKUs, id)
		}
	}
	byHour := map[time.Time]Quantity{}
	var last time.Time
	if len(q.SKUs) > 0 && accrued > 0 {
		for h := to.Add(-time.Nanosecond).Truncate(time.Hour); !h.Before(from); h = h.Add(-time.Hour) {
			q.From, q.To = h, h.Add(time.Hour)
			rows, err := s.Store.BillingRows(ctx, q)
			if err != nil {
				return SharedStorageBilling{}, err
			}
			for _, r := range rows {
				byHour[r.Bucket] += r.Quantity
				last = r.Bucket
			}
			if len(rows) > 0 {
				break
			}
		}
	}
	hours := int64(month.DaysInMonth() * 24)
	end := month.AddDays(month.DaysInMonth()).Time()
	left := int64(end.Sub(now.Truncate(time.Hour)) / time.Hour)
	left = max(0, min(left-1, hours)) // hours after the current one
	est := new(big.Rat).SetFrac(big.NewInt(int64(accrued)+int64(byHour[last])*left), big.NewInt(hours*nano))
	inc := new(big.Rat).SetFrac(big.NewInt(int64(s.Catalog.PlanOf(sc.Account).Included[PoolStorage])), big.NewInt(nano))
	paid := new(big.Rat).Sub(est, inc)
	if paid.Sign() < 0 {
		paid.SetInt64(0)
	}
	return SharedStorageBilling{DaysLeftInBillingCycle: month.DaysInMonth() - now.Day(),
		EstimatedStorageForMonth: roundRat(est), EstimatedPaidStorageForMonth: roundRat(paid)}, nil
}

func roundRat(r *big.Rat) int64 {
	n := new(big.Rat).Add(r, big.NewRat(1, 2))
	return new(big.Int).Quo(n.Num(), n.Denom()).Int64()
}

// AdvancedSecurity is the body of …/settings/billing/advanced-security.
type AdvancedSecurity struct {
	TotalAdvancedSecurityCommitters     int                   `json:"total_advanced_security_committers"`
	TotalCount                          int                   `json:"total_count"`
	MaximumAdvancedSecurityCommitters   int                   `json:"maximum_advanced_security_committers"`
	PurchasedAdvancedSecurityCommitters int                   `json:"purchased_advanced_security_committers"`
	Repositories                        []CommitterRepository `json:"repositories"`
}

// CommitterRepository is one repository's active committers.
type CommitterRepository struct {
	Name                                string               `json:"name"`
	AdvancedSecurityCommitters          int                  `json:"advanced_security_committers"`
	AdvancedSecurityCommittersBreakdown []CommitterBreakdown `json:"advanced_security_committers_breakdown"`
}

// CommitterBreakdown is one active committer of a repository.
type CommitterBreakdown struct {
	UserLogin       string `json:"user_login"`
	LastPushedDate  string `json:"last_pushed_date"`
	LastPushedEmail string `json:"last_pushed_email"`
}

// ActiveCommitterWindow is how long a push makes its author an active committer.
const ActiveCommitterWindow = 90 * 24 * time.Hour

// AdvancedSecurity answers the active-committers endpoint: users who
// pushed to a repository in the last 90 days, per repository (sorted by
// name, committers by login); the total counts each login once across
// repositories and is computed over all of them, whatever the page.
// Every private repository that receives pushes counts as one with
// Advanced Security enabled, so the maximum equals the total.
func (s *Service) AdvancedSecurity(ctx context.Context, sc Scope, page, perPage int) (AdvancedSecurity, error) {
	cs, err := s.Store.BillingCommitters(ctx, sc.Account, sc.Organization, s.Now().Add(-ActiveCommitterWindow))
	if err != nil {
		return AdvancedSecurity{}, err
	}
	slices.SortFunc(cs, func(a, b Committer) int {
		return cmp.Or(strings.Compare(a.Repository, b.Repository), strings.Compare(a.Login, b.Login))
	})
	logins := map[string]bool{}
	var repos []CommitterRepository
	for _, c := range cs {
		logins[c.Login] = true
		if len(repos) == 0 || repos[len(repos)-1].Name != c.Repository {
			repos = append(repos, CommitterRepository{Name: c.Repository, AdvancedSecurityCommittersBreakdown: []CommitterBreakdown{}})
		}
		r := &repos[len(repos)-1]
		r.AdvancedSecurityCommitters++
		r.AdvancedSecurityCommittersBreakdown = append(r.AdvancedSecurityCommittersBreakdown,
			CommitterBreakdown{c.Login, c.AuthorDate.Format(time.DateOnly), c.Email})
	}
	out := AdvancedSecurity{TotalAdvancedSecurityCommitters: len(logins), TotalCount: len(repos),
		MaximumAdvancedSecurityCommitters: len(logins), PurchasedAdvancedSecurityCommitters: s.Catalog.PlanOf(sc.Account).PurchasedCommitters,
		Repositories: []CommitterRepository{}}
	if start := (page - 1) * perPage; start < len(repos) {
		out.Repositories = repos[start:min(start+perPage, len(repos))]
	}
	return out, nil
}
