package sqlite_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/usage"
)

// BenchmarkBillingUsageMonthCold answers the enterprise usage endpoint for
// a month of 200,000 records as the server does right after a one-record
// write to one of its days (the write not timed): the answer key, then the
// answer's parts and their checksums from the kept day parts (the written
// day recomputed), with cost-center attribution wired in as serve does (no cost
// center holds anything).
//
//	go test -run X -bench BillingUsageMonthCold ./internal/sqlite
func BenchmarkBillingUsageMonthCold(b *testing.B) {
	ctx := context.Background()
	db := openTemp(b)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := db.CreateEnterprise(ctx, &usage.Enterprise{Slug: "acme", Name: "Acme", CreatedAt: start}); err != nil {
		b.Fatal(err)
	}
	g := &billinggen.Gen{Seed: 1, N: 200_000, Start: start, End: start.AddDate(0, 1, 0), Enterprise: "acme",
		Orgs: []string{"acme-web", "acme-data", "acme-infra"}, Repos: 50, Users: 300, IDPrefix: "u-"}
	recs := g.Records()
	for lo := 0; lo < len(recs); lo += 20_000 {
		if _, err := db.BillingIngest(ctx, recs[lo:lo+20_000]); err != nil {
			b.Fatal(err)
		}
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
	size, i := 0, 0
	for b.Loop() {
		b.StopTimer()
		r := g.Record(i * 7919 % len(recs))
		r.ID = fmt.Sprintf("cold-%d", i)
		r.Timestamp = start.Add(time.Duration(i%28)*24*time.Hour + 12*time.Hour)
		i++
		if _, err := db.BillingIngest(ctx, []billing.Record{r}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		size = answer()
	}
	b.ReportMetric(float64(size), "bytes")
}
