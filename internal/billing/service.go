package billing

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Service answers the billing endpoints from a Store, priced by a Catalog.
type Service struct {
	Store   Store
	Catalog *Catalog
	Now     func() time.Time
	// Accounts, when set, fills in the enterprise of ingested records of
	// an organization that belongs to one.
	Accounts usage.AccountStore
	// Attribution attributes usage to cost centers; nil means none exist.
	Attribution Attribution

	fragments *StateCache[dayFragment] // encoded usage items per request and day (usage_days.go)
	totals    *StateCache[[]DayTotal]  // day totals per account and day (read_state.go)
	quotas    *StateCache[quotaMonth]  // quota states per account and month (read_state.go)
}

// NewService returns a service over store with catalogue c.
func NewService(store Store, c *Catalog, now func() time.Time) *Service {
	return &Service{Store: store, Catalog: c, Now: now, fragments: newDayFragments(), totals: newDayTotals(), quotas: newQuotaMonths()}
}

// Ingest records validated, normalized records durably, filling in the
// enterprise of organizations that belong to one.
func (s *Service) Ingest(ctx context.Context, recs []Record) (IngestResult, error) {
	if s.Accounts != nil {
		if err := s.fillEnterprises(ctx, recs); err != nil {
			return IngestResult{}, err
		}
	}
	return s.Store.BillingIngest(ctx, recs)
}

func (s *Service) fillEnterprises(ctx context.Context, recs []Record) error {
	lk := s.enterpriseLookup()
	for i := range recs {
		r := &recs[i]
		if r.Enterprise != "" || r.Organization == "" {
			continue
		}
		ent, err := lk(ctx, r.Organization)
		if err != nil {
			return err
		}
		r.Enterprise = ent
	}
	return nil
}

// enterpriseLookup returns a function giving the (lower-case) slug of the
// enterprise an organization belongs to, "" for none or an unknown
// organization, remembering answers for its own lifetime (one batch).
func (s *Service) enterpriseLookup() func(ctx context.Context, org string) (string, error) {
	orgEnt := map[string]string{}
	var slugs map[int64]string
	return func(ctx context.Context, org string) (string, error) {
		if ent, ok := orgEnt[org]; ok || s.Accounts == nil {
			return ent, nil
		}
		ent := ""
		o, err := s.Accounts.OrganizationByLogin(ctx, org)
		switch {
		case usage.IsNotFound(err):
		case err != nil:
			return "", err
		case o.EnterpriseID != 0:
			if slugs == nil {
				es, err := s.Accounts.ListEnterprises(ctx)
				if err != nil {
					return "", err
				}
				slugs = map[int64]string{}
				for _, e := range es {
					slugs[e.ID] = strings.ToLower(e.Slug)
				}
			}
			ent = slugs[o.EnterpriseID]
		}
		orgEnt[org] = ent
		return ent, nil
	}
}

// RecordPushes remembers Advanced Security committers, moving pushes of
// an organization that belongs to an enterprise to the enterprise's account.
func (s *Service) RecordPushes(ctx context.Context, pushes []Push) error {
	lk := s.enterpriseLookup()
	for i := range pushes {
		p := &pushes[i]
		if p.Account.Kind != KindOrganization {
			continue
		}
		ent, err := lk(ctx, p.Account.Login)
		if err != nil {
			return err
		}
		if ent != "" {
			p.Account = Account{KindEnterprise, ent}
		}
	}
	return s.Store.BillingRecordPushes(ctx, pushes)
}

// Priced is a usage row with its price and discount.
type Priced struct {
	Row
	Product          string
	Unit             string
	Price            Price
	DiscountQuantity Quantity
	CostCenter       CostCenterRef
}

// Gross is quantity × price.
func (p *Priced) Gross() Amount { return Mul(p.Quantity, p.Price) }

// Discount is discount quantity × price.
func (p *Priced) Discount() Amount { return Mul(p.DiscountQuantity, p.Price) }

// NetQuantity is quantity − discount quantity.
func (p *Priced) NetQuantity() Quantity { return p.Quantity - p.DiscountQuantity }

// Scope is what a usage report is about: the billing account and, for
// the organization and user variants, the organization or user within it.
type Scope struct {
	Account Account
	// Organization narrows an enterprise's usage to one organization (the
	// /organizations/{org} variants of an organization in an enterprise).
	Organization string
}

// query builds the store query of p for a scope, at the level p needs;
// ok is false when the filters contradict the scope (nothing can match).
func (sc Scope) query(p *Params, c *Catalog) (q Query, ok bool) {
	from, to := p.Period.Range()
	q = Query{Account: sc.Account, Level: LevelDay, From: from, To: to,
		Organization: p.Organization, Repository: p.Repository, Username: p.User,
		Product: p.Product, SKU: p.SKU, Model: p.Model}
	if p.Product != "" {
		q.SKUs = c.ProductSKUs(p.Product)
		if len(q.SKUs) == 0 {
			return q, false // a product without SKUs
		}
	}
	if p.Period.Hour >= 0 {
		q.Level = LevelHour
	}
	if sc.Organization != "" {
		if q.Organization != "" && q.Organization != sc.Organization {
			return q, false // another organization
		}
		q.Organization = sc.Organization
	}
	return q, true
}

// costCenterMode says what rows does with cost centers.
type costCenterMode int

const (
	ccDefaultAll  costCenterMode = iota // no cost_center_id: all usage (usage/summary)
	ccDefaultNone                       // no cost_center_id: usage of no cost center (usage)
	ccTagAll                            // all usage, each row tagged with its cost center
)

// rows returns the priced rows of a report, filtered by the cost_center_id
// of p (its absence meaning what mode says); rows attributed to cost
// centers carry them in Priced.CostCenter.
func (s *Service) rows(ctx context.Context, sc Scope, p *Params, q Query, ok bool, mode costCenterMode) ([]Priced, *CostCenterRef, error) {
	cc := p.CostCenter
	if mode == ccTagAll {
		cc = CostCenterFilter{}
	}
	var ref *CostCenterRef
	if cc.ID != "" {
		if s.Attribution == nil || sc.Account.Kind != KindEnterprise {
			return nil, nil, usage.Errorf(usage.KindNotFound, "Cost center %s not found", cc.ID)
		}
		r, err := s.Attribution.CostCenter(ctx, sc.Account.Login, cc.ID)
		if err != nil {
			return nil, nil, err
		}
		ref = &r
	}
	// Only the enterprise's own endpoints take cost_center_id; the
	// organization variants report all of the organization's usage.
	wantNone := cc.None || (!cc.Set && mode == ccDefaultNone && sc.Organization == "")
	attributing := s.Attribution != nil && sc.Account.Kind == KindEnterprise && (wantNone || cc.ID != "" || mode == ccTagAll)
	var ix *AttributionIndex
	if attributing && ok {
		var err error
		if ix, err = s.memberships(ctx, sc.Account.Login, q.From, q.To); err != nil {
			return nil, nil, err
		}
	}
	// Rows summed over users unless attributing them needs their users:
	// the answers keep no user.
	q.ByItem = q.Level == LevelDay && (ix == nil || !ix.NeedsUsers())
	var rows []Row
	if ok {
		var err error
		if rows, err = s.Store.BillingRows(ctx, q); err != nil {
			return nil, nil, err
		}
	}
	priced, err := s.PriceLevel(ctx, sc.Account, rows, q.Level)
	if err != nil {
		return nil, nil, err
	}
	if !attributing || ix == nil {
		return priced, ref, nil
	}
	if priced, err = s.attributeWith(ctx, ix, sc.Account.Login, q.Level, priced, PackLevel(&q) == LevelItems); err != nil {
		return nil, nil, err
	}
	if wantNone || cc.ID != "" {
		kept := priced[:0]
		for _, r := range priced {
			if (wantNone && r.CostCenter.ID == "") || (cc.ID != "" && r.CostCenter.ID == cc.ID) {
				kept = append(kept, r)
			}
		}
		priced = kept
	}
	return priced, ref, nil
}

// UsageItem is one item of the usage endpoint: a day's usage of a SKU in
// an organization and repository.
type UsageItem struct {
	Date             string   `json:"date"`
	Product          string   `json:"product"`
	SKU              string   `json:"sku"`
	Quantity         Quantity `json:"quantity"`
	UnitType         string   `json:"unitType"`
	PricePerUnit     Price    `json:"pricePerUnit"`
	GrossAmount      Amount   `json:"grossAmount"`
	DiscountAmount   Amount   `json:"discountAmount"`
	NetAmount        Amount   `json:"netAmount"`
	OrganizationName *string  `json:"organizationName,omitempty"`
	RepositoryName   string   `json:"repositoryName"`

	discountQuantity Quantity
	org              string // the organization, also where OrganizationName is not set
}

// DiscountQuantity is the item's included or free quantity.
func (it *UsageItem) DiscountQuantity() Quantity { return it.discountQuantity }

// UsageReport is the body of the usage endpoint.
type UsageReport struct {
	UsageItems []UsageItem `json:"usageItems"`
}

// Usage answers …/settings/billing/usage: one item per UTC day (or the
// hour asked for), product, SKU, organization and repository, sorted by
// date, product, SKU, organization, repository.
func (s *Service) Usage(ctx context.Context, sc Scope, p *Params) (UsageReport, error) {
	q, ok := sc.query(p, s.Catalog)
	priced, _, err := s.rows(ctx, sc, p, q, ok, ccDefaultNone)
	if err != nil {
		return UsageReport{}, err
	}
	items, _ := usageItems(sc, q.Level, priced, false)
	return UsageReport{items}, nil
}

// UsageByCostCenter answers what the usage endpoint would for every cost
// center and for usage of none, in one pass: all of the scope's usage
// (p's cost_center_id is ignored), its items split by cost center, each
// item's cost center at the same index of the second result (the zero
// CostCenterRef for none). Items sort as Usage's, then by cost-center name.
func (s *Service) UsageByCostCenter(ctx context.Context, sc Scope, p *Params) (*UsageReport, []CostCenterRef, error) {
	q, ok := sc.query(p, s.Catalog)
	priced, _, err := s.rows(ctx, sc, p, q, ok, ccTagAll)
	if err != nil {
		return nil, nil, err
	}
	items, refs := usageItems(sc, q.Level, priced, true)
	return &UsageReport{items}, refs, nil
}

// usageItems sums priced rows into the usage endpoint's items, and by cost
// center too when byCostCenter is set (the items' cost centers are then
// the second result, index for index), sorted by bucket, product, SKU,
// organization, repository and cost center (name, then id).
//
// Rows come from the stores a bucket at a time, and a day's item pack
// (Query.ByItem) in key order: an item's rows are then next to each other
// and items come in SKU, organization and repository order, so grouping
// is a comparison with the previous item per row, and sorting is only
// reordering a bucket's SKUs by product. Rows in any other order give the
// same items, through a map and a sort.
func usageItems(sc Scope, level Level, priced []Priced, byCostCenter bool) ([]UsageItem, []CostCenterRef) {
	var order []int32 // the rows by bucket, when they do not come so
	byBucket := true
	for i := 1; i < len(priced) && byBucket; i++ {
		byBucket = !priced[i].Bucket.Before(priced[i-1].Bucket)
	}
	if !byBucket {
		order = make([]int32, len(priced))
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortFunc(order, func(x, y int32) int { return cmpOr(priced[x].Bucket.Compare(priced[y].Bucket), int(x-y)) })
	}
	at := func(i int) *Priced {
		if order != nil {
			return &priced[order[i]]
		}
		return &priced[i]
	}
	type key struct {
		sku, org, repo string
		cc             string // cost-center id
	}
	items := make([]UsageItem, 0, len(priced)) // at most one per row: never grown
	var refs []CostCenterRef
	if byCostCenter {
		refs = make([]CostCenterRef, 0, len(priced))
	}
	ref := func(i int) *CostCenterRef {
		if refs == nil {
			return &CostCenterRef{}
		}
		return &refs[i]
	}
	// cmpKey orders items of one bucket (SKU, organization, repository,
	// cost center) as the answer does within a product.
	cmpKey := func(i int, r *Priced, cc *CostCenterRef) int {
		it := &items[i]
		return cmp.Or(strings.Compare(it.SKU, r.SKU), strings.Compare(it.org, r.Organization),
			strings.Compare(it.RepositoryName, r.Repository), strings.Compare(ref(i).Name, cc.Name), strings.Compare(ref(i).ID, cc.ID))
	}
	var idx map[key]int
	var productSKU, productName string
	for lo := 0; lo < len(priced); {
		bucket := at(lo).Bucket
		hi := lo + 1
		for hi < len(priced) && at(hi).Bucket.Equal(bucket) {
			hi++
		}
		date := bucket.Format(time.DateOnly)
		if level == LevelHour {
			date = bucket.Format(time.RFC3339)
		}
		start := len(items)
		inOrder := true
		clear(idx)
		mapped := false // idx holds the bucket's items
		for i := lo; i < hi; i++ {
			r := at(i)
			var cc CostCenterRef
			if byCostCenter {
				cc = r.CostCenter
			}
			j := -1
			if n := len(items); n > start && !mapped {
				switch c := cmpKey(n-1, r, &cc); {
				case c == 0:
					j = n - 1
				case c > 0: // out of order: find the item by its key from now on
					inOrder, mapped = false, true
					if idx == nil {
						idx = map[key]int{}
					}
					for m := start; m < n; m++ {
						it := &items[m]
						idx[key{it.SKU, it.org, it.RepositoryName, ref(m).ID}] = m
					}
				}
			}
			k := key{r.SKU, r.Organization, r.Repository, cc.ID}
			if mapped {
				if m, ok := idx[k]; ok {
					j = m
				}
			}
			if j < 0 {
				j = len(items)
				if r.SKU != productSKU || productSKU == "" {
					productSKU, productName = r.SKU, ProductName(r.Product)
				}
				it := UsageItem{Date: date, Product: productName, SKU: r.SKU, UnitType: r.Unit,
					PricePerUnit: r.Price, RepositoryName: r.Repository, org: r.Organization}
				if sc.Account.Kind != KindUser {
					it.OrganizationName = &r.Organization
				}
				items = append(items, it)
				if byCostCenter {
					refs = append(refs, cc)
				}
				if mapped {
					idx[k] = j
				}
			}
			it := &items[j]
			it.Quantity += r.Quantity
			it.discountQuantity += r.DiscountQuantity
		}
		seg := items[start:]
		var segRefs []CostCenterRef
		if refs != nil {
			segRefs = refs[start:]
		}
		switch {
		case !inOrder:
			sortItems(seg, segRefs, cmpItems)
		default: // in SKU order: only products may be out of order
			for m := 1; m < len(seg); m++ {
				if seg[m].Product < seg[m-1].Product {
					sortItems(seg, segRefs, func(a, b *UsageItem, _, _ *CostCenterRef) int { return strings.Compare(a.Product, b.Product) })
					break
				}
			}
		}
		lo = hi
	}
	for i := range items {
		it := &items[i]
		it.GrossAmount = Mul(it.Quantity, it.PricePerUnit)
		it.DiscountAmount = Mul(it.discountQuantity, it.PricePerUnit)
		it.NetAmount = it.GrossAmount.Sub(it.DiscountAmount)
	}
	return items, refs
}

// cmpItems orders the items of one bucket as the usage answer does.
func cmpItems(a, b *UsageItem, ra, rb *CostCenterRef) int {
	return cmp.Or(strings.Compare(a.Product, b.Product), strings.Compare(a.SKU, b.SKU),
		strings.Compare(a.org, b.org), strings.Compare(a.RepositoryName, b.RepositoryName),
		strings.Compare(ra.Name, rb.Name), strings.Compare(ra.ID, rb.ID))
}

func cmpOr(c, tie int) int {
	if c != 0 {
		return c
	}
	return tie
}

// sortItems sorts items (and refs, index for index, when not nil) stably by cmp.
func sortItems(items []UsageItem, refs []CostCenterRef, cmp func(a, b *UsageItem, ra, rb *CostCenterRef) int) {
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	none := &CostCenterRef{}
	ref := func(i int) *CostCenterRef {
		if refs == nil {
			return none
		}
		return &refs[i]
	}
	slices.SortFunc(order, func(x, y int) int { return cmpOr(cmp(&items[x], &items[y], ref(x), ref(y)), x-y) })
	sorted := make([]UsageItem, len(items))
	var sortedRefs []CostCenterRef
	if refs != nil {
		sortedRefs = make([]CostCenterRef, len(refs))
	}
	for i, j := range order {
		sorted[i] = items[j]
		if refs != nil {
			sortedRefs[i] = refs[j]
		}
	}
	copy(items, sorted)
	copy(refs, sortedRefs)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// SummaryItem is one item of usage/summary, premium_request/usage and
// ai_credit/usage: a SKU's usage (and model's, for the latter two) at one
// price over the period.
type SummaryItem struct {
	Product          string   `json:"product"`
	SKU              string   `json:"sku"`
	Model            *string  `json:"model,omitempty"`
	UnitType         string   `json:"unitType"`
	PricePerUnit     Price    `json:"pricePerUnit"`
	GrossQuantity    Quantity `json:"grossQuantity"`
	GrossAmount      Amount   `json:"grossAmount"`
	DiscountQuantity Quantity `json:"discountQuantity"`
	DiscountAmount   Amount   `json:"discountAmount"`
	NetQuantity      Quantity `json:"netQuantity"`
	NetAmount        Amount   `json:"netAmount"`
}

// TimePeriod echoes a report's period.
type TimePeriod struct {
	Year  int `json:"year"`
	Month int `json:"month,omitempty"`
	Day   int `json:"day,omitempty"`
}

// Summary is the body of usage/summary, premium_request/usage and
// ai_credit/usage: the period, the account, the filters and the items.
type Summary struct {
	TimePeriod   TimePeriod     `json:"timePeriod"`
	Enterprise   string         `json:"enterprise,omitempty"`
	Organization string         `json:"organization,omitempty"`
	User         string         `json:"user,omitempty"`
	Repository   string         `json:"repository,omitempty"`
	Product      string         `json:"product,omitempty"`
	SKU          string         `json:"sku,omitempty"`
	Model        string         `json:"model,omitempty"`
	CostCenter   *CostCenterRef `json:"costCenter,omitempty"`
	UsageItems   []SummaryItem  `json:"usageItems"`
}

// Summary answers the summary endpoints: ep selects usage/summary (every
// SKU), premium_request/usage (premium requests, by model) or
// ai_credit/usage (AI credits, by model).
func (s *Service) Summary(ctx context.Context, sc Scope, p *Params, ep Endpoint) (Summary, error) {
	byModel := ep == EndpointPremiumRequest || ep == EndpointAICredit
	var parts []SummaryItem
	var ref *CostCenterRef
	var err error
	if !byModel && sc.Organization == "" && p.Organization == "" && p.Repository == "" && p.User == "" && p.Model == "" &&
		p.Period.Hour < 0 && (!p.CostCenter.Set || s.Attribution == nil) && p.CostCenter.ID == "" {
		// Every cost center, no organization or repository: the account's
		// day totals answer, a few rows per day whatever the usage.
		from, to := p.Period.Range()
		var priced []Priced
		priced, err = s.pricer(sc.Account).priceTotals(ctx, from, to, func(k *SKU) bool {
			return (p.Product == "" || k.Product == p.Product) && (p.SKU == "" || k.ID == p.SKU)
		})
		parts = summaryParts(priced, ep)
	} else {
		q, ok := sc.query(p, s.Catalog)
		if byModel && ok { // only the SKUs of the report's unit
			skus := q.SKUs
			if len(skus) == 0 {
				skus = s.Catalog.SortedSKUs()
			}
			q.SKUs = nil
			for _, id := range skus {
				if k := s.Catalog.SKU(id); k != nil && modelUnit(ep, k.Unit) {
					q.SKUs = append(q.SKUs, id)
				}
			}
			ok = len(q.SKUs) > 0
		}
		var done bool
		if parts, done, err = s.summaryDays(ctx, sc, p, q, ok, ep); !done && err == nil {
			var priced []Priced
			priced, ref, err = s.rows(ctx, sc, p, q, ok, ccDefaultAll)
			parts = summaryParts(priced, ep)
		}
	}
	if err != nil {
		return Summary{}, err
	}
	out := Summary{TimePeriod: TimePeriod{p.Period.Year, p.Period.Month, p.Period.Day},
		Repository: p.Repository, SKU: p.SKU, Model: p.Model, CostCenter: ref}
	if p.Product != "" {
		out.Product = ProductName(p.Product)
	}
	switch sc.Account.Kind {
	case KindEnterprise:
		out.Enterprise = sc.Account.Login
		out.Organization = p.Organization
		if sc.Organization != "" {
			out.Enterprise, out.Organization = "", sc.Organization
		}
	case KindOrganization:
		out.Organization = sc.Account.Login
	case KindUser:
		out.User = sc.Account.Login
	}
	if ep != EndpointSummary && p.User != "" {
		out.User = p.User
	}
	items := mergeSummary(parts, byModel)
	if items == nil {
		items = []SummaryItem{}
	}
	out.UsageItems = items
	return out, nil
}

// summaryParts sums priced rows into summary items, their quantities
// only (mergeSummary completes them): one per SKU, price and (for the
// model reports, which keep only rows of their unit) model.
func summaryParts(priced []Priced, ep Endpoint) []SummaryItem {
	byModel := ep == EndpointPremiumRequest || ep == EndpointAICredit
	type key struct {
		sku, model string
		price      Price
	}
	idx := map[key]int{}
	var items []SummaryItem
	for i := range priced {
		r := &priced[i]
		if byModel && !modelUnit(ep, r.Unit) {
			continue
		}
		k := key{sku: r.SKU, price: r.Price}
		if byModel {
			k.model = r.Model
		}
		j, ok := idx[k]
		if !ok {
			j = len(items)
			idx[k] = j
			it := SummaryItem{Product: ProductName(r.Product), SKU: r.SKU, UnitType: r.Unit, PricePerUnit: r.Price}
			if byModel {
				m := r.Model
				it.Model = &m
			}
			items = append(items, it)
		}
		it := &items[j]
		it.GrossQuantity += r.Quantity
		it.DiscountQuantity += r.DiscountQuantity
	}
	return items
}

// mergeSummary sums parts of the same SKU, price and model, computes the
// amounts and sorts the items as the summary answers do.
func mergeSummary(parts []SummaryItem, byModel bool) []SummaryItem {
	type key struct {
		sku, model string
		price      Price
	}
	idx := map[key]int{}
	items := []SummaryItem{}
	for _, pt := range parts {
		k := key{sku: pt.SKU, price: pt.PricePerUnit}
		if byModel {
			k.model = deref(pt.Model)
		}
		j, ok := idx[k]
		if !ok {
			j = len(items)
			idx[k] = j
			it := pt
			it.GrossQuantity, it.DiscountQuantity = 0, 0
			items = append(items, it)
		}
		it := &items[j]
		it.GrossQuantity += pt.GrossQuantity
		it.DiscountQuantity += pt.DiscountQuantity
	}
	for i := range items {
		it := &items[i]
		it.NetQuantity = it.GrossQuantity - it.DiscountQuantity
		it.GrossAmount = Mul(it.GrossQuantity, it.PricePerUnit)
		it.DiscountAmount = Mul(it.DiscountQuantity, it.PricePerUnit)
		it.NetAmount = it.GrossAmount.Sub(it.DiscountAmount)
	}
	slices.SortFunc(items, func(a, b SummaryItem) int {
		return cmp.Or(strings.Compare(a.Product, b.Product), strings.Compare(a.SKU, b.SKU),
			strings.Compare(deref(a.Model), deref(b.Model)), cmp.Compare(a.PricePerUnit, b.PricePerUnit))
	})
	return items
}

// modelUnit reports whether a row of unit belongs in the premium-request
// (requests) or AI-credit (credits) report.
func modelUnit(ep Endpoint, unit string) bool {
	if ep == EndpointPremiumRequest {
		return unit == UnitRequests
	}
	return unit == UnitCredits
}
