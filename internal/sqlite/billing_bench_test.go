package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
)

// BenchmarkBillingIngest ingests batches of 10,000 generated records.
func BenchmarkBillingIngest(b *testing.B) {
	db := openTemp(b)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var batches [][]billing.Record
	for i := range 20 {
		g := &billinggen.Gen{Seed: 1, N: 10_000, Start: start, End: start.AddDate(0, 1, 0), Enterprise: "acme",
			Orgs: []string{"acme-web", "acme-data", "acme-infra"}, Repos: 40, Users: 50, IDPrefix: fmt.Sprintf("b%d-", i)}
		batches = append(batches, g.Records())
	}
	n := 0
	for i := 0; b.Loop(); i++ {
		if _, err := db.BillingIngest(context.Background(), batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
		n += 10_000
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
