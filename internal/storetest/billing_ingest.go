package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
)

// testBillingDedupLarge re-sends parts of large batches (more ids than one
// store statement carries) mixed with new records, ids of a counter
// scheme whose text and numeric orders differ and ids that need escaping:
// every id counts once, the rest of the batch is recorded, and rows and
// records match the reference store.
func testBillingDedupLarge(t *testing.T, s billing.Store) {
	ref := billing.NewMemStore()
	recs := billingGen(11, 24_000, "acme", "acme-web", "acme-data").Records()
	recs[100].ID, recs[13_000].ID = "ctl\x01id-1", "tab\tid\n9"
	recs[200].ID, recs[13_100].ID = "x-10", "x-9"
	ingestBoth(t, s, ref, recs[:12_000])
	// Half seen before (in two statements' worth), half new; a repeat within.
	batch := append(slices.Clone(recs[6_000:18_000]), recs[17_999], recs[13_000])
	ingestBoth(t, s, ref, batch)
	// All new but the last, seen before.
	ingestBoth(t, s, ref, append(slices.Clone(recs[18_000:]), recs[5]))
	// All seen before.
	ingestBoth(t, s, ref, recs[:50])

	from, to := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, lvl := range []billing.Level{billing.LevelHour, billing.LevelDay} {
		q := billing.Query{Account: acme, Level: lvl, From: from, To: to}
		want, _ := ref.BillingRows(t.Context(), q)
		got, err := s.BillingRows(t.Context(), q)
		must(t, "BillingRows", err)
		sortRows(want)
		sortRows(got)
		if len(got) != len(want) {
			t.Fatalf("level %d: %d rows, want %d", lvl, len(got), len(want))
		}
		for i := range want {
			if !got[i].Bucket.Equal(want[i].Bucket) || got[i].Quantity != want[i].Quantity || got[i].SKU != want[i].SKU {
				t.Fatalf("level %d row %d = %+v, want %+v", lvl, i, got[i], want[i])
			}
		}
	}
	n := 0
	ids := map[string]bool{}
	err := s.BillingRecords(t.Context(), billing.Query{Account: acme, From: from, To: to}, func(r *billing.Record) error {
		n++
		ids[r.ID] = true
		return nil
	})
	must(t, "BillingRecords", err)
	if n != len(recs) || len(ids) != len(recs) {
		t.Fatalf("%d records (%d ids), want %d", n, len(ids), len(recs))
	}
}
