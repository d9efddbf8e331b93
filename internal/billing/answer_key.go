package billing

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"time"
)

// VersionStore is implemented by stores that keep a ledger version per
// account and UTC day: a number that grows with every write adding to the
// account's usage of the day (both stores bump it from a trigger on the
// day packs, in the writing transaction, so every replica sees it with
// the rows it versions).
type VersionStore interface {
	// BillingDayVersions returns the versions of a's days in [from, to)
	// that have one (a day never written has none), in any order: a day's
	// version grows whenever a ledger write touches it.
	BillingDayVersions(ctx context.Context, a Account, from, to time.Time) ([]DayVersion, error)
}

// DayVersion is the ledger version of an account's UTC day.
type DayVersion struct {
	Day     time.Time
	Version int64
}

// billingVersion sums the day versions of a in [from, to): it changes
// whenever a write touches one of those days.
func (s *Service) billingVersion(ctx context.Context, vs VersionStore, a Account, from, to time.Time) (int64, error) {
	vv, err := s.dayVersions(ctx, vs, a, from, to)
	var sum int64
	for _, v := range vv {
		sum += v.Version
	}
	return sum, err
}

// AnswerKey says what the answer of the usage endpoint (EndpointUsage) or
// a summary endpoint for sc and p depends on, so that a cache of encoded
// answers (internal/httpapi) can tell a still-valid answer: req names the
// request (endpoint, account, scope, parameters), state everything the
// answer is computed from besides the catalogue (the ledger versions of
// the whole months it covers, since included quotas are consumed from the
// first of the month, and the cost-center memberships, names and teams it
// is attributed with). An answer computed after AnswerKey returned is at
// least as new as state. ok is false when the store keeps no versions.
func (s *Service) AnswerKey(ctx context.Context, sc Scope, p *Params, ep Endpoint) (req, state string, ok bool, err error) {
	vs, ok := s.Store.(VersionStore)
	if !ok {
		return "", "", false, nil
	}
	req = fmt.Sprintf("%d\x00%s\x00%s\x00%+v", ep, sc.Account.Key(), sc.Organization, *p)
	from, to := p.Period.Range()
	mfrom := DateOf(from).MonthStart()
	mto := DateOf(to.Add(-time.Nanosecond)).MonthStart()
	mto = mto.AddDays(mto.DaysInMonth())
	// The version first: rows read after it are at least as new.
	v, err := s.billingVersion(ctx, vs, sc.Account, mfrom.Time(), mto.Time())
	if err != nil {
		return "", "", false, err
	}
	state = fmt.Sprint(v)
	if s.Attribution != nil && sc.Account.Kind == KindEnterprise {
		if id := p.CostCenter.ID; id != "" {
			ref, err := s.Attribution.CostCenter(ctx, sc.Account.Login, id)
			if err != nil {
				return "", "", false, err
			}
			state += fmt.Sprintf("\x00%s\x00%s", ref.ID, ref.Name)
		}
		ix, err := s.memberships(ctx, sc.Account.Login, from, to)
		if err != nil {
			return "", "", false, err
		}
		state += fmt.Sprintf("\x00%x", ix.fingerprint())
	}
	return req, state, true, nil
}

var fingerprintSeed = maphash.MakeSeed()

// fingerprint hashes everything attribution reads from the index (the
// memberships of each resource in order, the cost-center names, the
// teams of each user in order), independently of map order.
func (ix *AttributionIndex) fingerprint() [2]uint64 {
	if ix == nil {
		return [2]uint64{}
	}
	var h maphash.Hash
	h.SetSeed(fingerprintSeed)
	var sum [2]uint64
	add := func(f func()) {
		h.Reset()
		f()
		v := h.Sum64()
		sum[0] += v
		sum[1] ^= v*0x9e3779b97f4a7c15 + 1
	}
	for k, ms := range ix.byKey {
		add(func() {
			fmt.Fprintf(&h, "m\x00%v\x00%s", k.t, k.name)
			for _, m := range ms {
				fmt.Fprintf(&h, "\x00%s\x00%v\x00%s\x00%d\x00%d\x00%t", m.CostCenterID, m.Type, m.Name,
					m.Start.UnixNano(), m.End.UnixNano(), m.End.IsZero())
			}
		})
	}
	for id, name := range ix.names {
		add(func() { fmt.Fprintf(&h, "n\x00%s\x00%s", id, name) })
	}
	for login, teams := range ix.teams {
		add(func() { fmt.Fprintf(&h, "t\x00%s\x00%q", login, slices.Clone(teams)) })
	}
	add(func() {
		fmt.Fprintf(&h, "u\x00%t\x00%d\x00%d\x00%d", ix.users, len(ix.byKey), len(ix.names), len(ix.teams))
	})
	return sum
}
