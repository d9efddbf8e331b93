package billing_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
)

// BenchmarkDecodeAll decodes a batch of 20,000 generated records as the
// ingest endpoint does (ns/op is per batch; records/s is reported).
func BenchmarkDecodeAll(b *testing.B) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	g := &billinggen.Gen{Seed: 1, N: 20_000, Start: now.AddDate(0, -1, 0), End: now, Enterprise: "acme",
		Orgs: []string{"acme-web", "acme-data", "acme-infra"}, Repos: 50, Users: 300, IDPrefix: "bench-"}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	for i := range g.N {
		r := g.Record(i)
		if err := enc.Encode(&r); err != nil {
			b.Fatal(err)
		}
	}
	c := billing.DefaultCatalog()
	b.SetBytes(int64(body.Len()))
	for b.Loop() {
		recs, err := billing.DecodeAll(bytes.NewReader(body.Bytes()), c, now, billing.MaxBatch)
		if err != nil || len(recs) != g.N {
			b.Fatal(len(recs), err)
		}
	}
	b.ReportMetric(float64(b.N*g.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkChunkRecords makes the record chunks of a batch of 20,000.
func BenchmarkChunkRecords(b *testing.B) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	g := &billinggen.Gen{Seed: 1, N: 20_000, Start: now.AddDate(0, -1, 0), End: now, Enterprise: "acme",
		Orgs: []string{"acme-web", "acme-data", "acme-infra"}, Repos: 50, Users: 300, IDPrefix: "bench-"}
	recs := g.Records()
	for b.Loop() {
		billing.ChunkRecords(recs)
	}
	b.ReportMetric(float64(b.N*g.N)/b.Elapsed().Seconds(), "records/s")
}
