package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
)

// testBillingKeptReads checks what a Service keeps between requests (day
// items and summary parts, day totals and month quota states, each under
// the ledger versions it was read at): after each write — a day past the
// point where the month's included minutes ran out, the day they ran out,
// the month's first day (which moves that point and every later day's
// discount) — every answer of a long-lived service, asked twice (computed,
// then from what it kept), under a request memo as httpapi asks or
// without, is byte for byte that of a new service.
func testBillingKeptReads(t *testing.T, s billing.Store) {
	if _, ok := s.(billing.VersionStore); !ok {
		t.Skip("store keeps no ledger versions")
	}
	ctx := t.Context()
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return jan.AddDate(0, 2, 0) }
	kept := billing.NewService(s, billing.DefaultCatalog(), now)
	n := 0
	rec := func(at time.Time, org string, minutes int64, public bool) billing.Record {
		n++
		return billing.Record{ID: fmt.Sprint("kept-", n), Timestamp: at, Product: "actions", SKU: "actions_linux",
			Quantity: billing.Quantity(minutes * 1_000_000_000), Unit: billing.UnitMinutes, Enterprise: "acme",
			Organization: org, Repository: fmt.Sprintf("%s/app%d", org, n%3), Public: public}
	}
	ingest := func(recs ...billing.Record) {
		t.Helper()
		_, err := s.BillingIngest(ctx, recs)
		must(t, "BillingIngest", err)
	}
	// 3,000 minutes a day: the enterprise's 50,000 run out on the 17th.
	var recs []billing.Record
	for d := range 31 {
		for _, org := range []string{"acme-web", "acme-data"} {
			recs = append(recs, rec(jan.AddDate(0, 0, d).Add(time.Duration(d%20)*time.Hour), org, 1500, false))
		}
	}
	ingest(recs...)
	ingest(billingGen(3, 1500, "acme", "acme-web", "acme-data").Records()...)
	queries := []struct {
		sc billing.Scope
		q  url.Values
		ep billing.Endpoint
	}{
		{billing.Scope{Account: acme}, url.Values{"year": {"2026"}, "month": {"1"}}, billing.EndpointUsage},
		{billing.Scope{Account: acme}, url.Values{"year": {"2026"}, "month": {"1"}, "day": {"20"}}, billing.EndpointUsage},
		{billing.Scope{Account: acme, Organization: "acme-web"}, url.Values{"year": {"2026"}, "month": {"1"}}, billing.EndpointUsage},
		{billing.Scope{Account: acme}, url.Values{"year": {"2026"}}, billing.EndpointUsage},
		{billing.Scope{Account: acme}, url.Values{"year": {"2026"}, "month": {"1"}}, billing.EndpointSummary},
		{billing.Scope{Account: acme}, url.Values{"year": {"2026"}, "month": {"1"}, "organization": {"acme-web"}, "product": {"actions"}}, billing.EndpointSummary},
		{billing.Scope{Account: acme}, url.Values{"year": {"2026"}, "month": {"1"}}, billing.EndpointPremiumRequest},
	}
	answer := func(svc *billing.Service, ctx context.Context, i int) []byte {
		t.Helper()
		c := queries[i]
		p, err := billing.ParseParams(c.q, c.ep, svc.Catalog, now())
		must(t, "ParseParams", err)
		if c.ep == billing.EndpointUsage {
			b, err := svc.UsageJSON(ctx, c.sc, p)
			must(t, "UsageJSON", err)
			return b
		}
		sum, err := svc.Summary(ctx, c.sc, p, c.ep)
		must(t, "Summary", err)
		b, err := json.Marshal(sum)
		must(t, "Marshal", err)
		return b
	}
	check := func(step string) {
		t.Helper()
		fresh := billing.NewService(s, billing.DefaultCatalog(), now)
		for i, c := range queries {
			want := answer(fresh, ctx, i)
			for j := range 4 {
				cx := ctx
				if j%2 == 1 {
					cx = billing.WithRequestMemo(ctx)
				}
				if got := answer(kept, cx, i); !bytes.Equal(got, want) {
					t.Fatalf("%s: %v %v (%d): the kept service answers %.200s…, a new one %.200s…", step, c.ep, c.q, j, got, want)
				}
			}
		}
	}
	check("first")
	ingest(rec(jan.AddDate(0, 0, 24).Add(5*time.Hour), "acme-web", 7, false))
	check("after a write past the quota")
	ingest(rec(jan.AddDate(0, 0, 16).Add(3*time.Hour), "acme-data", 11, false))
	check("after a write on the day the quota ran out")
	ingest(rec(jan.Add(time.Minute), "acme-web", 4000, false))
	check("after a write on the first day")
	ingest(rec(jan.AddDate(0, 0, 9), "acme-data", 2, true), rec(jan.AddDate(0, 1, 2), "acme-web", 9, false))
	check("after a public write and one to the next month")
}
