package sqlite_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/usage"
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

// BenchmarkBillingUsageMonth answers the enterprise usage endpoint for a
// month of 200,000 records (3 organizations, 50 repositories and 300
// users each), JSON included.
func BenchmarkBillingUsageMonth(b *testing.B) {
	db, _, start := usageMonthDB(b)
	svc := billing.NewService(db, billing.DefaultCatalog(), func() time.Time { return start.AddDate(0, 2, 0) })
	p, err := billing.ParseParams(url.Values{"year": {"2026"}, "month": {"1"}}, billing.EndpointUsage, svc.Catalog, svc.Now())
	if err != nil {
		b.Fatal(err)
	}
	sc := billing.Scope{Account: billing.Account{Kind: billing.KindEnterprise, Login: "acme"}}
	if os.Getenv("BENCH_SUMMARY_ORG") != "" {
		p, _ := billing.ParseParams(url.Values{"year": {"2026"}, "month": {"1"}, "organization": {"acme-web"}, "product": {"actions"}}, billing.EndpointSummary, svc.Catalog, svc.Now())
		for b.Loop() {
			if _, err := svc.Summary(context.Background(), sc, p, billing.EndpointSummary); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	if org := os.Getenv("BENCH_USAGE_ORG"); org != "" {
		sc.Organization = org
	}
	items := 0
	for b.Loop() {
		rep, err := svc.Usage(context.Background(), sc, p)
		if err != nil {
			b.Fatal(err)
		}
		io.Discard.Write(rep.AppendJSON(nil))
		items = len(rep.UsageItems)
	}
	b.ReportMetric(float64(items), "items")
}

// usageMonthDB returns a store holding a month of 200,000 generated
// records (from start) of enterprise acme, and their generator.
func usageMonthDB(b *testing.B) (*sqlite.DB, *billinggen.Gen, time.Time) {
	db := openTemp(b)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := &billinggen.Gen{Seed: 1, N: 200_000, Start: start, End: start.AddDate(0, 1, 0), Enterprise: "acme",
		Orgs: []string{"acme-web", "acme-data", "acme-infra"}, Repos: 50, Users: 300, IDPrefix: "u-"}
	recs := g.Records()
	for lo := 0; lo < len(recs); lo += 20_000 {
		if _, err := db.BillingIngest(context.Background(), recs[lo:lo+20_000]); err != nil {
			b.Fatal(err)
		}
	}
	return db, g, start
}

// BenchmarkBillingUsageMonthCold answers the enterprise usage endpoint for
// the month of usageMonthDB as the server does right after a one-record
// write to one of its days (the write not timed): the answer key, then the
// answer's parts and their checksums from the kept day parts (the written
// day recomputed), with cost-center attribution wired in as serve does (no
// cost center holds anything).
//
//	go test -run X -bench BillingUsageMonthCold ./internal/sqlite
func BenchmarkBillingUsageMonthCold(b *testing.B) {
	ctx := context.Background()
	db, g, start := usageMonthDB(b)
	if err := db.CreateEnterprise(ctx, &usage.Enterprise{Slug: "acme", Name: "Acme", CreatedAt: start}); err != nil {
		b.Fatal(err)
	}
	svc := billing.NewService(db, billing.DefaultCatalog(), func() time.Time { return start.AddDate(0, 2, 0) })
	svc.Attribution = &billing.CostCenterAttribution{Store: db, Accounts: db}
	p, err := billing.ParseParams(url.Values{"year": {"2026"}, "month": {"1"}}, billing.EndpointUsage, svc.Catalog, svc.Now())
	if err != nil {
		b.Fatal(err)
	}
	sc := billing.Scope{Account: billing.Account{Kind: billing.KindEnterprise, Login: "acme"}}
	answer := func() int {
		ctx := billing.WithRequestMemo(ctx)
		if _, _, _, err := svc.AnswerKey(ctx, sc, p, billing.EndpointUsage); err != nil {
			b.Fatal(err)
		}
		body, err := svc.UsageBody(ctx, sc, p)
		if err != nil {
			b.Fatal(err)
		}
		return body.Len
	}
	answer()
	size := 0
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		r := g.Record(i * 7919 % g.N)
		r.ID = fmt.Sprintf("cold-%d", i)
		r.Timestamp = start.Add(time.Duration(i%28)*24*time.Hour + 12*time.Hour)
		if _, err := db.BillingIngest(ctx, []billing.Record{r}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		size = answer()
	}
	b.ReportMetric(float64(size), "bytes")
}

// BenchmarkBillingIngestIDs ingests fresh batches of 20,000 records (the
// bench's enterprise, spread over a month as 2,000,000 records would be:
// -benchtime 50x ingests 1,000,000) whose ids are a counter
// ("bench-0", "bench-1", …) or in random order (32 hex digits, as UUIDv4
// ids are): what the order of the ids costs the dedup index.
func BenchmarkBillingIngestIDs(b *testing.B) {
	for _, kind := range []string{"counter", "random"} {
		b.Run(kind, func(b *testing.B) {
			db := openTemp(b)
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			g := &billinggen.Gen{Seed: 1, N: 2_000_000, Start: start, End: start.AddDate(0, 1, 0), Enterprise: "acme",
				Orgs: []string{"acme-web", "acme-data", "acme-infra"}, Repos: 50, Users: 300, IDPrefix: "bench-"}
			recs := make([]billing.Record, 20_000)
			next, n := 0, 0
			for b.Loop() {
				b.StopTimer()
				for i := range recs {
					recs[i] = g.Record(next)
					if kind == "random" {
						h := sha256.Sum256([]byte(recs[i].ID))
						recs[i].ID = hex.EncodeToString(h[:16])
					}
					next++
				}
				b.StartTimer()
				if _, err := db.BillingIngest(context.Background(), recs); err != nil {
					b.Fatal(err)
				}
				n += len(recs)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
