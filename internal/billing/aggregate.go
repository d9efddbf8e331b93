package billing

import (
	"cmp"
	"slices"
	"strings"
)

// RowDelta is what a batch adds to one stored row of an account (by
// Account.Key) at one level; Row.Quantity is the amount to add.
type RowDelta struct {
	Account string
	Level   Level
	Row
}

// DayDelta is what a batch adds to an account's total of one SKU, day and
// public flag.
type DayDelta struct {
	Account string
	DayTotal
}

// Aggregate sums records into the row and day-total deltas both stores
// add at ingest, each sorted by its key (so concurrent writers lock rows
// in the same order).
func Aggregate(recs []Record) ([]RowDelta, []DayDelta) {
	rows := map[RowDelta]Quantity{}
	days := map[DayDelta]Quantity{}
	for i := range recs {
		r := &recs[i]
		acct := AccountOf(r).Key()
		for _, l := range []Level{LevelHour, LevelDay} {
			k := RowDelta{Account: acct, Level: l, Row: RowOf(r, l)}
			k.Quantity = 0
			rows[k] += r.Quantity
		}
		days[DayDelta{acct, DayTotal{Day: DateOf(r.Timestamp).Time(), SKU: r.SKU, Public: r.Public}}] += r.Quantity
	}
	outR := make([]RowDelta, 0, len(rows))
	for k, q := range rows {
		k.Quantity = q
		outR = append(outR, k)
	}
	slices.SortFunc(outR, CompareRowDelta)
	outD := make([]DayDelta, 0, len(days))
	for k, q := range days {
		k.Quantity = q
		outD = append(outD, k)
	}
	slices.SortFunc(outD, func(a, b DayDelta) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), a.Day.Compare(b.Day), strings.Compare(a.SKU, b.SKU), cmpBool(a.Public, b.Public))
	})
	return outR, outD
}

// CompareRowDelta orders deltas by their stored key.
func CompareRowDelta(a, b RowDelta) int {
	return cmp.Or(strings.Compare(a.Account, b.Account), cmp.Compare(a.Level, b.Level), a.Bucket.Compare(b.Bucket),
		strings.Compare(a.SKU, b.SKU), strings.Compare(a.Organization, b.Organization), strings.Compare(a.Repository, b.Repository),
		strings.Compare(a.Username, b.Username), strings.Compare(a.Model, b.Model), cmpBool(a.Public, b.Public))
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
