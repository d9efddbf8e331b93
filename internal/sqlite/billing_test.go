package sqlite_test

import (
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"

	"github.com/ghusage/ghusage/internal/storetest"
)

func TestBillingConformance(t *testing.T) {
	storetest.RunBilling(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: openTemp(t)}
	})
}

func TestBillingReportsConformance(t *testing.T) {
	storetest.RunBillingReports(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: openTemp(t)}
	})
}

// TestBillingOddIDs ingests ids that JSON would change (control
// characters, invalid UTF-8) beside plain ones: each counts once.
func TestBillingOddIDs(t *testing.T) {
	db := openTemp(t)
	base := billing.Record{Timestamp: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), Product: "actions", SKU: "actions_linux",
		Quantity: billing.Units(1), Unit: "minutes", Enterprise: "acme"}
	var recs []billing.Record
	for _, id := range []string{"plain", "tab\there", "nul\x00x", "bad\xffutf8", "é-ok", `quote"back\slash`} {
		r := base
		r.ID = id
		recs = append(recs, r)
	}
	for round, want := range []int{len(recs), 0} {
		res, err := db.BillingIngest(t.Context(), recs)
		if err != nil || res.Recorded != want || res.Duplicates != len(recs)-want {
			t.Fatalf("round %d: %+v, %v; want %d recorded", round, res, err, want)
		}
	}
	res, err := db.BillingIngest(t.Context(), recs[4:]) // plain ids only: the JSON path
	if err != nil || res.Recorded != 0 {
		t.Fatalf("plain re-send: %+v, %v", res, err)
	}
}
