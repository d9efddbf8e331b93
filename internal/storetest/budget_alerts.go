package storetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

// RunBudgetAlerts checks the budget alert job end to end on stores that
// keep the ledger and budgets: a budget crossing 75 % and then 100 %
// sends exactly two alerts to each webhook, signed, with two replicas
// running the job at once and across a restart; a failed delivery is
// retried with backoff and delivered once.
func RunBudgetAlerts(t *testing.T, open Replicas) {
	t.Run("TwoAlertsAcrossReplicasAndRestart", func(t *testing.T) {
		t.Parallel()
		testBudgetAlerts(t, open(t, 2))
	})
	t.Run("CountsFromTheInstantOfCreation", func(t *testing.T) {
		t.Parallel()
		testBudgetCountsFromCreation(t, open(t, 1)[0])
	})
}

type hookReceiver struct {
	mu       sync.Mutex
	events   []billing.BudgetAlertEvent
	ids      map[string]int
	failNext int // answer 500 to this many requests first
	secret   []byte
	t        *testing.T
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if h.failNext > 0 {
		h.failNext--
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	if got, want := r.Header.Get("X-Hub-Signature-256"), billing.SignBudgetAlert(h.secret, body); got != want {
		h.t.Errorf("signature %q, want %q", got, want)
	}
	var ev billing.BudgetAlertEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		h.t.Errorf("alert body: %v", err)
	}
	h.ids[r.Header.Get("X-GitHub-Delivery")]++
	h.events = append(h.events, ev)
}

func (h *hookReceiver) thresholds() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, e := range h.events {
		out = append(out, e.Threshold)
	}
	return out
}

// testBudgetCountsFromCreation creates a budget at 01:30: the jobs of
// 01:10 do not count, those of 01:50 and 02:20 do.
func testBudgetCountsFromCreation(t *testing.T, st usage.Store) {
	ctx := t.Context()
	if _, ok := st.(billing.Store); !ok {
		t.Skip("backend has no billing ledger")
	}
	asBudgetStore(t, st)
	ent := &usage.Enterprise{Slug: "acme", Name: "Acme", CreatedAt: testTime}
	must(t, "enterprise", st.CreateEnterprise(ctx, ent))
	must(t, "org", st.CreateOrganization(ctx, &usage.Organization{Login: "acme-web", EnterpriseID: ent.ID, CreatedAt: testTime}))
	month := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := month.Add(90 * time.Minute)
	now := func() time.Time { return clock }
	catalog := billing.DefaultCatalog()
	ledger := billing.NewService(st.(billing.Store), catalog, now)
	ledger.Accounts = st
	budgets := &billing.Budgets{Store: st.(billing.BudgetStore), Accounts: st, Catalog: catalog, Now: now,
		Spend: &billing.BudgetSpend{Ledger: ledger, Accounts: st}}
	f := false
	amount, scope, typ, sku := int64(10), billing.ScopeEnterprise, billing.BudgetProductPricing, "actions"
	b, err := budgets.Create(ctx, billing.BudgetOwner{EnterpriseID: ent.ID}, billing.BudgetInput{BudgetAmount: &amount, PreventFurtherUsage: &f,
		BudgetScope: &scope, BudgetType: &typ, BudgetProductSKU: &sku, BudgetAlerting: &billing.BudgetAlerting{WillAlert: &f, AlertRecipients: []string{}}})
	must(t, "create budget", err)
	job := func(id string, at time.Duration, n int64) billing.Record {
		return billing.Record{ID: id, Timestamp: month.Add(at), Product: "actions", SKU: "actions_linux_4_core",
			Unit: billing.UnitMinutes, Quantity: billing.Units(n), Enterprise: "acme", Organization: "acme-web", Repository: "acme-web/app"}
	}
	_, err = ledger.Ingest(ctx, []billing.Record{job("before", 70*time.Minute, 100), job("after", 110*time.Minute, 50), job("next-hour", 140*time.Minute, 25)})
	must(t, "ingest", err)
	clock = month.Add(10 * 24 * time.Hour)
	// 75 minutes of a larger runner at $0.012 (never included): $0.90.
	c, err := budgets.Spend.Consumed(ctx, b, now())
	must(t, "consumed", err)
	if c.String() != "0.9" {
		t.Fatalf("consumed %s, want 0.9 (the 01:50 and 02:20 jobs, not the 01:10 one)", c)
	}
}

func testBudgetAlerts(t *testing.T, stores []usage.Store) {
	ctx := t.Context()
	st := stores[0]
	if _, ok := st.(billing.Store); !ok {
		t.Skip("backend has no billing ledger")
	}
	asBudgetStore(t, st)
	ent := &usage.Enterprise{Slug: "acme", Name: "Acme", CreatedAt: testTime}
	must(t, "enterprise", st.CreateEnterprise(ctx, ent))
	must(t, "org", st.CreateOrganization(ctx, &usage.Organization{Login: "acme-web", EnterpriseID: ent.ID, CreatedAt: testTime}))
	must(t, "user", st.CreateUser(ctx, &usage.User{Login: "mona", CreatedAt: testTime}))

	secret := []byte("s3cret")
	steady := &hookReceiver{ids: map[string]int{}, secret: secret, t: t}
	flaky := &hookReceiver{ids: map[string]int{}, secret: secret, t: t, failNext: 1}
	hs1, hs2 := httptest.NewServer(steady), httptest.NewServer(flaky)
	t.Cleanup(hs1.Close)
	t.Cleanup(hs2.Close)

	month := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := month.Add(10 * 24 * time.Hour)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	catalog := billing.DefaultCatalog()
	var raisedMu sync.Mutex
	raised := map[int]int{}
	// alerter builds one replica's job, as a server start does.
	alerter := func(s usage.Store) *billing.BudgetAlerter {
		ledger := billing.NewService(s.(billing.Store), catalog, now)
		ledger.Accounts = s
		b := &billing.Budgets{Store: s.(billing.BudgetStore), Accounts: s, Catalog: catalog, Now: now,
			Spend: &billing.BudgetSpend{Ledger: ledger, Accounts: s}}
		return &billing.BudgetAlerter{Budgets: b, URLs: []string{hs1.URL, hs2.URL}, Secret: secret, Now: now, Backoff: time.Minute,
			Raised: func(th int) { raisedMu.Lock(); raised[th]++; raisedMu.Unlock() }}
	}
	replicas := []*billing.BudgetAlerter{alerter(stores[0]), alerter(stores[1])}
	runAll := func(as []*billing.BudgetAlerter) {
		var wg sync.WaitGroup
		for _, a := range as {
			wg.Go(func() {
				if err := a.Run(ctx); err != nil {
					t.Errorf("alert run: %v", err)
				}
			})
		}
		wg.Wait()
	}

	// A $10 budget on Actions, created at the start of the month.
	f := false
	amount, yes, scope, typ, sku := int64(10), true, billing.ScopeEnterprise, billing.BudgetProductPricing, "actions"
	mu.Lock()
	clock = month.Add(time.Hour)
	mu.Unlock()
	b, err := replicas[0].Budgets.Create(ctx, billing.BudgetOwner{EnterpriseID: ent.ID}, billing.BudgetInput{BudgetAmount: &amount, PreventFurtherUsage: &f,
		BudgetScope: &scope, BudgetType: &typ, BudgetProductSKU: &sku, BudgetAlerting: &billing.BudgetAlerting{WillAlert: &yes, AlertRecipients: []string{"mona"}}})
	must(t, "create budget", err)
	mu.Lock()
	clock = month.Add(10 * 24 * time.Hour)
	mu.Unlock()

	// Larger runners are never covered by included minutes: $0.012 a
	// minute on 4-core Linux in 2026, so 640 minutes are $7.68 (76.8 %).
	minutes := func(id string, n int64, day int) billing.Record {
		return billing.Record{ID: id, Timestamp: month.Add(time.Duration(day) * 24 * time.Hour), Product: "actions", SKU: "actions_linux_4_core",
			Unit: billing.UnitMinutes, Quantity: billing.Units(n), Enterprise: "acme", Organization: "acme-web", Repository: "acme-web/app"}
	}
	premium := billing.Record{ID: "p1", Timestamp: month.Add(4 * 24 * time.Hour), Product: "copilot", SKU: "copilot_premium_request", Model: "GPT-5",
		Unit: billing.UnitRequests, Quantity: billing.Units(500), Enterprise: "acme", Organization: "acme-web", Username: "mona"} // $20, not Actions
	early := minutes("m0", 900, 0) // before the budget was created: not counted
	if _, err := replicas[0].Budgets.Spend.Ledger.Ingest(ctx, []billing.Record{early, minutes("m1", 640, 3), premium}); err != nil {
		t.Fatal(err)
	}
	// Neither the usage before the budget existed nor other products count.
	c, err := replicas[0].Budgets.Spend.Consumed(ctx, b, now())
	must(t, "consumed", err)
	if c.String() != "7.68" {
		t.Fatalf("consumed %s, want 7.68", c)
	}
	runAll(replicas)
	runAll(replicas)
	if got := steady.thresholds(); len(got) != 1 || got[0] != 75 {
		t.Fatalf("after 76.8 %%: alerts %v, want one for 75 %%", got)
	}
	// The flaky hook failed the first attempt; it is retried after the backoff.
	if got := flaky.thresholds(); len(got) != 0 {
		t.Fatalf("flaky hook got %v before its retry", got)
	}
	mu.Lock()
	clock = clock.Add(2 * time.Minute)
	mu.Unlock()
	runAll(replicas)
	if got := flaky.thresholds(); len(got) != 1 || got[0] != 75 {
		t.Fatalf("flaky hook after the retry: %v, want one 75 %% alert", got)
	}

	// 300 more minutes: $11.28, past 100 % (and past 90 %: one alert, for 100 %).
	if _, err := replicas[1].Budgets.Spend.Ledger.Ingest(ctx, []billing.Record{minutes("m2", 300, 9)}); err != nil {
		t.Fatal(err)
	}
	runAll(replicas)
	// A restart: new jobs on new store handles see the alerts already raised.
	runAll([]*billing.BudgetAlerter{alerter(stores[1]), alerter(stores[0])})
	mu.Lock()
	clock = clock.Add(time.Hour)
	mu.Unlock()
	runAll(replicas)
	for name, h := range map[string]*hookReceiver{"steady": steady, "flaky": flaky} {
		got := h.thresholds()
		if len(got) != 2 || got[0] != 75 || got[1] != 100 {
			t.Fatalf("%s hook: alerts %v, want exactly 75 then 100", name, got)
		}
		for id, n := range h.ids {
			if n != 1 {
				t.Errorf("%s hook: delivery %s received %d times", name, id, n)
			}
		}
		ev := h.events[1]
		if ev.Budget.ID != b.ID || string(ev.ConsumedAmount) != "11.28" || ev.Budget.Enterprise != "acme" || len(ev.Recipients) != 1 {
			t.Errorf("%s hook: 100 %% alert %+v", name, ev)
		}
	}
	raisedMu.Lock()
	defer raisedMu.Unlock()
	if raised[75] != 1 || raised[100] != 1 || raised[90] != 0 {
		t.Fatalf("alerts raised %v, want 75 and 100 once each", raised)
	}
	alerts, err := replicas[0].Budgets.Store.BudgetAlerts(ctx, b.ID, "2026-03")
	must(t, "alerts", err)
	if len(alerts) != 2 {
		t.Fatalf("stored alerts %+v", alerts)
	}
}
