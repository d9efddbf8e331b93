package billing

import (
	"testing"
	"time"
)

// TestSharedStorageLatestHour checks the shared-storage estimate: the
// month's GB-hours so far plus, for every hour left, the latest hour with
// storage in the last day (not the latest hour with any usage).
func TestSharedStorageLatestHour(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)
	st := NewMemStore()
	s := NewService(st, DefaultCatalog(), func() time.Time { return now })
	rec := func(id string, at time.Time, sku string, units int64) Record {
		k := s.Catalog.SKU(sku)
		return Record{ID: id, Timestamp: at, Product: k.Product, SKU: sku, Unit: k.Unit, Quantity: Units(units),
			Organization: "solo", Repository: "solo/app"}
	}
	ingest := func(recs ...Record) {
		t.Helper()
		if _, err := s.Ingest(t.Context(), recs); err != nil {
			t.Fatal(err)
		}
	}
	ingest(rec("a", time.Date(2026, 3, 1, 0, 10, 0, 0, time.UTC), "actions_storage", 100),
		rec("b", time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC), "actions_storage", 5),
		rec("c", time.Date(2026, 3, 10, 7, 15, 0, 0, time.UTC), "packages_storage", 40),
		rec("d", time.Date(2026, 3, 10, 7, 40, 0, 0, time.UTC), "actions_storage", 10),
		rec("e", time.Date(2026, 3, 10, 12, 10, 0, 0, time.UTC), "actions_linux", 3))
	sc := Scope{Account: Account{Kind: KindOrganization, Login: "solo"}}
	inc := float64(s.Catalog.PlanOf(sc.Account).Included[PoolStorage]) / float64(nano)
	check := func(accrued, latest int64) {
		t.Helper()
		got, err := s.SharedStorage(t.Context(), sc)
		if err != nil {
			t.Fatal(err)
		}
		// 516 hours from 12:00 to April 1st, 515 after the current one, 744 in March.
		est := float64(accrued+latest*515) / 744
		want := SharedStorageBilling{DaysLeftInBillingCycle: 21, EstimatedStorageForMonth: int64(est + 0.5),
			EstimatedPaidStorageForMonth: int64(max(0, est-inc) + 0.5)}
		if got != want {
			t.Fatalf("SharedStorage = %+v, want %+v (accrued %d GB-h, latest hour %d GB)", got, want, accrued, latest)
		}
	}
	check(155, 50) // the latest storage is at 07:00; 12:00 has only minutes
	ingest(rec("f", time.Date(2026, 3, 10, 12, 5, 0, 0, time.UTC), "actions_storage", 7))
	check(162, 7)
}
