package billing

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Included quotas are consumed per account and UTC calendar month, day by
// day in time order: each day's eligible usage of a pool (weighted by the
// SKU's weight) is included entirely while the quota lasts; on the day it
// runs out, the rest is shared. The share is exact at three levels, so
// every answer adds up to every other:
//
//   - per SKU: floor(SKU's quantity × remaining / day's weighted usage),
//     in whole minutes for minute SKUs, so the pool is never exceeded;
//   - per day row (SKU, organization, repository, user, model): the SKU's
//     share split in proportion to quantity, rounded down, the units left
//     over handed one by one to rows in key order; rows of a SKU sum to
//     the SKU's share exactly;
//   - per hour row (the hour parameter only): each hour row's proportional
//     share rounded down (it is not summed into any other answer).

// poolDay is the included-usage state of one pool on one day: all of the
// day's usage is included, none, or (the day it runs out) the per-SKU
// shares in skuDisc of the SKU totals in skuQty.
type poolDay struct {
	full            bool
	remaining, used Quantity
	skuDisc         map[string]Quantity
	skuQty          map[string]Quantity
}

// quotaMonth is the included-usage state of one account-month, by pool and day.
type quotaMonth map[string][]poolDay

// draws reports whether usage of sku priced p, in a public repository or
// not, draws on sku's pool.
func draws(sku *SKU, p Price, public bool) bool {
	return sku.Pool != "" && p > 0 && !(public && sku.FreeInPublic)
}

// free reports whether usage of sku priced p is discounted whole without
// drawing on any pool.
func free(sku *SKU, p Price, public bool) bool { return p == 0 || (public && sku.FreeInPublic) }

// unitStep is what shares of sku round down to: a whole minute, or a billionth.
func unitStep(sku *SKU) Quantity {
	if sku.Unit == UnitMinutes {
		return nano
	}
	return 1
}

// pricer prices the rows of one account, remembering the months' quota
// states and the crossing days' row shares it computed.
type pricer struct {
	s      *Service
	acct   Account
	months map[Date]quotaMonth
	shares map[dayPool]map[Row]Quantity // day-row shares on days a quota ran out
}

type dayPool struct {
	day  Date
	pool string
}

func (s *Service) pricer(a Account) *pricer {
	return &pricer{s: s, acct: a, months: map[Date]quotaMonth{}, shares: map[dayPool]map[Row]Quantity{}}
}

// quota returns the included-usage state of month.
func (pr *pricer) quota(ctx context.Context, month Date) (quotaMonth, error) {
	if qm, ok := pr.months[month]; ok {
		return qm, nil
	}
	qm, err := pr.s.monthQuota(ctx, pr.acct, month) // read_state.go
	if err != nil {
		return nil, err
	}
	pr.months[month] = qm
	return qm, nil
}

// foldQuota computes the included-usage state of a's month from its day
// totals: each pool's usage consumed day by day, in time order.
func (s *Service) foldQuota(a Account, month Date, totals []DayTotal) quotaMonth {
	days := month.DaysInMonth()
	type skuDay struct {
		sku string
		day int
	}
	qty := map[skuDay]Quantity{}
	used := map[string][]Quantity{}
	for _, t := range totals {
		sku := s.Catalog.SKU(t.SKU)
		if sku == nil {
			continue
		}
		dd := DateOf(t.Day)
		if !draws(sku, sku.PriceOn(dd), t.Public) {
			continue
		}
		u := used[sku.Pool]
		if u == nil {
			u = make([]Quantity, days)
			used[sku.Pool] = u
		}
		u[dd.Time().Day()-1] += t.Quantity * sku.weight()
		qty[skuDay{t.SKU, dd.Time().Day() - 1}] += t.Quantity
	}
	plan := s.Catalog.PlanOf(a)
	qm := quotaMonth{}
	for pool, u := range used {
		left := plan.IncludedFor(pool, month)
		st := make([]poolDay, days)
		for i, q := range u {
			if q <= left {
				st[i] = poolDay{full: true}
				left -= q
				continue
			}
			pd := poolDay{remaining: left, used: q, skuDisc: map[string]Quantity{}, skuQty: map[string]Quantity{}}
			if left > 0 {
				for k, sq := range qty {
					if k.day != i || s.Catalog.SKU(k.sku).Pool != pool {
						continue
					}
					step := unitStep(s.Catalog.SKU(k.sku))
					d := MulDiv(sq, left, q)
					pd.skuDisc[k.sku] = d - d%step
					pd.skuQty[k.sku] = sq
				}
			}
			st[i] = pd
			left = 0
		}
		qm[pool] = st
	}
	return qm
}

// dayShares splits, on a day a quota ran out, each SKU's share among the
// account's day rows of that SKU (see the package comment above).
func (pr *pricer) dayShares(ctx context.Context, day Date, pool string, pd *poolDay) (map[Row]Quantity, error) {
	if sh, ok := pr.shares[dayPool{day, pool}]; ok {
		return sh, nil
	}
	var skus []string
	for sku := range pd.skuDisc {
		skus = append(skus, sku)
	}
	slices.Sort(skus)
	sh := map[Row]Quantity{}
	pr.shares[dayPool{day, pool}] = sh
	if len(skus) == 0 {
		return sh, nil
	}
	// Pool SKUs are not per-user: their item rows are their day rows.
	rows, err := pr.s.Store.BillingRows(ctx, Query{Account: pr.acct, Level: LevelDay, From: day.Time(), To: day.AddDays(1).Time(), SKUs: skus, ByItem: true})
	if err != nil {
		return nil, err
	}
	// In key order (item packs come so: then nothing moves).
	sorted := true
	for i := 1; i < len(rows) && sorted; i++ {
		sorted = compareRowKey(&rows[i-1], &rows[i]) <= 0
	}
	if !sorted {
		slices.SortFunc(rows, func(a, b Row) int { return compareRowKey(&a, &b) })
	}
	bySKU := map[string][]int{}
	for i := range rows {
		sku := pr.s.Catalog.SKU(rows[i].SKU)
		if sku != nil && draws(sku, sku.PriceOn(day), rows[i].Public) {
			bySKU[rows[i].SKU] = append(bySKU[rows[i].SKU], i)
		}
	}
	for skuID, idx := range bySKU {
		share, total := pd.skuDisc[skuID], pd.skuQty[skuID]
		step := unitStep(pr.s.Catalog.SKU(skuID))
		given := Quantity(0)
		got := make([]Quantity, len(idx))
		for j, i := range idx {
			d := MulDiv(rows[i].Quantity, share, total)
			got[j] = d - d%step
			given += got[j]
		}
		for left := share - given; left >= step; {
			moved := false
			for j, i := range idx {
				if left < step {
					break
				}
				if got[j]+step <= rows[i].Quantity {
					got[j] += step
					left -= step
					moved = true
				}
			}
			if !moved {
				break
			}
		}
		for j, i := range idx {
			k := rows[i]
			k.Quantity = 0
			sh[k] = got[j]
		}
	}
	return sh, nil
}

// compareRowKey orders the rows of one account and bucket as
// CompareRowDelta does.
func compareRowKey(a, b *Row) int {
	if c := strings.Compare(a.SKU, b.SKU); c != 0 {
		return c
	}
	if c := strings.Compare(a.Organization, b.Organization); c != 0 {
		return c
	}
	if c := strings.Compare(a.Repository, b.Repository); c != 0 {
		return c
	}
	if c := strings.Compare(a.Username, b.Username); c != 0 {
		return c
	}
	if c := strings.Compare(a.Model, b.Model); c != 0 {
		return c
	}
	return cmpBool(a.Public, b.Public)
}

// Price prices rows of account a: the day's price of each SKU and the
// discount from free usage and included quotas. It returns one Priced per
// row, in order; rows of SKUs the catalogue no longer has are not billed.
// The rows are of one level: hour rows when any bucket is not at midnight
// UTC, day rows otherwise (PriceLevel says which).
func (s *Service) Price(ctx context.Context, a Account, rows []Row) ([]Priced, error) {
	level := LevelDay
	for _, r := range rows {
		if !r.Bucket.Equal(DateOf(r.Bucket).Time()) {
			level = LevelHour
			break
		}
	}
	return s.pricer(a).price(ctx, rows, level)
}

// PriceLevel is Price for rows of a known level.
func (s *Service) PriceLevel(ctx context.Context, a Account, rows []Row, level Level) ([]Priced, error) {
	return s.pricer(a).price(ctx, rows, level)
}

func (pr *pricer) price(ctx context.Context, rows []Row, level Level) ([]Priced, error) {
	out := make([]Priced, 0, len(rows))
	// Rows come a bucket at a time (stores read them pack by pack): the
	// day, its month's quota state and its SKUs' prices are looked up once
	// per bucket rather than once per row.
	type skuPrice struct {
		id    string
		sku   *SKU
		price Price
	}
	var (
		bucket = int64(-1 << 63)
		day    Date
		month  Date
		qm     quotaMonth
		haveQM bool
		skus   []skuPrice
	)
	for _, r := range rows {
		if u := r.Bucket.Unix(); u != bucket {
			bucket, day, skus = u, DateOf(r.Bucket), skus[:0]
			if m := day.MonthStart(); !haveQM || m != month {
				month, haveQM, qm = m, false, nil
			}
		}
		var sp *skuPrice
		if n := len(skus); n > 0 && skus[n-1].id == r.SKU { // rows of a SKU mostly come together
			sp = &skus[n-1]
		} else {
			for i := range skus {
				if skus[i].id == r.SKU {
					sp = &skus[i]
					// the last one is checked first
					skus[i], skus[n-1] = skus[n-1], skus[i]
					sp = &skus[n-1]
					break
				}
			}
		}
		if sp == nil {
			k := pr.s.Catalog.SKU(r.SKU)
			p := Price(0)
			if k != nil {
				p = k.PriceOn(day)
			}
			skus = append(skus, skuPrice{r.SKU, k, p})
			sp = &skus[len(skus)-1]
		}
		sku := sp.sku
		if sku == nil {
			out = append(out, Priced{Row: r, DiscountQuantity: r.Quantity})
			continue
		}
		p := Priced{Row: r, Product: sku.Product, Unit: sku.Unit, Price: sp.price}
		switch {
		case free(sku, p.Price, r.Public):
			p.DiscountQuantity = r.Quantity
		case draws(sku, p.Price, r.Public):
			if !haveQM {
				var err error
				if qm, err = pr.quota(ctx, month); err != nil {
					return nil, err
				}
				haveQM = true
			}
			d, err := pr.discount(ctx, qm, sku, day, r, level)
			if err != nil {
				return nil, err
			}
			p.DiscountQuantity = d
		}
		out = append(out, p)
	}
	return out, nil
}

// discount is the included quantity of a pool-drawing row; qm is the
// quota state of the row's month.
func (pr *pricer) discount(ctx context.Context, qm quotaMonth, sku *SKU, day Date, r Row, level Level) (Quantity, error) {
	st := qm[sku.Pool]
	if st == nil {
		return 0, nil
	}
	pd := &st[day.Time().Day()-1]
	switch {
	case pd.full:
		return r.Quantity, nil
	case pd.remaining == 0:
		return 0, nil
	case level == levelTotal:
		return pd.skuDisc[r.SKU], nil
	case level == LevelHour:
		d := MulDiv(r.Quantity, pd.skuDisc[r.SKU], pd.skuQty[r.SKU])
		return d - d%unitStep(sku), nil
	}
	sh, err := pr.dayShares(ctx, day, sku.Pool, pd)
	if err != nil {
		return 0, err
	}
	k := r
	k.Quantity = 0
	return min(sh[k], r.Quantity), nil
}

// levelTotal prices account-day totals (DayTotal as rows without
// organization, repository, user or model).
const levelTotal Level = -1

// priceTotals prices an account's day totals in [from, to) as rows
// (Bucket the day, SKU and Public set), for answers that need no
// organization, repository, user or model: their discounts equal the sums
// of the day rows' exactly.
func (pr *pricer) priceTotals(ctx context.Context, from, to time.Time, keep func(*SKU) bool) ([]Priced, error) {
	totals, err := pr.s.dayTotals(ctx, pr.acct, from, to) // read_state.go
	if err != nil {
		return nil, err
	}
	rows := make([]Row, 0, len(totals))
	for _, t := range totals {
		if sku := pr.s.Catalog.SKU(t.SKU); sku != nil && keep(sku) {
			rows = append(rows, Row{Bucket: t.Day, SKU: t.SKU, Public: t.Public, Quantity: t.Quantity})
		}
	}
	return pr.price(ctx, rows, levelTotal)
}
