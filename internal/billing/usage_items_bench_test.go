package billing

import (
	"fmt"
	"testing"
	"time"
)

func BenchmarkUsageItems(b *testing.B) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var priced []Priced
	for i := 0; i < 63000; i++ {
		priced = append(priced, Priced{Row: Row{Bucket: start.AddDate(0, 0, i%31), SKU: fmt.Sprint("sku", i%20),
			Organization: fmt.Sprint("org", i%3), Repository: fmt.Sprint("org/repo", i%600), Quantity: Units(1)},
			Product: "actions", Unit: "minutes", Price: 8000})
	}
	sc := Scope{Account: Account{KindEnterprise, "acme"}}
	b.ResetTimer()
	for range b.N {
		usageItems(sc, LevelDay, priced, false)
	}
}

// BenchmarkUsageItemsSorted groups rows as the stores give them for the
// usage endpoint: a bucket at a time, each day's rows in key order.
func BenchmarkUsageItemsSorted(b *testing.B) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var priced []Priced
	for d := range 31 {
		for i := range 1400 {
			priced = append(priced, Priced{Row: Row{Bucket: start.AddDate(0, 0, d), SKU: fmt.Sprintf("actions_sku%02d", i/150),
				Organization: fmt.Sprint("org", i%150/50), Repository: fmt.Sprintf("org%d/repo%02d", i%150/50, i%50), Quantity: Units(1)},
				Product: "actions", Unit: "minutes", Price: 8000})
		}
	}
	sc := Scope{Account: Account{KindEnterprise, "acme"}}
	b.ResetTimer()
	for range b.N {
		usageItems(sc, LevelDay, priced, false)
	}
}
