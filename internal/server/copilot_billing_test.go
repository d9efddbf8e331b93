package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/usage"
)

// clock is a settable time for a server under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// TestCopilotBillingEndToEnd runs the real server with --copilot-billing
// on SQLite and PostgreSQL: a seat added through GitHub's seat API and
// premium requests ingested with Copilot usage become, once the report
// job has run, the licence and premium-request usage of the billing
// endpoints, priced; re-running the job and re-sending the activity
// change nothing; a day corrected upwards adds exactly the difference;
// billing-usage ingestion refuses the derived SKUs, naming line and field.
func TestCopilotBillingEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ghusage.db"), sqlite.Options{Synchronous: "OFF"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		copilotBillingEndToEnd(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		st, err := postgres.Open(context.Background(), dsn, postgres.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		copilotBillingEndToEnd(t, st)
	})
}

type billingEnv struct {
	t     *testing.T
	url   string
	token string
	srv   *server.Server
	clk   *clock
}

func (e *billingEnv) do(method, path, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// runJob advances the clock by five minutes (the job's period) and runs
// the due jobs, which must include the report job.
func (e *billingEnv) runJob(at time.Time) {
	e.t.Helper()
	e.clk.set(at)
	if ran := e.srv.Jobs.RunDue(context.Background()); !slices.Contains(ran, server.CopilotJob) {
		e.t.Fatalf("the %s job did not run at %v (ran %v)", server.CopilotJob, at, ran)
	}
}

type usageItem struct {
	Date             string      `json:"date"`
	Product          string      `json:"product"`
	SKU              string      `json:"sku"`
	Model            string      `json:"model"`
	Quantity         json.Number `json:"quantity"`      // the usage endpoint
	GrossQuantity    json.Number `json:"grossQuantity"` // premium_request/usage
	UnitType         string      `json:"unitType"`
	PricePerUnit     json.Number `json:"pricePerUnit"`
	GrossAmount      json.Number `json:"grossAmount"`
	NetAmount        json.Number `json:"netAmount"`
	OrganizationName string      `json:"organizationName"`
}

// items reads the usageItems of a billing endpoint.
func (e *billingEnv) items(path string) []usageItem {
	e.t.Helper()
	code, body := e.do("GET", path, "")
	if code != 200 {
		e.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var out struct {
		UsageItems []usageItem `json:"usageItems"`
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		e.t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
	return out.UsageItems
}

// sum adds the quantities and gross amounts of the items of a SKU (and
// model, when given), exactly.
func sum(t *testing.T, items []usageItem, sku, model string) (q billing.Quantity, gross *big.Rat) {
	t.Helper()
	gross = new(big.Rat)
	for _, it := range items {
		if !strings.EqualFold(it.SKU, sku) && !strings.EqualFold(strings.ReplaceAll(it.SKU, " ", "_"), sku) {
			continue
		}
		if model != "" && it.Model != model {
			continue
		}
		if it.Quantity == "" {
			it.Quantity = it.GrossQuantity
		}
		a, err := billing.ParseDecimal(string(it.Quantity))
		if err != nil {
			t.Fatalf("quantity %s: %v", it.Quantity, err)
		}
		g, ok := new(big.Rat).SetString(string(it.GrossAmount))
		if !ok {
			t.Fatalf("grossAmount %s", it.GrossAmount)
		}
		q = q + billing.Quantity(a)
		gross.Add(gross, g)
	}
	return q, gross
}

func copilotBillingEndToEnd(t *testing.T, st usage.Store) {
	ctx := context.Background()
	// Day S is 2026-11-10 (a 30-day month): a seat-day is 1/30 user-month.
	start := time.Date(2026, 11, 10, 10, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	d, err := demo.Seed(ctx, st, demo.Options{Seed: 1, Scale: 0.2, Now: start})
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.TokenCacheTTL = 0
	cfg.Copilot.Billing = true
	srv, err := server.New(cfg, st, slog.New(slog.DiscardHandler), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &billingEnv{t: t, url: hs.URL, token: d.AdminToken, srv: srv, clk: clk}

	u := d.Users[10] // a member of acme-data (demo users' home organization is i mod 3)
	login := strings.ToLower(u.Login)
	ent := strings.ToLower(d.Enterprise.Slug)
	org := strings.ToLower(d.Orgs[10%len(d.Orgs)].Login)
	if code, body := e.do("POST", "/orgs/"+org+"/copilot/billing/selected_users", `{"selected_usernames":["`+u.Login+`"]}`); code != 201 || !strings.Contains(body, `"seats_created":1`) {
		t.Fatalf("adding a seat: %d %s", code, body)
	}
	day := copilot.DayOf(start)
	line := func(d copilot.Day, gpt, claude string) string {
		return fmt.Sprintf(`{"day":"%s","user_id":%d,"user_login":"%s","user_initiated_interaction_count":4,"premium_requests_by_model":[{"model":"gpt-5","requests":%s},{"model":"claude-sonnet-4.6","requests":%s}]}`+"\n",
			d, u.ID, u.Login, gpt, claude)
	}
	ingest := func(body string) string {
		t.Helper()
		code, resp := e.do("POST", "/ghusage/v1/ingest/copilot-usage", body)
		if code != 200 {
			t.Fatalf("ingest: %d %s", code, resp)
		}
		return resp
	}
	// A bad premium request count is a 422 naming line and field; nothing is recorded.
	if code, body := e.do("POST", "/ghusage/v1/ingest/copilot-usage", line(day, "12.5", "3")+line(day, "-2", "3")); code != 422 ||
		!strings.Contains(body, `"field":"line 2: premium_requests_by_model[0].requests"`) {
		t.Fatalf("negative premium requests: %d %s", code, body)
	}
	if resp := ingest(line(day, "12.5", "3")); !strings.Contains(resp, `"recorded":1`) {
		t.Fatalf("first ingest after a refused batch: %s", resp)
	}

	// The billing-usage ingestion refuses the derived SKUs, naming line and field.
	refused := `{"id":"a","timestamp":"2026-11-09T10:00:00Z","product":"actions","sku":"actions_linux","quantity":3,"unit":"minutes","organization":"` + org + `"}` + "\n\n" +
		`{"id":"b","timestamp":"2026-11-09T10:00:00Z","product":"copilot","sku":"copilot_premium_request","quantity":3,"unit":"requests","organization":"` + org + `","username":"` + login + `","model":"gpt-5"}` + "\n" +
		`{"id":"c","timestamp":"2026-11-09T10:00:00Z","product":"copilot","sku":"copilot_for_business","quantity":1,"unit":"user-months","organization":"` + org + `","username":"` + login + `"}` + "\n"
	code, body := e.do("POST", "/ghusage/v1/ingest/billing-usage", refused)
	if code != 422 || !strings.Contains(body, `"field":"line 3: sku"`) || !strings.Contains(body, `"field":"line 4: sku"`) ||
		!strings.Contains(body, "copilot-billing") || strings.Contains(body, "line 1") {
		t.Fatalf("billing-usage with derived Copilot SKUs: %d %s", code, body)
	}
	// Other Copilot SKUs (not derived) and other products are accepted.
	if code, body := e.do("POST", "/ghusage/v1/ingest/billing-usage", strings.SplitN(refused, "\n", 2)[0]+"\n"); code != 200 {
		t.Fatalf("billing-usage without derived SKUs: %d %s", code, body)
	}

	usagePath := fmt.Sprintf("/enterprises/%s/settings/billing/usage?year=2026&month=11&day=10", ent)
	premiumPath := fmt.Sprintf("/enterprises/%s/settings/billing/premium_request/usage?year=2026&month=11&day=10&user=%s", ent, login)
	if q, _ := sum(t, e.items(usagePath), "copilot_premium_request", ""); q != 0 {
		t.Fatalf("premium requests before the day closed: %v", q)
	}
	// The day closes at 02:00 the next day (--copilot-settle 2h).
	at := start.Add(17 * time.Hour) // 11-11 03:00
	e.runJob(at)
	seatDay := server.SeatDayShare(day)
	if seatDay != billing.Quantity(33_333_333) {
		t.Fatalf("a seat-day of November is %v user-months, want 0.033333333", seatDay)
	}
	price := func(sku string) billing.Price { return billing.DefaultCatalog().SKU(sku).Prices[0].Price }
	amount := func(q billing.Quantity, sku string) *big.Rat {
		r, _ := new(big.Rat).SetString(billing.Mul(q, price(sku)).String())
		return r
	}
	check := func(when string, wantGPT, wantClaude string) {
		t.Helper()
		items := e.items(usagePath)
		q, g := sum(t, items, "copilot_for_business", "")
		if q != seatDay || g.Cmp(amount(seatDay, "copilot_for_business")) != 0 {
			t.Fatalf("%s: licence usage %v user-months for %v, want %v for %v\n%+v", when, q, g, seatDay, billing.Mul(seatDay, price("copilot_for_business")), items)
		}
		pitems := e.items(premiumPath)
		for _, m := range []struct{ model, want string }{{"gpt-5", wantGPT}, {"claude-sonnet-4.6", wantClaude}} {
			w, _ := billing.ParseDecimal(m.want)
			q, g := sum(t, pitems, "copilot_premium_request", m.model)
			if q != billing.Quantity(w) || g.Cmp(amount(billing.Quantity(w), "copilot_premium_request")) != 0 {
				t.Fatalf("%s: premium requests of %s: %v for %v, want %s\n%+v", when, m.model, q, g, m.want, pitems)
			}
		}
		all, _ := sum(t, items, "copilot_premium_request", "")
		w1, _ := billing.ParseDecimal(wantGPT)
		w2, _ := billing.ParseDecimal(wantClaude)
		if all != billing.Quantity(w1+w2) {
			t.Fatalf("%s: the usage endpoint has %v premium requests, want %v", when, all, billing.Quantity(w1+w2))
		}
	}
	check("after the first run", "12.5", "3")

	// Running the job again and re-sending the same day change nothing.
	at = at.Add(5 * time.Minute)
	e.runJob(at)
	if resp := ingest(line(day, "12.5", "3")); !strings.Contains(resp, `"unchanged":1`) {
		t.Fatalf("re-sent day: %s", resp)
	}
	at = at.Add(5 * time.Minute)
	e.runJob(at)
	check("after re-running and re-sending", "12.5", "3")

	// An upward correction adds the difference; the ledger records it as
	// a new record and a re-run does not add it twice.
	if resp := ingest(line(day, "20", "3")); !strings.Contains(resp, `"replaced":1`) {
		t.Fatalf("corrected day: %s", resp)
	}
	at = at.Add(5 * time.Minute)
	e.runJob(at)
	check("after the correction", "20", "3")
	at = at.Add(5 * time.Minute)
	e.runJob(at)
	check("after the correction and a re-run", "20", "3")

	// The organization variant shows the same usage (the seat is in org).
	if q, _ := sum(t, e.items(fmt.Sprintf("/organizations/%s/settings/billing/premium_request/usage?year=2026&month=11&day=10", org)), "copilot_premium_request", ""); q != billing.Units(23) {
		t.Fatalf("organization %s: %v premium requests, want 23", org, q)
	}

	// The next day adds the next seat-day; the month so far is the sum.
	e.runJob(at.Add(24 * time.Hour))
	month := fmt.Sprintf("/enterprises/%s/settings/billing/usage?year=2026&month=11", ent)
	if q, _ := sum(t, e.items(month), "copilot_for_business", ""); q != seatDay+server.SeatDayShare(day+1) {
		t.Fatalf("November's licence usage after two closed days: %v, want %v", q, seatDay+server.SeatDayShare(day+1))
	}

	// Switched off, a correction is not derived (and the report job clears
	// its dirty mark); switched on again, the next run derives it.
	restart := func(on bool) *billingEnv {
		t.Helper()
		c := cfg
		c.Copilot.Billing = on
		srv, err := server.New(c, st, slog.New(slog.DiscardHandler), clk.now)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		return &billingEnv{t: t, url: hs.URL, token: d.AdminToken, srv: srv, clk: clk}
	}
	at = at.Add(24 * time.Hour)
	off := restart(false)
	if code, resp := off.do("POST", "/ghusage/v1/ingest/copilot-usage", line(day, "26", "3")); code != 200 || !strings.Contains(resp, `"replaced":1`) {
		t.Fatalf("correction while off: %d %s", code, resp)
	}
	at = at.Add(5 * time.Minute)
	off.runJob(at)
	check("a correction while the flag is off", "20", "3")
	on := restart(true)
	at = at.Add(5 * time.Minute)
	on.runJob(at)
	check("switched on again", "26", "3")
	at = at.Add(5 * time.Minute)
	on.runJob(at)
	check("switched on again, re-run", "26", "3")
}

// The seat-day shares of every month sum to exactly one user-month.
func TestSeatDayShareSumsToOneMonth(t *testing.T) {
	for _, m := range []string{"2026-02-01", "2028-02-01", "2026-04-01", "2026-12-01"} {
		first, _ := copilot.ParseDay(m)
		var total billing.Quantity
		d := first
		for ; d.Time().Month() == first.Time().Month(); d++ {
			total += server.SeatDayShare(d)
		}
		if total != billing.Units(1) {
			t.Errorf("%s: %d days sum to %v user-months", m, d-first, total)
		}
	}
}

// With --copilot-billing the demo ledger holds no Copilot licences or
// premium requests of its own: the first report job derives them from the
// demo's seats (with their history) and activity, exactly.
func TestDemoCopilotBillingIsDerived(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ghusage.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := server.SeedDemo(ctx, st, demo.Options{Seed: 1, Scale: 0.2, Now: now, CopilotBilling: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ent := billing.Account{Kind: billing.KindEnterprise, Login: strings.ToLower(d.Enterprise.Slug)}
	total := func(sku string, from, to time.Time) billing.Quantity {
		rows, err := st.BillingRows(ctx, billing.Query{Account: ent, Level: billing.LevelDay, From: from, To: to, SKU: sku})
		if err != nil {
			t.Fatal(err)
		}
		var q billing.Quantity
		for _, r := range rows {
			q += r.Quantity
		}
		return q
	}
	far := now.AddDate(-1, 0, 0)
	if q := total(billing.SKUCopilotBusiness, far, now) + total(billing.SKUCopilotPremium, far, now); q != 0 {
		t.Fatalf("the demo ledger holds %v Copilot licences and premium requests before they are derived", q)
	}
	if q := total("copilot_ai_credits", far, now); q == 0 {
		t.Fatal("the demo ledger lost its AI credits (not derived)")
	}
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Copilot.Billing = true
	srv, err := server.New(cfg, st, slog.New(slog.DiscardHandler), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if ran := srv.Jobs.RunDue(ctx); !slices.Contains(ran, server.CopilotJob) {
		t.Fatalf("ran %v", ran)
	}
	// Expected, from the store: seat-days up to the last closed day, and
	// the ingested premium requests.
	today := copilot.DayOf(now)
	closed := copilot.LastClosedDay(now, cfg.Copilot.Settle)
	seats, err := st.CopilotSeats(ctx, d.Enterprise.ID, 0, today)
	if err != nil || len(seats) < 20 {
		t.Fatalf("%d seats (%v)", len(seats), err)
	}
	var wantSeats billing.Quantity
	for _, s := range seats {
		for day := copilot.DayOf(s.CreatedAt); day <= closed; day++ {
			wantSeats += server.SeatDayShare(day)
		}
	}
	var wantPremium billing.Quantity
	err = st.CopilotScan(ctx, today-100, closed, true, func(r *copilot.ScanRow) error {
		var x copilot.Extra
		if err := json.Unmarshal(r.Extra, &x); err != nil {
			return err
		}
		for _, p := range x.PremiumRequestsByModel {
			q, err := billing.ParseDecimal(string(p.Requests))
			if err != nil {
				return err
			}
			wantPremium += billing.Quantity(q)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if wantPremium == 0 {
		t.Fatal("the demo activity has no premium requests")
	}
	if got := total(billing.SKUCopilotBusiness, far, now); got != wantSeats {
		t.Errorf("licences: %v user-months, want %v", got, wantSeats)
	}
	if got := total(billing.SKUCopilotPremium, far, now); got != wantPremium {
		t.Errorf("premium requests: %v, want %v", got, wantPremium)
	}
}
