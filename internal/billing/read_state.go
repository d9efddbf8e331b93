package billing

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// What an answer reads besides its rows is kept too, so that a request
// after a write reads again only what the write changed:
//
//   - each day's totals (what included quotas are computed from) under
//     the day's ledger version: a write to one day reads that day's totals
//     again, a few dozen rows, not the month's;
//   - each month's quota state (quotaMonth), folded from those totals,
//     under the versions of all the month's days: quotas are consumed in
//     time order within the month, so a write to one day may move every
//     later day's discount, and the fold over the month's day totals (in
//     memory, cheap) is redone whenever any of its days moves;
//   - within one request (WithRequestMemo), the day versions and the
//     cost-center attribution it read first: the answer key, the day plan,
//     the quota state and the rows then agree on one reading of each.

// dayTotalsBytes and quotaMonthBytes bound the day totals and month
// quota states a process keeps.
const (
	dayTotalsBytes  = 16 << 20
	quotaMonthBytes = 8 << 20
)

func newDayTotals() *StateCache[[]DayTotal] {
	return &StateCache[[]DayTotal]{Max: dayTotalsBytes, Size: func(t []DayTotal) int { return 64 + 64*len(t) }}
}

func newQuotaMonths() *StateCache[quotaMonth] {
	return &StateCache[quotaMonth]{Max: quotaMonthBytes, Size: func(qm quotaMonth) int {
		n := 64
		for _, st := range qm {
			n += 64 * len(st)
			for i := range st {
				n += 48 * (len(st[i].skuDisc) + len(st[i].skuQty))
			}
		}
		return n
	}}
}

// requestMemo is what one request read first (WithRequestMemo): day
// versions (key "v" and the account) and attribution indexes ("a" and the
// enterprise), each of a range of time.
type requestMemo struct {
	mu      sync.Mutex
	entries []memoEntry
}

type memoEntry struct {
	key      string
	from, to time.Time
	v        any // []DayVersion or *AttributionIndex
}

type requestMemoKey struct{}

// WithRequestMemo returns ctx with a memo of one request's reads: the
// day versions and cost-center attribution the Service reads under it
// are read once, and a later read of a range they cover is answered from
// them. httpapi wraps each usage and summary request in one, so that the
// answer key and the answer are computed from the same reading.
func WithRequestMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, requestMemoKey{}, &requestMemo{})
}

// memoized returns what ctx's memo read for key over a range covering
// [from, to), else reads it (and remembers it under a memo).
func memoized[V any](ctx context.Context, key string, from, to time.Time, read func() (V, error)) (v V, e memoEntry, err error) {
	m, _ := ctx.Value(requestMemoKey{}).(*requestMemo)
	if m != nil {
		m.mu.Lock()
		for _, e := range m.entries {
			if e.key == key && !from.Before(e.from) && !to.After(e.to) {
				m.mu.Unlock()
				return e.v.(V), e, nil
			}
		}
		m.mu.Unlock()
	}
	if v, err = read(); err != nil {
		return v, e, err
	}
	e = memoEntry{key, from, to, v}
	if m != nil {
		m.mu.Lock()
		m.entries = append(m.entries, e)
		m.mu.Unlock()
	}
	return v, e, nil
}

// dayVersions returns the versions of a's days in [from, to) (any order).
func (s *Service) dayVersions(ctx context.Context, vs VersionStore, a Account, from, to time.Time) ([]DayVersion, error) {
	vv, e, err := memoized(ctx, "v"+a.Key(), from, to, func() ([]DayVersion, error) { return vs.BillingDayVersions(ctx, a, from, to) })
	if err != nil || (from.Equal(e.from) && to.Equal(e.to)) {
		return vv, err
	}
	var out []DayVersion // of a wider range
	for _, v := range vv {
		if !v.Day.Before(from) && v.Day.Before(to) {
			out = append(out, v)
		}
	}
	return out, nil
}

// dayVersionMap is dayVersions by day (its start in Unix seconds); a day
// never written is absent (version 0).
func (s *Service) dayVersionMap(ctx context.Context, vs VersionStore, a Account, from, to time.Time) (map[int64]int64, error) {
	vv, err := s.dayVersions(ctx, vs, a, from, to)
	if err != nil {
		return nil, err
	}
	versions := make(map[int64]int64, len(vv))
	for _, v := range vv {
		versions[v.Day.Unix()] = v.Version
	}
	return versions, nil
}

// memberships returns the attribution index of the enterprise's usage in
// [from, to): under a request memo, one read for a range covering it
// (memberships that overlap the wider range but not [from, to) attribute
// none of its usage and change nothing in it).
func (s *Service) memberships(ctx context.Context, enterprise string, from, to time.Time) (*AttributionIndex, error) {
	ix, _, err := memoized(ctx, "a"+enterprise, from, to, func() (*AttributionIndex, error) {
		return s.Attribution.Memberships(ctx, enterprise, from, to)
	})
	return ix, err
}

// dayTotals returns a's day totals in [from, to) (whole days), by day:
// for a VersionStore from the days' kept totals where their version is
// unchanged, reading the span of the others in one query.
func (s *Service) dayTotals(ctx context.Context, a Account, from, to time.Time) ([]DayTotal, error) {
	vs, ok := s.Store.(VersionStore)
	if !ok {
		return s.Store.BillingDayTotals(ctx, a, from, to)
	}
	// The versions first: totals read after them are at least as new.
	versions, err := s.dayVersionMap(ctx, vs, a, from, to)
	if err != nil {
		return nil, err
	}
	first, end := DateOf(from), DateOf(to)
	n := int(end.Time().Sub(first.Time()) / (24 * time.Hour))
	key := func(i int) string { return a.Key() + "\x00" + strconv.FormatInt(first.AddDays(i).Time().Unix(), 10) }
	state := func(i int) string { return strconv.FormatInt(versions[first.AddDays(i).Time().Unix()], 10) }
	days := make([][]DayTotal, n)
	kept := make([]bool, n)
	lo, hi := missingDays(n, func(i int) bool {
		t, hit := s.totals.Get(key(i), state(i))
		days[i], kept[i] = t, hit
		return hit
	})
	if lo >= 0 {
		read, err := s.Store.BillingDayTotals(ctx, a, first.AddDays(lo).Time(), first.AddDays(hi+1).Time())
		if err != nil {
			return nil, err
		}
		fresh := make([][]DayTotal, hi-lo+1)
		for _, t := range read {
			if i := int(t.Day.Sub(first.AddDays(lo).Time()) / (24 * time.Hour)); i >= 0 && i < len(fresh) {
				fresh[i] = append(fresh[i], t)
			}
		}
		for i := lo; i <= hi; i++ {
			if kept[i] {
				continue
			}
			t := fresh[i-lo]
			if t == nil {
				t = []DayTotal{}
			}
			days[i] = t
			s.totals.Put(key(i), state(i), t)
		}
	}
	size := 0
	for _, t := range days {
		size += len(t)
	}
	out := make([]DayTotal, 0, size)
	for _, t := range days {
		out = append(out, t...)
	}
	return out, nil
}

// monthQuota returns the included-usage state of a's month: for a
// VersionStore the kept one while no day of the month has moved, else
// folded afresh from the month's day totals (dayTotals).
func (s *Service) monthQuota(ctx context.Context, a Account, month Date) (quotaMonth, error) {
	end := month.AddDays(month.DaysInMonth()).Time()
	vs, ok := s.Store.(VersionStore)
	if !ok {
		totals, err := s.Store.BillingDayTotals(ctx, a, month.Time(), end)
		if err != nil {
			return nil, err
		}
		return s.foldQuota(a, month, totals), nil
	}
	vv, err := s.dayVersions(ctx, vs, a, month.Time(), end)
	if err != nil {
		return nil, err
	}
	byDay := make([]int64, month.DaysInMonth())
	for _, v := range vv {
		if i := int(v.Day.Sub(month.Time()) / (24 * time.Hour)); i >= 0 && i < len(byDay) {
			byDay[i] = v.Version
		}
	}
	st := make([]byte, 0, 8*len(byDay))
	for _, v := range byDay {
		st = strconv.AppendInt(st, v, 10)
		st = append(st, ',')
	}
	key, state := a.Key()+"\x00"+month.String(), string(st)
	if qm, hit := s.quotas.Get(key, state); hit {
		return qm, nil
	}
	totals, err := s.dayTotals(ctx, a, month.Time(), end)
	if err != nil {
		return nil, err
	}
	qm := s.foldQuota(a, month, totals)
	s.quotas.Put(key, state, qm)
	return qm, nil
}
