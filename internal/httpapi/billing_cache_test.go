package httpapi_test

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/testenv"
)

// TestBillingAnswersFollowLedgerWrites checks the kept usage and summary
// answers: each answer, asked twice, is what the service computes afresh
// (kept or not), and stays so after a ledger write to the month (on
// PostgreSQL through another replica), a write to another month, and a
// cost-center change that re-attributes the month's usage; an ETag of an
// answer before a write no longer matches.
func TestBillingAnswersFollowLedgerWrites(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		env := testenv.New(t)
		testBillingAnswersFollowWrites(t, env, env)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		replica := func(seed bool) *testenv.Env {
			st, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			var d *demo.Dataset
			if seed {
				if d, err = demo.Seed(t.Context(), st, demo.Options{Seed: 1, Scale: 0.2, Now: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			cfg := server.DefaultConfig()
			cfg.TokenCacheTTL = 0
			cfg.Store = "postgres"
			srv, err := server.New(cfg, st, slog.New(slog.DiscardHandler), time.Now)
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv.API.Handler())
			t.Cleanup(hs.Close)
			return &testenv.Env{URL: hs.URL, Data: d, Server: srv, HTTP: hs}
		}
		a := replica(true)
		a.AdminToken = a.Data.AdminToken
		b := replica(false)
		b.AdminToken, b.Data = a.AdminToken, a.Data
		testBillingAnswersFollowWrites(t, a, b)
	})
}

func testBillingAnswersFollowWrites(t *testing.T, env, writer *testenv.Env) {
	now := time.Now().UTC()
	ingestBillingTestData(t, env, now)
	svc := env.Server.API.Billing
	prev := billing.DateOf(now).MonthStart().Time().AddDate(0, -1, 0)
	ym := fmt.Sprintf("year=%d&month=%d", prev.Year(), int(prev.Month()))
	acme := billing.Scope{Account: billing.Account{Kind: billing.KindEnterprise, Login: "acme"}}
	web := billing.Scope{Account: acme.Account, Organization: "acme-web"}
	cases := []struct {
		path  string
		sc    billing.Scope
		query string
		ep    billing.Endpoint
	}{
		{"/enterprises/acme/settings/billing/usage", acme, ym, billing.EndpointUsage},
		{"/enterprises/acme/settings/billing/usage", acme, ym + "&day=20", billing.EndpointUsage},
		{"/organizations/acme-web/settings/billing/usage", web, ym, billing.EndpointUsage},
		{"/enterprises/acme/settings/billing/usage/summary", acme, ym, billing.EndpointSummary},
		{"/enterprises/acme/settings/billing/usage/summary", acme, ym + "&organization=acme-web&product=actions", billing.EndpointSummary},
		{"/enterprises/acme/settings/billing/premium_request/usage", acme, ym, billing.EndpointPremiumRequest},
	}
	// fresh is the answer a new service (keeping nothing yet) computes
	// now, encoded as served.
	fresh := func(i int) string {
		t.Helper()
		svc := billing.NewService(svc.Store, svc.Catalog, svc.Now)
		svc.Accounts, svc.Attribution = env.Server.API.Billing.Accounts, env.Server.API.Billing.Attribution
		c := cases[i]
		q, _ := url.ParseQuery(c.query)
		p, err := billing.ParseParams(q, c.ep, svc.Catalog, now)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if c.ep == billing.EndpointUsage {
			v, err = svc.Usage(t.Context(), c.sc, p)
		} else {
			v, err = svc.Summary(t.Context(), c.sc, p, c.ep)
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\n"
	}
	etags := make([]string, len(cases))
	bodies := make([]string, len(cases))
	check := func(step string, wantChanged []bool) {
		t.Helper()
		for i, c := range cases {
			want := fresh(i)
			changed := wantChanged != nil && wantChanged[i] && etags[i] != ""
			for range 2 { // computed (or kept), then kept
				resp, body := env.Get(t, c.path+"?"+c.query, env.AdminToken)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: GET %s?%s: %d %s", step, c.path, c.query, resp.StatusCode, body)
				}
				if body != want {
					t.Fatalf("%s: GET %s?%s answered %.300s…, the service computes %.300s…", step, c.path, c.query, body, want)
				}
				if n := resp.Header.Get("Content-Length"); n != fmt.Sprint(len(body)) {
					t.Fatalf("%s: Content-Length %q, body of %d bytes", step, n, len(body))
				}
				etag := resp.Header.Get("Etag")
				// The usage answer's ETag is combined from its parts' CRCs:
				// it is the body's, as every other answer's.
				if v := uint64(crc32.Checksum([]byte(body), crc32.MakeTable(crc32.Castagnoli)))<<32 | uint64(crc32.ChecksumIEEE([]byte(body))); etag != fmt.Sprintf(`W/"%016x"`, v) {
					t.Fatalf("%s: GET %s?%s: ETag %s, not the body's %016x", step, c.path, c.query, etag, v)
				}
				if changed {
					if body == bodies[i] || etag == etags[i] {
						t.Fatalf("%s: GET %s?%s: the answer (ETag %s) did not change", step, c.path, c.query, etag)
					}
					r2, _ := env.Get(t, c.path+"?"+c.query, env.AdminToken, "If-None-Match", etags[i])
					if r2.StatusCode != http.StatusOK {
						t.Fatalf("%s: the ETag of the answer before the write: %d, want 200", step, r2.StatusCode)
					}
				}
				if r3, _ := env.Get(t, c.path+"?"+c.query, env.AdminToken, "If-None-Match", etag); r3.StatusCode != http.StatusNotModified {
					t.Fatalf("%s: If-None-Match of the current ETag: %d, want 304", step, r3.StatusCode)
				}
				if !changed && wantChanged != nil && body != bodies[i] {
					t.Fatalf("%s: GET %s?%s changed, unexpectedly", step, c.path, c.query)
				}
				bodies[i], etags[i] = body, etag
				changed = false
			}
		}
	}
	check("first", nil)
	check("again", nil)

	ingest := func(recs ...billing.Record) {
		t.Helper()
		if resp, body := postBilling(t, writer, writer.AdminToken, billingNDJSON(t, recs)); resp.StatusCode != 200 {
			t.Fatalf("ingest: %d %s", resp.StatusCode, body)
		}
	}
	rec := func(id string, at time.Time, org, sku string, minutes int64) billing.Record {
		return billing.Record{ID: id, Timestamp: at, Product: "actions", SKU: sku, Quantity: billing.Quantity(minutes * 1_000_000_000),
			Unit: billing.UnitMinutes, Enterprise: "acme", Organization: org, Repository: org + "/cache-test"}
	}
	// On the month's first day (the discounts of every later day move),
	// through the writer (another replica on PostgreSQL).
	ingest(rec("cache-1", prev.Add(time.Hour), "acme-web", "actions_linux", 60_000))
	check("after a write on the first day", []bool{true, true, true, true, true, false})
	// Late in the month, a new item that draws on no quota (a public
	// repository's): only the day's version moves.
	late := rec("cache-2", prev.AddDate(0, 0, 25), "acme-data", "actions_windows", 3)
	lateWeb := rec("cache-2w", prev.AddDate(0, 0, 25), "acme-web", "actions_linux", 2)
	late.Public, lateWeb.Public = true, true
	ingest(late, lateWeb)
	check("after a write late in the month", []bool{true, false, true, true, true, false})
	// A write to the current month leaves the previous month's answers as they were.
	ingest(rec("cache-3", now.Add(-time.Minute), "acme-web", "actions_linux", 5))
	check("after a write to the current month", []bool{false, false, false, false, false, false})

	// Requests at once, while writes land: each answer is whole (the race
	// detector watches the kept answers), and the last is fresh.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for range 3 {
				c := cases[g%len(cases)]
				resp, body := env.Get(t, c.path+"?"+c.query, env.AdminToken)
				if resp.StatusCode != http.StatusOK || !json.Valid([]byte(body)) {
					t.Errorf("concurrent GET %s?%s: %d, %d bytes", c.path, c.query, resp.StatusCode, len(body))
				}
			}
		})
	}
	for i := range 3 {
		ingest(rec(fmt.Sprintf("cache-concurrent-%d", i), prev.AddDate(0, 0, 10+i), "acme-web", "actions_linux", 1))
	}
	wg.Wait()
	check("after concurrent requests and writes", nil)

	// A cost center holding acme-web since before the month: its usage
	// leaves the enterprise usage answer's default (usage of no cost center).
	cs, ok := env.Server.API.Store.(billing.CostCenterStore)
	if !ok {
		t.Skip("store has no cost centers")
	}
	ccs := &billing.CostCenters{Store: cs, Now: func() time.Time { return prev.AddDate(0, 0, -1) }}
	name := "Cache test"
	cc, err := ccs.Create(t.Context(), env.Data.Enterprise.ID, billing.CreateCostCenter{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ccs.AddResources(t.Context(), env.Data.Enterprise.ID, cc.ID, billing.ResourceRequest{Organizations: []string{"acme-web"}}); err != nil {
		t.Fatal(err)
	}
	check("after a cost-center change", []bool{true, true, false, false, false, false})
}
