package billing

import (
	"context"
	"time"
)

// attribute tags each priced row of an enterprise's usage at level with
// the cost center its usage is attributed to, from a's memberships.
//
// Usage is attributed at the time it happened. A row whose hour or day
// straddles a change of membership that decides its attribution is split,
// by the exact times of its records, into one row per cost center, in
// time order: a repository moved from A to B at 12:00 has its 11:59 job in
// A and its 12:01 job in B. The pieces' quantities sum to the row's, and
// the row's included quantity goes to the earliest pieces first, the order
// quotas are consumed in. Rows without such a change are not split, so the
// ledger's records are read only for the few buckets a change falls in.
//
// It also returns the index, for callers that attribute records.
func (s *Service) attribute(ctx context.Context, a Attribution, enterprise string, level Level, priced []Priced) ([]Priced, *AttributionIndex, error) {
	if len(priced) == 0 {
		return priced, nil, nil
	}
	w := bucketWidth(level)
	from, to := priced[0].Bucket, priced[0].Bucket
	for i := range priced {
		if b := priced[i].Bucket; b.Before(from) {
			from = b
		} else if b.After(to) {
			to = b
		}
	}
	ix, err := a.Memberships(ctx, enterprise, from, to.Add(w))
	if err != nil {
		return nil, nil, err
	}
	out, err := s.attributeWith(ctx, ix, enterprise, level, priced, false)
	return out, ix, err
}

// attributeWith is attribute with the memberships loaded (ix covers the
// rows' buckets); byItem says the rows of per-user SKUs are summed over
// users (Query.ByItem), which needs an index without user or team
// memberships (NeedsUsers false).
func (s *Service) attributeWith(ctx context.Context, ix *AttributionIndex, enterprise string, level Level, priced []Priced, byItem bool) ([]Priced, error) {
	if len(priced) == 0 || ix.Empty() {
		return priced, nil // no cost center holds anything: no row has one
	}
	w := bucketWidth(level)
	splits := map[Row]*rowSplit{}  // by the row's key (zero quantity)
	var buckets []time.Time        // straddled buckets, in order of appearance
	orgs := map[time.Time]string{} // a straddled bucket's one organization, or "*" for several
	for i := range priced {
		p := &priced[i]
		p.CostCenter = ix.Of(p.Product, p.Organization, p.Repository, p.Username, p.Bucket)
		cut, ok := ix.FirstChange(p.Product, p.Organization, p.Repository, p.Username, p.Bucket, p.Bucket.Add(w))
		if !ok {
			continue
		}
		k := p.Row
		k.Quantity = 0
		splits[k] = &rowSplit{product: p.Product, cut: cut}
		switch org, seen := orgs[p.Bucket]; {
		case !seen:
			buckets = append(buckets, p.Bucket)
			orgs[p.Bucket] = p.Organization
		case org != p.Organization:
			orgs[p.Bucket] = "*"
		}
	}
	if len(splits) == 0 {
		return priced, nil
	}
	for _, b := range buckets {
		q := Query{Account: Account{KindEnterprise, enterprise}, Level: level, From: b, To: b.Add(w)}
		if org := orgs[b]; org != "*" {
			q.Organization = org
		}
		err := s.Store.BillingRecords(ctx, q, func(rec *Record) error {
			k := RowOf(rec, level)
			k.Quantity = 0
			if byItem {
				k.Username = ""
			}
			sp := splits[k]
			if sp == nil || rec.Timestamp.Before(sp.cut) {
				return nil // not a split row, or before its first change: the bucket start's cost center
			}
			sp.add(ix.Of(sp.product, k.Organization, k.Repository, k.Username, rec.Timestamp), rec.Quantity)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]Priced, 0, len(priced)+len(splits))
	for _, p := range priced {
		k := p.Row
		k.Quantity = 0
		if sp := splits[k]; sp != nil {
			out = sp.pieces(p, out)
		} else {
			out = append(out, p)
		}
	}
	return out, nil
}

// rowSplit gathers the records of a straddling row from its first change on.
type rowSplit struct {
	product string
	cut     time.Time
	parts   []rowPiece // by cost center, in order of first record
}

type rowPiece struct {
	ref CostCenterRef
	qty Quantity
}

func (sp *rowSplit) add(ref CostCenterRef, q Quantity) {
	for i := range sp.parts {
		if sp.parts[i].ref.ID == ref.ID {
			sp.parts[i].qty += q
			return
		}
	}
	sp.parts = append(sp.parts, rowPiece{ref, q})
}

// pieces appends p split into its pieces to out: first the usage before
// the first change (p's cost center at its bucket start, what the records
// from the change on leave of p's quantity), then one per cost center.
func (sp *rowSplit) pieces(p Priced, out []Priced) []Priced {
	rest := p.Quantity
	for _, pc := range sp.parts {
		rest -= pc.qty
	}
	all := []rowPiece{{p.CostCenter, rest}}
	for _, pc := range sp.parts {
		if pc.ref.ID == all[0].ref.ID {
			all[0].qty += pc.qty
		} else {
			all = append(all, pc)
		}
	}
	kept := all[:0]
	for _, pc := range all {
		if pc.qty != 0 {
			kept = append(kept, pc)
		}
	}
	if len(kept) == 0 {
		return append(out, p)
	}
	disc := p.DiscountQuantity
	for i, pc := range kept {
		q := p
		q.Quantity, q.CostCenter = pc.qty, pc.ref
		d := disc // the last piece takes what is left, so the row's discount is kept exactly
		if i < len(kept)-1 {
			d = max(0, min(pc.qty, disc))
		}
		q.DiscountQuantity = d
		disc -= d
		out = append(out, q)
	}
	return out
}

// bucketWidth is the span of a row at level.
func bucketWidth(level Level) time.Duration {
	if level == LevelHour {
		return time.Hour
	}
	return 24 * time.Hour
}
