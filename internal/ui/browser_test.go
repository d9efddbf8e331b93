package ui_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// chromiumPath finds Debian's chromium (or $GHUSAGE_CHROMIUM). Without
// one the browser tier skips, unless GHUSAGE_TEST_BROWSER is set (CI sets
// it), when it fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GHUSAGE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GHUSAGE_TEST_BROWSER") != "" {
		t.Fatal("GHUSAGE_TEST_BROWSER is set but no chromium was found (apt-get install chromium, or set GHUSAGE_CHROMIUM)")
	}
	t.Skip("no chromium: the browser tier skips (set GHUSAGE_TEST_BROWSER=1 to make it mandatory)")
	return ""
}

// browser is one headless Chromium tab and the console errors it saw.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string // screenshot directory

	mu   sync.Mutex
	errs []string
	// expected are console errors a test provokes on purpose (an error
	// page's status), matched by suffix.
	expected []string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base, shot: os.Getenv("GHUSAGE_TEST_SCREENSHOTS")}
	if b.shot == "" {
		b.shot = t.TempDir()
	} else if err := os.MkdirAll(b.shot, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errs = append(b.errs, m.String()+" at "+m.URL)
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// click clicks sel and waits for the page it loads.
func (b *browser) click(what, sel string) {
	b.t.Helper()
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("%s: click %s: %v", what, sel, err)
	}
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
}

func (b *browser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, b.base)
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// number reads a number shown with thousands separators.
func (b *browser) number(sel string) int64 {
	b.t.Helper()
	s := b.text(sel)
	n, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	if err != nil {
		b.t.Fatalf("%s shows %q, not a number", sel, s)
	}
	return n
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// checkView checks the page the browser is on and screenshots it: every
// chart has data points (at least one with a value that is not zero), the
// first Tab reaches the skip link, and every control the keyboard reaches
// after it has an accessible name (a label, aria-label, or text).
func (b *browser) checkView(name string) {
	b.t.Helper()
	charts := eval[[]int](b, `[...document.querySelectorAll("svg.chart")].map(s => [...s.querySelectorAll(".pt")].filter(p =>
		["total", "grossCents", "value"].some(k => Number(p.dataset[k]) > 0)).length)`)
	for i, n := range charts {
		if n == 0 {
			b.t.Errorf("%s: chart %d of %d has no data point with a value", name, i+1, len(charts))
		}
	}
	// Start from the top of the document, as a page loaded without autofocus.
	b.do("focus the document", chromedp.Evaluate[chromedp.Void](`document.body.tabIndex = -1; document.body.focus(); document.body.removeAttribute("tabindex"); window.scrollTo(0, 0); void 0`))
	b.do("Tab", chromedp.KeyEvent("\t"))
	if got := eval[string](b, `document.activeElement.className + "|" + document.activeElement.getAttribute("href")`); got != "skip|#main" {
		b.t.Errorf("%s: the first Tab focuses %q, want the skip link to #main", name, got)
	}
	var unnamed []string
	for i := 0; i < 40; i++ {
		b.do("Tab", chromedp.KeyEvent("\t"))
		desc := eval[string](b, `(() => {
			const e = document.activeElement;
			if (!e || e === document.body) return "";
			const tag = e.tagName.toLowerCase();
			const name = (e.getAttribute("aria-label") || "").trim() || (e.labels && [...e.labels].map(l => l.textContent).join(" ").trim()) ||
				(tag === "a" || tag === "button" || tag === "summary" ? e.textContent.trim() : "") || (e.getAttribute("title") || "").trim();
			return tag + (e.id ? "#" + e.id : "") + "=" + name;
		})()`)
		if desc == "" {
			break // past the last control
		}
		if strings.HasSuffix(desc, "=") {
			unnamed = append(unnamed, desc)
		}
	}
	if len(unnamed) > 0 {
		b.t.Errorf("%s: controls without an accessible name: %v", name, unnamed)
	}
	b.screenshot(name)
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.errs {
		if !slices.ContainsFunc(b.expected, func(x string) bool { return strings.HasSuffix(e, x) }) {
			out = append(out, e)
		}
	}
	return out
}

func (b *browser) signIn(token string) {
	b.t.Helper()
	b.open("/ui/insights")
	if loc := b.location(); !strings.HasPrefix(loc, "/ui/signin?") {
		b.t.Fatalf("signed out, /ui/insights went to %s, want the sign-in page", loc)
	}
	b.do("type the token", chromedp.SendKeys(chromedp.ID("token"), token))
	b.click("sign in", "form[action='/ui/signin'] button")
	if loc := b.location(); loc != "/ui/insights" {
		b.t.Fatalf("after signing in: at %s, want /ui/insights (where it was going)", loc)
	}
}

// apiJSON calls the REST API with the admin token and decodes the answer.
func apiJSON(t *testing.T, env *testenv.Env, path, token string, v any) {
	t.Helper()
	resp, body := env.Get(t, path, token)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

type summary struct {
	Total       int64 `json:"total_request_count"`
	RateLimited int64 `json:"rate_limited_request_count"`
}

// TestBrowser drives headless Chromium through the dashboard on the demo
// data: sign in, every view, numbers equal to the API's answers for the
// same range, filters, drill-down, local time, sign-out and revocation,
// with no console error, and writes a screenshot of each view
// ($GHUSAGE_UI_SCREENSHOTS, or a temporary directory).
func TestBrowser(t *testing.T) {
	chromiumPath(t)
	env := testenv.New(t)
	now := time.Now()
	seedDemo(t, env, now)
	admin := env.AdminToken
	b := newBrowser(t, env.URL)

	// Sign in: the sign-in page, then back where the browser was going.
	b.signIn(admin)
	orgs := eval[[]string](b, `[...document.querySelectorAll(".org .name")].map(e => e.textContent)`)
	if strings.Join(orgs, ",") != "acme-data,acme-infra,acme-web" {
		t.Errorf("organizations listed: %v", orgs)
	}
	b.checkView("1-organizations")

	// A custom period that ended a few minutes ago, so the test's own API
	// calls (metered into acme-web) cannot change it.
	to := now.UTC().Add(-5 * time.Minute).Truncate(time.Minute)
	from := to.Add(-24 * time.Hour)
	period := url.Values{"period": {"custom"}, "from": {from.Format("2006-01-02T15:04")}, "to": {to.Format("2006-01-02T15:04")}, "interval": {"1h"}}
	b.open("/ui/insights/acme-web?" + period.Encode())
	if h := b.text("h1"); h != "acme-web" {
		t.Fatalf("org page heading %q", h)
	}
	total, limited := b.number("#total-requests"), b.number("#rate-limited-requests")
	var api summary
	apiJSON(t, env, "/orgs/acme-web/insights/api/summary-stats?min_timestamp="+from.Format(time.RFC3339)+"&max_timestamp="+to.Format(time.RFC3339), admin, &api)
	if total != api.Total || limited != api.RateLimited || total == 0 {
		t.Errorf("page shows %d requests, %d rate-limited; summary-stats says %d, %d", total, limited, api.Total, api.RateLimited)
	}
	href := eval[string](b, `document.getElementById("api-summary").getAttribute("href")`)
	var linked summary
	apiJSON(t, env, href, admin, &linked)
	if linked != api {
		t.Errorf("the page's API link %s answers %+v, want %+v", href, linked, api)
	}
	pts := eval[[]int64](b, `[...document.querySelectorAll("svg.chart .pt")].map(g => Number(g.dataset.total))`)
	var sum int64
	for _, p := range pts {
		sum += p
	}
	if len(pts) < 24 || sum != total {
		t.Errorf("chart has %d points summing to %d, want 24 or 25 hourly points summing to %d", len(pts), sum, total)
	}
	var subjects []struct {
		Name        string `json:"subject_name"`
		Type        string `json:"subject_type"`
		Total       int64  `json:"total_request_count"`
		RateLimited int64  `json:"rate_limited_request_count"`
	}
	apiJSON(t, env, "/orgs/acme-web/insights/api/subject-stats?per_page=100&min_timestamp="+from.Format(time.RFC3339)+"&max_timestamp="+to.Format(time.RFC3339), admin, &subjects)
	first := b.text("#actors-table tbody tr:first-child td:first-child")
	if len(subjects) == 0 || first != subjects[0].Name || b.number("#actors-table tbody tr:first-child td.total") != subjects[0].Total {
		t.Errorf("first actor row %q, want %+v", first, subjects[0])
	}
	b.checkView("2-org-insights")

	// Filters: users only, rate-limited only.
	b.do("filter", chromedp.SetValue(chromedp.ID("type"), "user"), chromedp.SetValue(chromedp.ID("rl"), "limited"))
	b.click("filter", "form[aria-label='Filter actors'] button")
	if loc := b.location(); !strings.Contains(loc, "type=user") || !strings.Contains(loc, "rl=limited") {
		t.Errorf("filters are not in the URL: %s", loc)
	}
	var wantRows []string
	for _, s := range subjects {
		if s.Type == "user" && s.RateLimited > 0 {
			wantRows = append(wantRows, s.Name)
		}
	}
	rows := eval[[]string](b, `[...document.querySelectorAll("#actors-table tbody tr")].filter(r => r.cells.length > 1).map(r => r.cells[0].textContent.trim() + "|" + r.cells[1].textContent.trim())`)
	if len(rows) != min(len(wantRows), 30) {
		t.Errorf("filtered rows %v, want the %d rate-limited users %v", rows, len(wantRows), wantRows)
	}
	for i, r := range rows {
		if i < len(wantRows) && r != wantRows[i]+"|User" {
			t.Errorf("filtered row %d is %q, want %q", i, r, wantRows[i]+"|User")
		}
	}

	// Name search, keeping the other filters off.
	b.open("/ui/insights/acme-web?" + period.Encode() + "&type=user")
	name := b.text("#actors-table tbody tr:first-child td:first-child")
	sub := name[1 : len(name)-1]
	b.do("search", chromedp.SendKeys(chromedp.ID("q"), sub))
	b.click("search", "form[aria-label='Filter actors'] button")
	names := eval[[]string](b, `[...document.querySelectorAll("#actors-table tbody tr td:first-child")].map(c => c.textContent.trim())`)
	if len(names) == 0 {
		t.Errorf("search for %q found nothing", sub)
	}
	for _, n := range names {
		if !strings.Contains(strings.ToLower(n), strings.ToLower(sub)) {
			t.Errorf("search for %q shows %q", sub, n)
		}
	}

	// Drill down: a user, then one of its tokens or apps.
	b.open("/ui/insights/acme-web?" + period.Encode() + "&type=user")
	b.click("open a user", "#actors-table tbody tr:first-child a")
	if !strings.Contains(b.location(), "/ui/insights/acme-web/users/") || b.text("h1") != name {
		t.Fatalf("user page at %s, heading %q, want %q", b.location(), b.text("h1"), name)
	}
	href = eval[string](b, `document.getElementById("api-summary").getAttribute("href")`)
	apiJSON(t, env, href, admin, &linked)
	if got := b.number("#total-requests"); got != linked.Total || got == 0 {
		t.Errorf("user page shows %d requests, %s says %d", got, href, linked.Total)
	}
	b.checkView("3-user")
	b.click("open a token", "#actors-table tbody tr:first-child a")
	if !strings.Contains(b.location(), "/actors/") {
		t.Fatalf("token page at %s", b.location())
	}
	href = eval[string](b, `document.getElementById("api-summary").getAttribute("href")`)
	apiJSON(t, env, href, admin, &linked)
	if got := b.number("#total-requests"); got != linked.Total || got == 0 {
		t.Errorf("actor page shows %d requests, %s says %d", got, href, linked.Total)
	}
	var routes []struct {
		Method string `json:"http_method"`
		Route  string `json:"api_route"`
		Total  int64  `json:"total_request_count"`
	}
	list := eval[string](b, `document.getElementById("api-list").getAttribute("href")`)
	apiJSON(t, env, list, admin, &routes)
	shown := eval[[]string](b, `[...document.querySelectorAll("#routes-table tbody tr")].map(r => [...r.cells].slice(0, 3).map(c => c.textContent.trim()).join(" "))`)
	if len(routes) == 0 || len(shown) != len(routes) {
		t.Fatalf("routes table has %d rows, %s has %d", len(shown), list, len(routes))
	}
	for i, r := range routes {
		if want := r.Method + " " + r.Route + " " + strconv.FormatInt(r.Total, 10); strings.ReplaceAll(shown[i], ",", "") != want {
			t.Errorf("route row %d: %q, API %q", i, shown[i], want)
		}
	}
	b.checkView("4-actor-routes")

	// Local time: the browser's zone replaces UTC in every time shown.
	if _, err := chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"}); err != nil {
		t.Fatal(err)
	}
	b.click("local time", ".tz a:last-child")
	if !strings.Contains(b.location(), "tz=local") {
		t.Errorf("local time is not in the URL: %s", b.location())
	}
	if s := b.text("#routes-table tbody tr:first-child time"); !strings.HasSuffix(s, "Asia/Tokyo") {
		t.Errorf("a time in local mode reads %q, want it in Asia/Tokyo", s)
	}

	// Rate limits: the same pool and counts as GET /rate_limit.
	var rl struct {
		Resources map[string]struct{ Limit, Used, Remaining, Reset int64 } `json:"resources"`
	}
	apiJSON(t, env, "/rate_limit", admin, &rl)
	b.open("/ui/rate-limits")
	for _, res := range []string{"core", "search", "graphql"} {
		want := rl.Resources[res]
		row := "#rate-table tr[data-resource='" + res + "'] "
		if got := b.number(row + ".used"); got != want.Used {
			t.Errorf("%s used: page %d, API %d", res, got, want.Used)
		}
		if got := b.number(row + ".limit"); got != want.Limit {
			t.Errorf("%s limit: page %d, API %d", res, got, want.Limit)
		}
	}
	if rl.Resources["core"].Used == 0 {
		t.Error("the test's API calls should have used some of the core limit")
	}
	b.checkView("5-rate-limits")

	// Server statistics: a tile per group for each server, equal to the
	// server's latest snapshot in the API's history, and trend points.
	b.open("/ui/server-stats")
	b.checkView("6a-server-stats-accounts")
	b.click("open acme", ".org[href='/ui/server-stats/acme']")
	host := b.text("section.server h2")
	users := b.number("section.server [data-group=users] dd")
	var items []struct {
		Host  string `json:"host_name"`
		Stats struct {
			Users struct {
				Total int64 `json:"total_users"`
			} `json:"users"`
		} `json:"ghe_stats"`
	}
	apiJSON(t, env, "/enterprise-installation/acme/server-statistics", admin, &items)
	var want int64 = -1
	for _, it := range items {
		if strings.HasPrefix(host, it.Host+" ") {
			want = it.Stats.Users.Total
		}
	}
	if users != want {
		t.Errorf("server %q shows %d users; its latest snapshot says %d", host, users, want)
	}
	if n := eval[int](b, `document.querySelectorAll("svg.chart.line .pt").length`); n != 4*2*90 {
		t.Errorf("%d trend points, want 4 charts × 2 servers × 90 days", n)
	}
	b.checkView("6-server-stats")

	// Billing: the breakdown by SKU, its CSV link, and the net total equal
	// to the API's usage items for the month, to the cent.
	b.open("/ui/billing")
	b.checkView("7a-billing-accounts")
	b.click("open acme's billing", ".org[href='/ui/billing/enterprise/acme']")
	b.click("group by SKU", ".seg a[href*='group=sku']")
	var rep struct {
		Items []struct {
			Net json.Number `json:"netAmount"`
		} `json:"usageItems"`
	}
	apiJSON(t, env, eval[string](b, `document.getElementById("api-usage").getAttribute("href")`), admin, &rep)
	var nets []string
	for _, it := range rep.Items {
		nets = append(nets, it.Net.String())
	}
	if got, want := b.text("#net"), "$"+decimal(t, nets...).FloatString(2); strings.ReplaceAll(got, ",", "") != want {
		t.Errorf("net tile %q, the API's items sum to %s", got, want)
	}
	// The CSV export, by the page's own link with the browser's session
	// cookie (read over the DevTools protocol: it is HttpOnly, and the
	// Content-Security-Policy lets no script fetch): the table's rows, in
	// order, and its totals, exactly (the table's amount cells carry the
	// exact amounts in their titles).
	type csvCheck struct {
		Table [][]string `json:"table"`
		Href  string     `json:"href"`
	}
	got := eval[csvCheck](b, `({
		table: [...document.querySelectorAll("#billing-table tbody tr")].map(r => [...r.cells].map(c => c.title || c.textContent.trim())),
		href: document.getElementById("csv").getAttribute("href"),
	})`)
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{env.URL + "/ui/"}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, env.URL+got.Href, nil)
	for _, ck := range cookies.Cookies {
		if ck.Name == "ghusage_session" {
			req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV %s: %d %s", got.Href, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(recs) < 3 {
		t.Fatalf("CSV: %v, %d records", err, len(recs))
	}
	if len(recs)-1 != len(got.Table) {
		t.Errorf("the CSV has %d rows, the table %d", len(recs)-1, len(got.Table))
	}
	for i, row := range got.Table {
		if i+1 < len(recs) && strings.Join(row, "|") != strings.Join(recs[i+1], "|") {
			t.Errorf("table row %d %v, CSV %v", i, row, recs[i+1])
		}
	}
	last := recs[len(recs)-1]
	var groupNets []string
	for _, rec := range recs[1 : len(recs)-1] {
		groupNets = append(groupNets, rec[len(rec)-1])
	}
	if last[0] != "Total" || decimal(t, groupNets...).Cmp(decimal(t, last[len(last)-1])) != 0 || decimal(t, last[len(last)-1]).Cmp(decimal(t, nets...)) != 0 {
		t.Errorf("CSV total %v: its groups sum to %s, the API's items to %s", last, decimal(t, groupNets...).FloatString(6), decimal(t, nets...).FloatString(6))
	}
	// Budgets: a row per budget the API lists, each with its meter.
	var budgets struct {
		Total int `json:"total_count"`
	}
	apiJSON(t, env, "/enterprises/acme/settings/billing/budgets", admin, &budgets)
	if n := eval[int](b, `document.querySelectorAll("#budgets-table tbody tr[data-budget] progress, #budgets-table tbody tr[data-budget] .pct").length`); budgets.Total == 0 || n < budgets.Total {
		t.Errorf("budgets table: %d meters for %d budgets", n, budgets.Total)
	}
	b.checkView("7-billing")

	// Copilot: the newest day's active users equal that day's aggregate
	// as the API serves it; a point per reported day on each trend.
	b.open("/ui/copilot")
	b.checkView("8a-copilot-accounts")
	b.click("open acme's Copilot", ".org[href='/ui/copilot/enterprise/acme']")
	if n := eval[int](b, `document.querySelectorAll("svg.chart.line .pt[data-series='Daily active']").length`); n < 20 {
		t.Errorf("%d daily-active points over 28 days", n)
	}
	day := eval[string](b, `document.getElementById("dau").closest(".tile").dataset.day`)
	var agg struct {
		DAU int64 `json:"daily_active_users"`
		MAU int64 `json:"monthly_active_users"`
	}
	if !dayAggregate(t, env, day, &agg) {
		t.Fatalf("the API has no aggregate for %s, the page's newest day", day)
	}
	if got := b.number("#dau"); got != agg.DAU || got == 0 {
		t.Errorf("daily active users on %s: page %d, API %d", day, got, agg.DAU)
	}
	if got := b.number("#mau"); got != agg.MAU {
		t.Errorf("monthly active users on %s: page %d, API %d", day, got, agg.MAU)
	}
	b.checkView("8-copilot")
	// Beyond 28 days: a custom range typed into the form.
	from90 := now.UTC().AddDate(0, 0, -90).Format("2006-01-02")
	b.do("custom range", chromedp.SetValue(chromedp.ID("c-from"), from90))
	b.click("show the range", "form[aria-label='Custom range'] button")
	if loc := b.location(); !strings.Contains(loc, "from="+from90) {
		t.Errorf("the custom range is not in the URL: %s", loc)
	}
	if n, days := eval[int](b, `document.querySelectorAll("svg.chart.line .pt[data-series='Daily active']").length`), b.number("#report-days"); n != int(days) || n < 50 {
		t.Errorf("90 days: %d daily-active points, %d reported days", n, days)
	}
	b.checkView("9-copilot-90-days")
	twoYears := "/ui/copilot/enterprise/acme?from=" + now.UTC().AddDate(-2, 0, 0).Format("2006-01-02")
	b.expected = append(b.expected, "422 (Unprocessable Entity) at "+env.URL+twoYears) // the browser logs the error page's status
	b.open(twoYears)
	if s := b.text("main"); !strings.Contains(s, "from:") || !strings.Contains(s, "366") {
		t.Errorf("a 2-year range: the page says %.200q, want the error naming from and the 366-day limit", s)
	}

	// Sign out: back to sign-in, and the session no longer opens pages.
	b.click("sign out", "form[action='/ui/signout'] button")
	if loc := b.location(); loc != "/ui/signin?reason=signedout" {
		t.Errorf("after signing out: %s", loc)
	}
	b.checkView("0-sign-in")
	b.open("/ui/rate-limits")
	if loc := b.location(); !strings.HasPrefix(loc, "/ui/signin?") {
		t.Errorf("after signing out, /ui/rate-limits went to %s", loc)
	}

	// Revocation: a session ends at its next request once its token is revoked.
	tok := &usage.Token{Type: usage.ActorClassicPAT, UserID: env.Data.Admin.ID, Scopes: []string{"read:org"}, Note: "browser test", CreatedAt: now}
	secret, err := demo.IssueToken(t.Context(), env.Store, tok)
	if err != nil {
		t.Fatal(err)
	}
	b.signIn(secret)
	if err := env.Store.RevokeToken(t.Context(), tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	b.open("/ui/rate-limits")
	if loc := b.location(); !strings.Contains(loc, "reason=revoked") {
		t.Errorf("after revoking the token, /ui/rate-limits went to %s", loc)
	}
	if s := b.text(".note"); !strings.Contains(s, "revoked") {
		t.Errorf("sign-in notice %q", s)
	}

	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
	t.Log("screenshots in", b.shot)
	_ = fmt.Sprint
}
