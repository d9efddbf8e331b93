// Package ratelimittest is the behaviour suite every rate-limit Store must
// pass. A backend's test calls Run with a function that opens an empty store
// reading the time from the given Clock.
package ratelimittest

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/ratelimit"
)

// Clock is a settable clock for stores under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Open returns a new, empty store whose clock is clock.Now.
type Open func(t *testing.T, clock *Clock) ratelimit.Store

// start is where every test's clock starts: a little after the real time
// (stores may set expiries relative to it), off a whole second.
func start() time.Time {
	return time.Now().Truncate(time.Second).Add(time.Hour + 300*time.Millisecond)
}

// Run runs the suite against the stores open returns.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ratelimit.Store, c *Clock)
	}{
		{"WindowStartsAtFirstCountedRequest", testWindowStart},
		{"UncountedRequestsStartNoWindow", testUncounted},
		{"RejectionsDoNotPushUsedPastLimit", testNoOvercount},
		{"PoolsAndCategoriesAreSeparate", testSeparate},
		{"RefundOnlyInSameWindow", testRefund},
		{"ConcurrencyLimit", testConcurrency},
		{"AbandonedSlotsExpire", testSlotExpiry},
		{"EndpointPoints", testPoints},
		{"ParallelTakesNeverExceedLimit", testParallel},
		{"LimiterSharedUserPool", testLimiterSharedPool},
		{"LimiterInstallations", testLimiterInstallations},
		{"LimiterMessagesAndStatus", testLimiterMessages},
		{"LimiterRateLimitNeverCounts", testLimiterUncounted},
		{"LimiterUnauthenticatedByIP", testLimiterIP},
		{"LimiterSecondary", testLimiterSecondary},
		{"LimiterNonCoreWindows", testLimiterNonCoreWindows},
		{"LimiterUncountedRefundsNothing", testLimiterUncountedRefund},
		{"LimiterGraphQLPointsSeparate", testLimiterGraphQLPoints},
		{"LimiterInstallationFormulaTerms", testLimiterInstallationTerms},
		{"LimiterPipes", testLimiterPipes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock(start())
			tt.fn(t, open(t, c), c)
		})
	}
}

var ctx = context.Background()

func take(t *testing.T, s ratelimit.Store, c *ratelimit.Charge) ratelimit.Result {
	t.Helper()
	r, err := s.Take(ctx, *c)
	if err != nil {
		t.Fatalf("Take(%v %v): %v", c.Pool, c.Resource, err)
	}
	return r
}

func peek(t *testing.T, s ratelimit.Store, p ratelimit.Pool) [ratelimit.NumResources]ratelimit.Window {
	t.Helper()
	var ws [ratelimit.NumResources]time.Duration
	for i := range ws {
		ws[i] = time.Hour
	}
	ws[ratelimit.Search] = time.Minute
	out, err := s.Peek(ctx, p, &ws)
	if err != nil {
		t.Fatalf("Peek(%v): %v", p, err)
	}
	return out
}

func core(p ratelimit.Pool, limit int64) *ratelimit.Charge {
	return &ratelimit.Charge{Pool: p, Resource: ratelimit.Core, Cost: 1, Limit: limit, Window: time.Hour}
}

func testWindowStart(t *testing.T, s ratelimit.Store, c *Clock) {
	p := ratelimit.UserPool(1)
	idle := peek(t, s, p)[ratelimit.Core]
	if want := ratelimit.NewWindowReset(c.Now(), time.Hour); idle.Used != 0 || idle.Reset != want {
		t.Fatalf("idle window = %+v, want used 0, reset %d", idle, want)
	}
	c.Advance(10 * time.Minute)
	first := c.Now()
	r := take(t, s, core(p, 5000))
	wantReset := first.Truncate(time.Second).Add(time.Second + time.Hour).Unix()
	if r.Verdict != ratelimit.Allowed || r.Window.Used != 1 || r.Window.Reset != wantReset {
		t.Fatalf("first request: %+v, want allowed, used 1, reset %d", r, wantReset)
	}
	c.Advance(59 * time.Minute)
	r = take(t, s, core(p, 5000))
	if r.Window.Used != 2 || r.Window.Reset != wantReset {
		t.Fatalf("second request in window: %+v, want used 2, reset %d (window must not move)", r, wantReset)
	}
	if got := peek(t, s, p)[ratelimit.Core]; got != r.Window {
		t.Fatalf("Peek = %+v, want %+v", got, r.Window)
	}
	// The window ends exactly at reset.
	c.Advance(time.Unix(wantReset, 0).Sub(c.Now()))
	r = take(t, s, core(p, 5000))
	if r.Window.Used != 1 || r.Window.Reset != wantReset+3600 {
		t.Fatalf("request at reset: %+v, want a new window: used 1, reset %d", r, wantReset+3600)
	}
}

func testUncounted(t *testing.T, s ratelimit.Store, c *Clock) {
	p := ratelimit.UserPool(2)
	ch := core(p, 5000)
	ch.Cost = 0
	if r := take(t, s, ch); r.Window.Used != 0 || r.Verdict != ratelimit.Allowed {
		t.Fatalf("uncounted: %+v", r)
	}
	c.Advance(20 * time.Minute)
	r := take(t, s, core(p, 5000))
	if want := ratelimit.NewWindowReset(c.Now(), time.Hour); r.Window.Reset != want || r.Window.Used != 1 {
		t.Fatalf("first counted request: %+v, want used 1, reset %d", r, want)
	}
}

func testNoOvercount(t *testing.T, s ratelimit.Store, c *Clock) {
	p := ratelimit.UserPool(3)
	for i := int64(1); i <= 3; i++ {
		if r := take(t, s, core(p, 3)); r.Verdict != ratelimit.Allowed || r.Window.Used != i {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	for i := int64(1); i <= 3; i++ {
		r := take(t, s, core(p, 3))
		if r.Verdict != ratelimit.Primary || r.Window.Used != 3 || r.Rejections != i {
			t.Fatalf("rejection %d: %+v, want Primary, used 3, rejections %d", i, r, i)
		}
	}
	if got := peek(t, s, p)[ratelimit.Core].Used; got != 3 {
		t.Fatalf("used after rejections = %d, want 3", got)
	}
	// A higher limit for another caller of the same pool admits again.
	if r := take(t, s, core(p, 4)); r.Verdict != ratelimit.Allowed || r.Window.Used != 4 {
		t.Fatalf("with limit 4: %+v", r)
	}
	c.Advance(time.Hour + time.Second)
	if r := take(t, s, core(p, 3)); r.Verdict != ratelimit.Allowed || r.Window.Used != 1 || r.Rejections != 0 {
		t.Fatalf("next window: %+v", r)
	}
}

func testSeparate(t *testing.T, s ratelimit.Store, c *Clock) {
	a, b := ratelimit.InstallationPool(10), ratelimit.InstallationPool(11)
	u := ratelimit.UserPool(10) // same id, different kind
	take(t, s, core(a, 2))
	take(t, s, core(a, 2))
	if r := take(t, s, core(a, 2)); r.Verdict != ratelimit.Primary {
		t.Fatalf("installation 10 third request: %+v, want Primary", r)
	}
	for _, p := range []ratelimit.Pool{b, u} {
		if r := take(t, s, core(p, 2)); r.Verdict != ratelimit.Allowed || r.Window.Used != 1 {
			t.Fatalf("%v: %+v, want its own pool", p, r)
		}
	}
	search := &ratelimit.Charge{Pool: a, Resource: ratelimit.Search, Cost: 1, Limit: 2, Window: time.Minute}
	r := take(t, s, search)
	if r.Verdict != ratelimit.Allowed || r.Window.Used != 1 || r.Window.Reset != ratelimit.NewWindowReset(c.Now(), time.Minute) {
		t.Fatalf("search of exhausted core pool: %+v, want its own minute window", r)
	}
	ip1 := ratelimit.IPPool(netip.MustParseAddr("192.0.2.1"))
	ip2 := ratelimit.IPPool(netip.MustParseAddr("::ffff:192.0.2.2")) // mapped form is the same address
	take(t, s, core(ip1, 60))
	if r := take(t, s, core(ratelimit.IPPool(netip.MustParseAddr("192.0.2.2")), 60)); r.Window.Used != 1 {
		t.Fatalf("ip 192.0.2.2: %+v", r)
	}
	if r := take(t, s, core(ip2, 60)); r.Window.Used != 2 {
		t.Fatalf("ip ::ffff:192.0.2.2: %+v, want the pool of 192.0.2.2", r)
	}
}

func testRefund(t *testing.T, s ratelimit.Store, c *Clock) {
	p := ratelimit.UserPool(4)
	r := take(t, s, core(p, 10))
	take(t, s, core(p, 10))
	tk := ratelimit.Ticket{Pool: p, Resource: ratelimit.Core, Reset: r.Window.Reset, Refund: 1}
	if err := s.Finish(ctx, tk); err != nil {
		t.Fatal(err)
	}
	if got := peek(t, s, p)[ratelimit.Core].Used; got != 1 {
		t.Fatalf("used after refund = %d, want 1", got)
	}
	c.Advance(2 * time.Hour)
	take(t, s, core(p, 10))
	if err := s.Finish(ctx, tk); err != nil { // a ticket from the old window
		t.Fatal(err)
	}
	if got := peek(t, s, p)[ratelimit.Core].Used; got != 1 {
		t.Fatalf("used after stale refund = %d, want 1 (a refund never reaches another window)", got)
	}
}

func testConcurrency(t *testing.T, s ratelimit.Store, c *Clock) {
	p := ratelimit.UserPool(5)
	ch := core(p, 100)
	ch.MaxConcurrent, ch.SlotTTL = 2, time.Minute
	r1, r2 := take(t, s, ch), take(t, s, ch)
	if r1.Verdict != ratelimit.Allowed || r2.Verdict != ratelimit.Allowed || r1.Slot == 0 || r2.Slot == 0 {
		t.Fatalf("slots: %+v %+v", r1, r2)
	}
	r3 := take(t, s, ch)
	if r3.Verdict != ratelimit.Concurrency || r3.Window.Used != 2 {
		t.Fatalf("third concurrent request: %+v, want Concurrency with used 2", r3)
	}
	if err := s.Finish(ctx, ratelimit.Ticket{Pool: p, Resource: ratelimit.Core, Reset: r1.Window.Reset, Slot: r1.Slot}); err != nil {
		t.Fatal(err)
	}
	if r := take(t, s, ch); r.Verdict != ratelimit.Allowed || r.Window.Used != 3 {
		t.Fatalf("after a release: %+v", r)
	}
	// Another pool has its own slots.
	ch.Pool = ratelimit.UserPool(6)
	if r := take(t, s, ch); r.Verdict != ratelimit.Allowed {
		t.Fatalf("other pool: %+v", r)
	}
}

func testSlotExpiry(t *testing.T, s ratelimit.Store, c *Clock) {
	p := ratelimit.UserPool(9)
	ch := core(p, 100)
	ch.MaxConcurrent, ch.SlotTTL = 1, time.Minute
	if r := take(t, s, ch); r.Verdict != ratelimit.Allowed {
		t.Fatalf("first: %+v", r)
	}
	// The request never finishes (its process died, or it panicked).
	c.Advance(30 * time.Second)
	if r := take(t, s, ch); r.Verdict != ratelimit.Concurrency {
		t.Fatalf("while the slot is held: %+v, want Concurrency", r)
	}
	c.Advance(31 * time.Second)
	r := take(t, s, ch)
	if r.Verdict != ratelimit.Allowed {
		t.Fatalf("after the slot TTL: %+v, want the abandoned slot forgotten", r)
	}
	if err := s.Finish(ctx, ratelimit.Ticket{Pool: p, Resource: ratelimit.Core, Reset: r.Window.Reset, Slot: r.Slot}); err != nil {
		t.Fatal(err)
	}
	if r := take(t, s, ch); r.Verdict != ratelimit.Allowed {
		t.Fatalf("after a release: %+v", r)
	}
}

func testPoints(t *testing.T, s ratelimit.Store, c *Clock) {
	p := ratelimit.UserPool(7)
	write := func(endpoint string) ratelimit.Result {
		ch := core(p, 100)
		ch.Endpoint, ch.Points, ch.PointsLimit, ch.PointsWindow = endpoint, 5, 10, time.Minute
		return take(t, s, ch)
	}
	write("POST /a")
	c.Advance(20 * time.Second)
	write("POST /a")
	r := write("POST /a")
	if r.Verdict != ratelimit.Points || r.Window.Used != 2 {
		t.Fatalf("third write: %+v, want Points with used 2", r)
	}
	if r.RetryAfter <= 0 || r.RetryAfter > 41*time.Second {
		t.Fatalf("retry after = %s, want the rest of the points window (about 40s)", r.RetryAfter)
	}
	if r := write("POST /b"); r.Verdict != ratelimit.Allowed {
		t.Fatalf("other endpoint: %+v", r)
	}
	c.Advance(r.RetryAfter)
	if r := write("POST /a"); r.Verdict != ratelimit.Allowed || r.Window.Used != 4 {
		t.Fatalf("after retry-after: %+v", r)
	}
}

func testParallel(t *testing.T, s ratelimit.Store, c *Clock) {
	p := ratelimit.UserPool(8)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 40 {
				r, err := s.Take(ctx, *core(p, 100))
				if err != nil {
					t.Error(err)
					return
				}
				if r.Verdict == ratelimit.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 100 {
		t.Fatalf("allowed %d of 320 parallel requests, want exactly the limit 100", got)
	}
	if got := peek(t, s, p)[ratelimit.Core].Used; got != 100 {
		t.Fatalf("used = %d, want 100", got)
	}
}

func newLimiter(s ratelimit.Store, edit func(*ratelimit.Config)) *ratelimit.Limiter {
	cfg := ratelimit.DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	return ratelimit.New(cfg, s, nil)
}

func admit(t *testing.T, l *ratelimit.Limiter, req ratelimit.Request) ratelimit.Decision {
	t.Helper()
	d, err := l.Admit(ctx, &req)
	if err != nil {
		t.Fatal(err)
	}
	if d.Verdict == ratelimit.Allowed {
		l.Finish(ctx, &d, false)
	}
	return d
}

func testLimiterSharedPool(t *testing.T, s ratelimit.Store, c *Clock) {
	l := newLimiter(s, func(c *ratelimit.Config) {
		c.Categories[ratelimit.Core].Authenticated = 3
		c.EnterpriseCloud.Enabled, c.EnterpriseCloud.Core = true, 5
	})
	pat := ratelimit.Request{Subject: ratelimit.Subject{Pool: ratelimit.UserPool(20)}, Counted: true}
	app := ratelimit.Request{Subject: ratelimit.Subject{Pool: ratelimit.UserPool(20), App: true}, Counted: true}
	admit(t, l, pat)
	admit(t, l, app)
	d := admit(t, l, pat)
	if d.Verdict != ratelimit.Allowed || d.Used != 3 || d.Remaining() != 0 || d.Limit != 3 {
		t.Fatalf("third request of the user: %+v, want used 3 of 3", d)
	}
	if d = admit(t, l, pat); d.Verdict != ratelimit.Primary {
		t.Fatalf("personal token after 3 requests: %+v, want Primary", d)
	}
	// The Enterprise Cloud app sees its own higher limit on the same pool.
	if d = admit(t, l, app); d.Verdict != ratelimit.Allowed || d.Used != 4 || d.Limit != 5 {
		t.Fatalf("app token: %+v, want used 4 of 5", d)
	}
}

func testLimiterInstallations(t *testing.T, s ratelimit.Store, c *Clock) {
	l := newLimiter(s, nil)
	small := ratelimit.Subject{Pool: ratelimit.InstallationPool(1), Repositories: 10}
	big := ratelimit.Subject{Pool: ratelimit.InstallationPool(2), Repositories: 50, Members: 40}
	huge := ratelimit.Subject{Pool: ratelimit.InstallationPool(3), Repositories: 1000}
	for _, tc := range []struct {
		s    ratelimit.Subject
		want int64
	}{{small, 5000}, {big, 5000 + 50*30 + 50*20}, {huge, 12500}} {
		if got := l.Limit(&tc.s, ratelimit.Core); got != tc.want {
			t.Errorf("core limit of %+v = %d, want %d", tc.s, got, tc.want)
		}
		if got := l.Limit(&tc.s, ratelimit.GraphQL); got != tc.want {
			t.Errorf("graphql limit of %+v = %d, want %d", tc.s, got, tc.want)
		}
	}
	ec := newLimiter(s, func(c *ratelimit.Config) { c.EnterpriseCloud.Enabled = true })
	if got := ec.Limit(&huge, ratelimit.Core); got != 15000 {
		t.Errorf("Enterprise Cloud installation core = %d, want 15000", got)
	}
	if got := ec.Limit(&small, ratelimit.GraphQL); got != 10000 {
		t.Errorf("Enterprise Cloud installation graphql = %d, want 10000", got)
	}
	a := admit(t, l, ratelimit.Request{Subject: small, Counted: true})
	b := admit(t, l, ratelimit.Request{Subject: big, Counted: true})
	if a.Used != 1 || b.Used != 1 {
		t.Fatalf("two installations share a pool: %+v %+v", a, b)
	}
}

func testLimiterMessages(t *testing.T, s ratelimit.Store, c *Clock) {
	l := newLimiter(s, func(c *ratelimit.Config) {
		c.Categories[ratelimit.Core].Authenticated = 1
		c.Categories[ratelimit.Core].Unauthenticated = 1
		c.Installation.Base, c.Installation.Max = 1, 1
	})
	for _, tc := range []struct {
		subj          ratelimit.Subject
		first, second string
	}{
		{ratelimit.Subject{Pool: ratelimit.UserPool(42)},
			"API rate limit exceeded for user ID 42.",
			"API rate limit already exceeded for user ID 42."},
		{ratelimit.Subject{Pool: ratelimit.InstallationPool(7)},
			"API rate limit exceeded for installation ID 7. If you reach out to GitHub Support for help, please include the request ID R1.",
			"API rate limit already exceeded for installation ID 7. If you reach out to GitHub Support for help, please include the request ID R1."},
		{ratelimit.Subject{Pool: ratelimit.IPPool(netip.MustParseAddr("198.51.100.7"))},
			"API rate limit exceeded for 198.51.100.7. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)",
			"API rate limit already exceeded for 198.51.100.7. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)"},
	} {
		req := ratelimit.Request{Subject: tc.subj, Counted: true}
		admit(t, l, req)
		d1, d2 := admit(t, l, req), admit(t, l, req)
		if d1.Verdict != ratelimit.Primary || d1.Remaining() != 0 || d1.Used != 1 {
			t.Fatalf("%v: %+v, want Primary with remaining 0, used 1", tc.subj.Pool, d1)
		}
		if got := d1.Message("R1"); got != tc.first {
			t.Errorf("first rejection message = %q, want %q", got, tc.first)
		}
		if got := d2.Message("R1"); got != tc.second {
			t.Errorf("later rejection message = %q, want %q", got, tc.second)
		}
		if d1.DocumentationURL() != ratelimit.PrimaryDocumentationURL {
			t.Errorf("documentation_url = %q", d1.DocumentationURL())
		}
		st, err := l.Status(ctx, &tc.subj)
		if err != nil {
			t.Fatal(err)
		}
		if st[ratelimit.Core].Reset != d1.Reset || st[ratelimit.Core].Used != 1 || st[ratelimit.Core].Remaining != 0 {
			t.Errorf("status core = %+v, want used 1, remaining 0, reset %d", st[ratelimit.Core], d1.Reset)
		}
	}
}

func testLimiterUncounted(t *testing.T, s ratelimit.Store, c *Clock) {
	l := newLimiter(s, func(c *ratelimit.Config) { c.Categories[ratelimit.Core].Authenticated = 1 })
	subj := ratelimit.Subject{Pool: ratelimit.UserPool(50)}
	admit(t, l, ratelimit.Request{Subject: subj, Counted: true})
	for range 3 {
		d := admit(t, l, ratelimit.Request{Subject: subj, Counted: false, Endpoint: "GET /rate_limit"})
		if d.Verdict != ratelimit.Allowed || d.Used != 1 || d.Remaining() != 0 {
			t.Fatalf("GET /rate_limit when exhausted: %+v, want allowed with used 1 remaining 0", d)
		}
	}
}

func testLimiterIP(t *testing.T, s ratelimit.Store, c *Clock) {
	l := newLimiter(s, nil)
	ip := ratelimit.Subject{Pool: ratelimit.IPPool(netip.MustParseAddr("203.0.113.9"))}
	d := admit(t, l, ratelimit.Request{Subject: ip, Counted: true})
	if d.Limit != 60 || d.Used != 1 {
		t.Fatalf("unauthenticated core: %+v, want used 1 of 60", d)
	}
	// A category unauthenticated callers may not use is neither counted nor refused here.
	d = admit(t, l, ratelimit.Request{Subject: ip, Resource: ratelimit.GraphQL, Counted: true})
	if d.Verdict != ratelimit.Allowed || d.Limit != 0 || d.Used != 0 {
		t.Fatalf("unauthenticated graphql: %+v", d)
	}
	st, err := l.Status(ctx, &ip)
	if err != nil {
		t.Fatal(err)
	}
	if st[ratelimit.Search].Limit != 10 || st[ratelimit.Core].Used != 1 {
		t.Fatalf("status: %+v", st)
	}
}

func testLimiterSecondary(t *testing.T, s ratelimit.Store, c *Clock) {
	l := newLimiter(s, func(c *ratelimit.Config) {
		c.Secondary.EndpointPoints = 10
		c.Secondary.MaxConcurrent = 1
	})
	subj := ratelimit.Subject{Pool: ratelimit.UserPool(60)}
	req := ratelimit.Request{Subject: subj, Counted: true, Endpoint: "POST /x", Write: true}
	held, err := l.Admit(ctx, &req)
	if err != nil || held.Verdict != ratelimit.Allowed {
		t.Fatalf("first: %+v %v", held, err)
	}
	d, _ := l.Admit(ctx, &req)
	if d.Verdict != ratelimit.Concurrency || d.RetryAfterSeconds() < 1 {
		t.Fatalf("while one request is in flight: %+v, want Concurrency with a retry-after", d)
	}
	if d.DocumentationURL() != ratelimit.SecondaryDocumentationURL ||
		d.Message("R2") != "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID R2." {
		t.Fatalf("secondary message %q, url %q", d.Message("R2"), d.DocumentationURL())
	}
	if d.Remaining() == 0 || d.Used != 1 {
		t.Fatalf("secondary rejection reports the primary window: %+v", d)
	}
	l.Finish(ctx, &held, false)
	admit(t, l, req)
	d = admit(t, l, req)
	if d.Verdict != ratelimit.Points || d.RetryAfterSeconds() < 1 || d.RetryAfterSeconds() > 61 {
		t.Fatalf("third write of 5 points with 10/min: %+v", d)
	}
	if st := l.Stats(); st.SecondaryRejections != 2 {
		t.Fatalf("stats: %+v", st)
	}
}

// A category other than core is counted in its own window, of its own
// length, and Status reports that window.
func testLimiterNonCoreWindows(t *testing.T, s ratelimit.Store, c *Clock) {
	l := newLimiter(s, nil)
	subj := ratelimit.Subject{Pool: ratelimit.UserPool(70)}
	for _, tc := range []struct {
		r      ratelimit.Resource
		limit  int64
		window time.Duration
	}{{ratelimit.Search, 30, time.Minute}, {ratelimit.CodeSearch, 10, time.Minute}, {ratelimit.GraphQL, 5000, time.Hour}} {
		want := ratelimit.NewWindowReset(c.Now(), tc.window)
		d := admit(t, l, ratelimit.Request{Subject: subj, Resource: tc.r, Counted: true, Endpoint: "GET /x"})
		if d.Verdict != ratelimit.Allowed || d.Resource != tc.r || d.Used != 1 || d.Limit != tc.limit || d.Reset != want {
			t.Fatalf("%s: %+v, want used 1 of %d, reset %d (a %s window)", tc.r, d, tc.limit, want, tc.window)
		}
		c.Advance(10 * time.Second)
		if d2 := admit(t, l, ratelimit.Request{Subject: subj, Resource: tc.r, Counted: true, Endpoint: "GET /x"}); d2.Used != 2 || d2.Reset != want {
			t.Fatalf("%s again: %+v, want used 2, reset %d", tc.r, d2, want)
		}
		st, err := l.Status(ctx, &subj)
		if err != nil {
			t.Fatal(err)
		}
		if got := st[tc.r]; got.Used != 2 || got.Reset != want || got.Limit != tc.limit || got.Remaining != tc.limit-2 {
			t.Fatalf("status %s = %+v, want used 2 of %d, reset %d", tc.r, got, tc.limit, want)
		}
		if got := st[ratelimit.Core]; got.Used != 0 {
			t.Fatalf("status core = %+v after %s requests, want unused", got, tc.r)
		}
	}
	// The search window ends after its minute; core would not have.
	c.Advance(time.Minute)
	if d := admit(t, l, ratelimit.Request{Subject: subj, Resource: ratelimit.Search, Counted: true, Endpoint: "GET /x"}); d.Used != 1 {
		t.Fatalf("search a minute later: %+v, want a new window", d)
	}
}

// Finishing an uncounted request (GET /rate_limit) answered 304 refunds
// nothing: it gives back no unit another request spent.
func testLimiterUncountedRefund(t *testing.T, s ratelimit.Store, c *Clock) {
	l := newLimiter(s, nil)
	subj := ratelimit.Subject{Pool: ratelimit.UserPool(71)}
	admit(t, l, ratelimit.Request{Subject: subj, Counted: true, Endpoint: "GET /user"})
	d, err := l.Admit(ctx, &ratelimit.Request{Subject: subj, Counted: false, Endpoint: "GET /rate_limit"})
	if err != nil || d.Verdict != ratelimit.Allowed {
		t.Fatalf("GET /rate_limit: %+v %v", d, err)
	}
	l.Finish(ctx, &d, true)
	st, err := l.Status(ctx, &subj)
	if err != nil {
		t.Fatal(err)
	}
	if st[ratelimit.Core].Used != 1 {
		t.Fatalf("core used %d after a refunded uncounted request, want 1", st[ratelimit.Core].Used)
	}
	// A counted one is refunded.
	d, _ = l.Admit(ctx, &ratelimit.Request{Subject: subj, Counted: true, Endpoint: "GET /user"})
	l.Finish(ctx, &d, true)
	if st, _ := l.Status(ctx, &subj); st[ratelimit.Core].Used != 1 {
		t.Fatalf("core used %d after a refunded counted request, want 1", st[ratelimit.Core].Used)
	}
}

// GraphQL points have their own window and limit, whatever the endpoint
// name the caller passes: REST points do not use them up, nor the reverse.
func testLimiterGraphQLPoints(t *testing.T, s ratelimit.Store, c *Clock) {
	l := newLimiter(s, func(c *ratelimit.Config) {
		c.Secondary.EndpointPoints = 2
		c.Secondary.GraphQLPoints = 10
	})
	subj := ratelimit.Subject{Pool: ratelimit.UserPool(72)}
	rest := ratelimit.Request{Subject: subj, Counted: true, Endpoint: "unmatched"}
	gql := ratelimit.Request{Subject: subj, Resource: ratelimit.GraphQL, Counted: true, Endpoint: "unmatched", Write: true}
	for i, want := range []ratelimit.Verdict{ratelimit.Allowed, ratelimit.Allowed, ratelimit.Points} {
		if d := admit(t, l, rest); d.Verdict != want {
			t.Fatalf("REST request %d: %+v, want verdict %d", i+1, d, want)
		}
	}
	for i, want := range []ratelimit.Verdict{ratelimit.Allowed, ratelimit.Allowed, ratelimit.Points} {
		if d := admit(t, l, gql); d.Verdict != want {
			t.Fatalf("GraphQL request %d (5 points of 10): %+v, want verdict %d", i+1, d, want)
		}
	}
	other := ratelimit.Request{Subject: subj, Counted: true, Endpoint: "GET /user"}
	if d := admit(t, l, other); d.Verdict != ratelimit.Allowed {
		t.Fatalf("another REST endpoint after GraphQL used its points: %+v", d)
	}
}

// The installation formula's terms are applied to their own counts: a
// per-repository rate to repositories, a per-user rate to members.
func testLimiterInstallationTerms(t *testing.T, s ratelimit.Store, c *Clock) {
	l := newLimiter(s, func(c *ratelimit.Config) {
		c.Installation = ratelimit.InstallationFormula{Base: 1000, PerRepository: 7, PerUser: 3, Free: 20, Max: 0}
	})
	subj := ratelimit.Subject{Pool: ratelimit.InstallationPool(73), Repositories: 30, Members: 25}
	want := int64(1000 + 7*10 + 3*5)
	d := admit(t, l, ratelimit.Request{Subject: subj, Counted: true})
	if d.Limit != want || l.Limit(&subj, ratelimit.GraphQL) != want {
		t.Fatalf("installation on 30 repositories of 25 members: limit %d (graphql %d), want %d",
			d.Limit, l.Limit(&subj, ratelimit.GraphQL), want)
	}
	if got := l.Limit(&subj, ratelimit.Search); got != 30 {
		t.Fatalf("installation search limit %d, want the flat 30", got)
	}
}

// An ingestion pipe is neither counted nor charged points, but holds a
// concurrency slot like any request.
func testLimiterPipes(t *testing.T, s ratelimit.Store, c *Clock) {
	l := newLimiter(s, func(c *ratelimit.Config) {
		c.Categories[ratelimit.Core].Authenticated = 1
		c.Secondary.EndpointPoints = 5
		c.Secondary.MaxConcurrent = 1
	})
	subj := ratelimit.Subject{Pool: ratelimit.UserPool(74)}
	pipe := ratelimit.Request{Subject: subj, Counted: true, Endpoint: "POST /ghusage/v1/ingest/api-requests", Write: true, Pipe: true}
	for i := range 3 {
		if d := admit(t, l, pipe); d.Verdict != ratelimit.Allowed || d.Used != 0 {
			t.Fatalf("pipe request %d: %+v, want allowed and not counted", i+1, d)
		}
	}
	held, err := l.Admit(ctx, &pipe)
	if err != nil || held.Verdict != ratelimit.Allowed {
		t.Fatalf("pipe: %+v %v", held, err)
	}
	if d, _ := l.Admit(ctx, &pipe); d.Verdict != ratelimit.Concurrency {
		t.Fatalf("a second pipe request in flight with a limit of 1: %+v, want Concurrency", d)
	}
	l.Finish(ctx, &held, false)
	if d := admit(t, l, ratelimit.Request{Subject: subj, Counted: true, Endpoint: "GET /user"}); d.Verdict != ratelimit.Allowed || d.Used != 1 {
		t.Fatalf("an API request after the pipe: %+v, want used 1 of 1", d)
	}
}
