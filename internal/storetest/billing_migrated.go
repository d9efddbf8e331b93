package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
)

// CheckMigratedLedger checks a ledger that a migration converted from an
// older layout against ref, a reference store that ingested the same
// records recs of account a in [from, to): the same rows at both levels
// (also for a model with tabs, newlines and backslashes), the same
// records, and ids that still deduplicate.
func CheckMigratedLedger(t *testing.T, ref, db billing.Store, a billing.Account, from, to time.Time, recs []billing.Record) {
	t.Helper()
	ctx := t.Context()
	for _, q := range []billing.Query{
		{Account: a, Level: billing.LevelDay, From: from, To: to},
		{Account: a, Level: billing.LevelHour, From: from, To: to},
		{Account: a, Level: billing.LevelDay, From: from, To: to, Model: "ODD\tmodel\\x\nend"},
		{Account: a, Level: billing.LevelDay, From: from, To: to, ByItem: true},
		{Account: a, Level: billing.LevelDay, From: from, To: to, Model: "ODD\tmodel\\x\nend", ByItem: true},
	} {
		want, _ := ref.BillingRows(ctx, q)
		got, err := db.BillingRows(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		sortBillingRows(want)
		sortBillingRows(got)
		if len(got) != len(want) || len(want) == 0 {
			t.Fatalf("level %d model %q: %d rows, want %d", q.Level, q.Model, len(got), len(want))
		}
		for i := range want {
			if !got[i].Bucket.Equal(want[i].Bucket) {
				t.Fatalf("row %d bucket %v, want %v", i, got[i].Bucket, want[i].Bucket)
			}
			got[i].Bucket = want[i].Bucket
			if got[i] != want[i] {
				t.Fatalf("row %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	}
	all := billing.Query{Account: a, From: from, To: to}
	var want, got []billing.Record
	ref.BillingRecords(ctx, all, func(r *billing.Record) error { want = append(want, *r); return nil })
	if err := db.BillingRecords(ctx, all, func(r *billing.Record) error { got = append(got, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Timestamp.Equal(want[i].Timestamp) {
			t.Fatalf("record %d at %v, want %v", i, got[i].Timestamp, want[i].Timestamp)
		}
		got[i].Timestamp = want[i].Timestamp
		if got[i] != want[i] {
			t.Fatalf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// The migrated ids still deduplicate.
	res, err := db.BillingIngest(ctx, recs[:min(10, len(recs))])
	if err != nil || res.Recorded != 0 || res.Duplicates != min(10, len(recs)) {
		t.Fatalf("re-sent after migration: %+v, %v", res, err)
	}
}

func sortBillingRows(rows []billing.Row) {
	slices.SortFunc(rows, func(a, b billing.Row) int {
		return billing.CompareRowDelta(billing.RowDelta{Row: a}, billing.RowDelta{Row: b})
	})
}
