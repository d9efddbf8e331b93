package billing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The usage endpoint's answer is a day's items after another, and a day's
// items depend only on the day's rows and on its included-quota state
// (what is left of each pool when the day begins, and how the day shares
// it out), besides the catalogue and cost-center attribution. UsageJSON
// keeps each day's encoded items under that state: the ledger version of
// the day (VersionStore), the quota state of its pools (computed afresh
// from the month's day totals every time, a few rows a day) and the
// attribution's fingerprint. A write to one day then recomputes that day,
// and the later days of the month only if it moved their quota state.

// dayFragmentBytes bounds the encoded day items a process keeps.
const dayFragmentBytes = 96 << 20

// dayFragment is a day's kept part of an answer.
type dayFragment struct {
	json  []byte        // the day's usage items, each after a comma, never changed once kept ("" for none)
	sum   partSum       // the CRCs of json without its first comma, for Body
	parts []SummaryItem // or the day's summary parts (summaryParts)
}

// newDayFragments returns the cache of encoded day items.
func newDayFragments() *StateCache[dayFragment] {
	return &StateCache[dayFragment]{Max: dayFragmentBytes, Size: func(f dayFragment) int { return cap(f.json) + 160*len(f.parts) }}
}

// UsageJSON answers the usage endpoint as Usage does, encoded as
// UsageReport.AppendJSON encodes it (the same bytes): UsageBody's parts
// put together.
func (s *Service) UsageJSON(ctx context.Context, sc Scope, p *Params) ([]byte, error) {
	b, err := s.UsageBody(ctx, sc, p)
	if err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Body parts of the usage answer around its days' items.
var (
	usageHead, usageTail = []byte(`{"usageItems":[`), []byte("]}")
)

// UsageBody answers the usage endpoint as UsageJSON does, as parts: the
// days' kept items where their state is unchanged (see above), not copied.
// Hour reports, a cost_center_id and stores without versions are computed
// whole (one part).
func (s *Service) UsageBody(ctx context.Context, sc Scope, p *Params) (Body, error) {
	_, versioned := s.Store.(VersionStore)
	q, ok := sc.query(p, s.Catalog)
	if !versioned || !ok || q.Level != LevelDay || p.CostCenter.ID != "" {
		rep, err := s.Usage(ctx, sc, p)
		if err != nil {
			return Body{}, err
		}
		var b Body
		b.Append(rep.AppendJSON(nil))
		return b, nil
	}
	plan, err := s.planDays(ctx, sc, p, q, "u\x00")
	if err != nil {
		return Body{}, err
	}
	first, n := plan.first, len(plan.keys)
	frags := make([]dayFragment, n)
	lo, hi := missingDays(n, func(i int) bool {
		f, hit := s.fragments.Get(plan.keys[i], plan.states[i])
		if hit {
			frags[i] = f
		}
		return hit
	})
	if lo >= 0 {
		span := q
		span.From, span.To = first.AddDays(lo).Time(), first.AddDays(hi+1).Time()
		priced, _, err := s.rows(ctx, sc, p, span, true, ccDefaultNone)
		if err != nil {
			return Body{}, err
		}
		items, _ := usageItems(sc, LevelDay, priced, false)
		byDate := map[string][]UsageItem{}
		for j := 0; j < len(items); {
			k := j + 1
			for k < len(items) && items[k].Date == items[j].Date {
				k++
			}
			byDate[items[j].Date] = items[j:k]
			j = k
		}
		for i := lo; i <= hi; i++ {
			if frags[i].json != nil {
				continue // kept: between two days to compute
			}
			d := first.AddDays(i)
			day := byDate[d.Time().Format(time.DateOnly)]
			f := dayFragment{json: []byte{}}
			if len(day) > 0 {
				f.json = appendUsageItems(append(make([]byte, 0, 1+len(day)*300), ','), day)
				f.sum = sumPart(f.json[1:])
			}
			frags[i] = f
			s.fragments.Put(plan.keys[i], plan.states[i], f)
		}
	}
	var b Body
	b.Parts = make([][]byte, 0, n+3)
	b.Append(usageHead)
	comma := false // the first day's items go without the comma that leads each day's
	for i := range frags {
		f := &frags[i]
		if len(f.json) == 0 {
			continue
		}
		b.appendSummed(f.json[:1], comma, f.json[1:], &f.sum)
		comma = true
	}
	b.Append(usageTail)
	return b, nil
}

// dayPlan is the key and state of each day of a report (see above).
type dayPlan struct {
	first        Date
	keys, states []string
}

// planDays returns the keys (prefix, the request without its period, the
// day) and states of the days of q, a day-level query of a VersionStore.
func (s *Service) planDays(ctx context.Context, sc Scope, p *Params, q Query, prefix string) (*dayPlan, error) {
	vs := s.Store.(VersionStore)
	first, end := DateOf(q.From), DateOf(q.To)
	mfrom, mto := first.MonthStart(), end.AddDays(-1).MonthStart()
	mto = mto.AddDays(mto.DaysInMonth())
	// The versions first: rows read after them are at least as new.
	versions, err := s.dayVersionMap(ctx, vs, sc.Account, mfrom.Time(), mto.Time())
	if err != nil {
		return nil, err
	}
	attr := ""
	if s.Attribution != nil && sc.Account.Kind == KindEnterprise {
		ix, err := s.memberships(ctx, sc.Account.Login, q.From, q.To)
		if err != nil {
			return nil, err
		}
		attr = fmt.Sprintf("%x", ix.fingerprint())
	}
	pk := *p
	pk.Period = Period{}
	req := fmt.Sprintf("%s%s\x00%s\x00%+v\x00", prefix, sc.Account.Key(), sc.Organization, pk)
	pr := s.pricer(sc.Account)
	plan := &dayPlan{first: first}
	var sb strings.Builder
	for d := first; d.Time().Before(end.Time()); d = d.AddDays(1) {
		qm, err := pr.quota(ctx, d.MonthStart())
		if err != nil {
			return nil, err
		}
		sb.Reset()
		fmt.Fprintf(&sb, "%d\x00%s\x00", versions[d.Time().Unix()], attr)
		appendQuotaState(&sb, qm, d)
		plan.keys = append(plan.keys, req+d.String())
		plan.states = append(plan.states, sb.String())
	}
	return plan, nil
}

// summaryDays returns the summary parts (summaryParts) of q's days, from
// the days' kept parts where their state is unchanged; done is false (and
// nothing is returned) where the parts are to be computed whole: hour
// reports, a cost_center_id, filters that select nothing, stores without
// versions.
func (s *Service) summaryDays(ctx context.Context, sc Scope, p *Params, q Query, ok bool, ep Endpoint) ([]SummaryItem, bool, error) {
	if _, versioned := s.Store.(VersionStore); !versioned || !ok || q.Level != LevelDay || p.CostCenter.ID != "" {
		return nil, false, nil
	}
	plan, err := s.planDays(ctx, sc, p, q, fmt.Sprintf("s%d\x00", ep))
	if err != nil {
		return nil, false, err
	}
	n := len(plan.keys)
	days := make([][]SummaryItem, n)
	lo, hi := missingDays(n, func(i int) bool {
		f, hit := s.fragments.Get(plan.keys[i], plan.states[i])
		if hit {
			days[i] = f.parts
		}
		return hit
	})
	if lo >= 0 {
		span := q
		span.From, span.To = plan.first.AddDays(lo).Time(), plan.first.AddDays(hi+1).Time()
		priced, _, err := s.rows(ctx, sc, p, span, true, ccDefaultAll)
		if err != nil {
			return nil, false, err
		}
		byDay := map[int64][]Priced{}
		for _, r := range priced {
			d := DateOf(r.Bucket).Time().Unix()
			byDay[d] = append(byDay[d], r)
		}
		for i := lo; i <= hi; i++ {
			parts := summaryParts(byDay[plan.first.AddDays(i).Time().Unix()], ep)
			if parts == nil {
				parts = []SummaryItem{}
			}
			days[i] = parts
			s.fragments.Put(plan.keys[i], plan.states[i], dayFragment{parts: parts})
		}
	}
	var parts []SummaryItem
	for _, d := range days {
		parts = append(parts, d...)
	}
	return parts, true, nil
}

// appendUsageItems appends items as AppendJSON writes them, comma-separated.
func appendUsageItems(b []byte, items []UsageItem) []byte {
	var e itemEncoder
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.append(b, &items[i])
	}
	return b
}

// appendQuotaState writes what pricing reads of day d's quota state: each
// pool's state of the day, pools in order.
func appendQuotaState(sb *strings.Builder, qm quotaMonth, d Date) {
	pools := make([]string, 0, len(qm))
	for pool := range qm {
		pools = append(pools, pool)
	}
	slices.Sort(pools)
	i := d.Time().Day() - 1
	for _, pool := range pools {
		st := qm[pool]
		if i >= len(st) {
			continue
		}
		pd := &st[i]
		fmt.Fprintf(sb, "%s:%t:%d:%d", pool, pd.full, pd.remaining, pd.used)
		skus := make([]string, 0, len(pd.skuQty))
		for k := range pd.skuQty {
			skus = append(skus, k)
		}
		for k := range pd.skuDisc {
			if _, ok := pd.skuQty[k]; !ok {
				skus = append(skus, k)
			}
		}
		slices.Sort(skus)
		for _, k := range skus {
			fmt.Fprintf(sb, ":%s=%d/%d", k, pd.skuDisc[k], pd.skuQty[k])
		}
		sb.WriteByte(';')
	}
}

// missingDays returns the first and the last of the n days for which kept
// reports false (kept takes what it has): the span to compute, [lo, hi],
// or -1, -1 when every day is kept.
func missingDays(n int, kept func(i int) bool) (lo, hi int) {
	lo, hi = -1, -1
	for i := range n {
		if !kept(i) {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	return lo, hi
}
