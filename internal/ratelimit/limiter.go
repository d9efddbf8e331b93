package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"
)

// Documentation links GitHub sends with rate-limit errors. go-github
// recognises a secondary limit by the suffix "secondary-rate-limits".
const (
	PrimaryDocumentationURL   = "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
	SecondaryDocumentationURL = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// graphQLEndpoint names GraphQL's points window within a pool; REST
// endpoints are named "METHOD /pattern" or "unmatched", never this.
const graphQLEndpoint = "graphql"

// ErrUnavailable is returned by Admit and Status when the Store cannot be
// reached and the Limiter fails closed.
var ErrUnavailable = errors.New("rate limit store unavailable")

// Subject is who a request is counted against, with what it needs to
// compute its limits.
type Subject struct {
	Pool Pool
	// App is set for OAuth app and GitHub App user-to-server tokens: under
	// Enterprise Cloud they get the flat limits while draining the user pool.
	App bool
	// Repositories and Members feed the installation formula.
	Repositories int64
	Members      int64
}

// Request describes one request to Admit.
type Request struct {
	Subject  Subject
	Resource Resource
	// Counted is false for requests that never count against the primary
	// limit (GET /rate_limit); they still count against secondary limits.
	Counted bool
	// Endpoint names the endpoint for the per-endpoint points limit, such
	// as "GET /orgs/{org}/insights/api/summary-stats".
	Endpoint string
	Write    bool // POST, PATCH, PUT, DELETE cost more secondary points
	// Pipe marks an authenticated request to one of ghusage's ingestion
	// routes: not a GitHub API request, so it neither counts against the
	// primary limit nor costs points; only the concurrency limit applies
	// (it bounds the request bodies a pool has in flight).
	Pipe bool
}

// Decision is the Limiter's answer for one request.
type Decision struct {
	Verdict  Verdict
	Pool     Pool
	Resource Resource
	Limit    int64
	Used     int64
	Reset    int64 // Unix seconds
	// AlreadyExceeded is set on primary rejections after the first one in
	// a window; GitHub then says "already exceeded".
	AlreadyExceeded bool
	RetryAfter      time.Duration // secondary rejections
	// Degraded is set when the store was unreachable and the request was
	// admitted by fail-open: the counters are unknown.
	Degraded bool
	ticket   Ticket
}

// Remaining is what is left in the window, never negative.
func (d *Decision) Remaining() int64 { return max(0, d.Limit-d.Used) }

// RetryAfterSeconds is the retry-after header value: whole seconds, at least 1.
func (d *Decision) RetryAfterSeconds() int64 {
	s := int64((d.RetryAfter + time.Second - 1) / time.Second)
	return max(1, s)
}

// Message is GitHub's error message for a rejection. requestID, when set,
// is quoted as GitHub does for installations and secondary limits.
func (d *Decision) Message(requestID string) string {
	support := ""
	if requestID != "" {
		support = " If you reach out to GitHub Support for help, please include the request ID " + requestID + "."
	}
	if d.Verdict.Secondary() {
		return "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." + support
	}
	exceeded := "API rate limit exceeded for "
	if d.AlreadyExceeded {
		exceeded = "API rate limit already exceeded for "
	}
	switch d.Pool.Kind {
	case PoolUser:
		return exceeded + "user ID " + strconv.FormatInt(d.Pool.ID, 10) + "."
	case PoolInstallation:
		return exceeded + "installation ID " + strconv.FormatInt(d.Pool.ID, 10) + "." + support
	}
	return exceeded + d.Pool.Addr.String() + ". (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)"
}

// DocumentationURL is the documentation_url of a rejection.
func (d *Decision) DocumentationURL() string {
	if d.Verdict.Secondary() {
		return SecondaryDocumentationURL
	}
	return PrimaryDocumentationURL
}

// Counter is one category as GET /rate_limit reports it.
type Counter struct {
	Limit     int64 `json:"limit"`
	Used      int64 `json:"used"`
	Remaining int64 `json:"remaining"`
	Reset     int64 `json:"reset"`
}

// Stats are the Limiter's counters, for metrics.
type Stats struct {
	PrimaryRejections   int64 // requests refused by a primary limit
	SecondaryRejections int64 // requests refused by a secondary limit
	StoreErrors         int64 // store calls that failed
	FailedOpen          int64 // requests admitted unchecked because the store failed
	FailedClosed        int64 // requests refused because the store failed
}

// Limiter applies a Config to a Store.
type Limiter struct {
	cfg     Config
	store   Store
	log     *slog.Logger
	windows [NumResources]time.Duration

	storeDown                                 atomic.Bool
	primary, secondary, errs, opened, closedN atomic.Int64
}

// New returns a Limiter. cfg must be valid (see Config.Validate).
func New(cfg Config, store Store, log *slog.Logger) *Limiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Limiter{cfg: cfg, store: store, log: log}
	for i, c := range cfg.Categories {
		l.windows[i] = c.Window
	}
	return l
}

// Ping reports whether the counter store answers, for readiness: a store
// with a Ping method (Redis) is asked; one without (in process) always
// answers.
func (l *Limiter) Ping(ctx context.Context) error {
	if l == nil || l.store == nil {
		return nil
	}
	if p, ok := l.store.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return nil
}

// Enabled reports whether rate limiting is on (off in the GHES mode).
func (l *Limiter) Enabled() bool { return l != nil && !l.cfg.Disabled }

// Config returns the Limiter's configuration.
func (l *Limiter) Config() Config { return l.cfg }

// TrustedProxies returns the proxies whose X-Forwarded-For is believed.
func (l *Limiter) TrustedProxies() []netip.Prefix { return l.cfg.TrustedProxies }

// Limit returns s's limit in category r.
func (l *Limiter) Limit(s *Subject, r Resource) int64 {
	cat := &l.cfg.Categories[r]
	switch s.Pool.Kind {
	case PoolIP:
		return cat.Unauthenticated
	case PoolInstallation:
		if r == Core || r == GraphQL {
			if ec := &l.cfg.EnterpriseCloud; ec.Enabled {
				if r == Core {
					return ec.Core
				}
				return ec.GraphQL
			}
			return l.cfg.Installation.Limit(s.Repositories, s.Members)
		}
	case PoolUser:
		if ec := &l.cfg.EnterpriseCloud; ec.Enabled && s.App {
			switch r {
			case Core:
				return ec.Core
			case GraphQL:
				return ec.GraphQL
			}
		}
	}
	return cat.Authenticated
}

// Admit decides one request. A Primary or secondary Verdict means the
// request must be refused; otherwise Finish must be called once the response
// is known. The error is ErrUnavailable when the store failed and the
// Limiter fails closed.
func (l *Limiter) Admit(ctx context.Context, req *Request) (Decision, error) {
	limit := l.Limit(&req.Subject, req.Resource)
	c := Charge{
		Pool:     req.Subject.Pool,
		Resource: req.Resource,
		Limit:    limit,
		Window:   l.windows[req.Resource],
	}
	if req.Counted && !req.Pipe && limit > 0 {
		c.Cost = 1
	}
	sec := &l.cfg.Secondary
	if req.Subject.Pool.Kind != PoolIP && !req.Pipe {
		pts, endpoint := sec.EndpointPoints, req.Endpoint
		if req.Resource == GraphQL {
			// GraphQL has one points window of its own, whatever route
			// served it: REST points never use it up, nor the reverse.
			pts, endpoint = sec.GraphQLPoints, graphQLEndpoint
		}
		if pts > 0 && sec.Window > 0 {
			c.Endpoint, c.PointsLimit, c.PointsWindow = endpoint, pts, sec.Window
			c.Points = sec.ReadCost
			if req.Write {
				c.Points = sec.WriteCost
			}
		}
	}
	if req.Subject.Pool.Kind != PoolIP {
		c.MaxConcurrent, c.SlotTTL = sec.MaxConcurrent, sec.SlotTTL
	}
	res, err := l.store.Take(ctx, c)
	if err != nil {
		return l.storeFailed(err, &c)
	}
	l.storeUp()
	d := Decision{
		Verdict:  res.Verdict,
		Pool:     c.Pool,
		Resource: c.Resource,
		Limit:    limit,
		Used:     res.Window.Used,
		Reset:    res.Window.Reset,
	}
	switch res.Verdict {
	case Allowed:
		d.ticket = Ticket{Pool: c.Pool, Resource: c.Resource, Reset: res.Window.Reset, Refund: c.Cost, Slot: res.Slot}
	case Primary:
		l.primary.Add(1)
		d.AlreadyExceeded = res.Rejections > 1
	case Concurrency:
		l.secondary.Add(1)
		d.RetryAfter = sec.ConcurrencyRetryAfter
	case Points:
		l.secondary.Add(1)
		d.RetryAfter = res.RetryAfter
	}
	return d, nil
}

// Finish ends an admitted request: it releases its concurrency slot and,
// when refund is set (an authenticated 304), gives back its unit if the
// window it was charged in is still open.
func (l *Limiter) Finish(_ context.Context, d *Decision, refund bool) {
	t := d.ticket
	if !refund {
		t.Refund = 0
	}
	if t.Slot == 0 && t.Refund == 0 {
		return
	}
	// Not the request's context: a slot must be released even when the
	// client has gone away.
	if err := l.store.Finish(context.Background(), t); err != nil {
		l.errs.Add(1)
		l.log.Warn("rate limit: finishing a request failed", "pool", t.Pool.String(), "err", err)
	}
}

// Status reads every category of s's pool without counting.
func (l *Limiter) Status(ctx context.Context, s *Subject) ([NumResources]Counter, error) {
	var out [NumResources]Counter
	ws, err := l.store.Peek(ctx, s.Pool, &l.windows)
	if err != nil {
		l.errs.Add(1)
		l.noteDown(err)
		return out, ErrUnavailable
	}
	l.storeUp()
	for i, w := range ws {
		lim := l.Limit(s, Resource(i))
		out[i] = Counter{Limit: lim, Used: w.Used, Remaining: max(0, lim-w.Used), Reset: w.Reset}
	}
	return out, nil
}

// Stats returns the Limiter's counters.
func (l *Limiter) Stats() Stats {
	return Stats{
		PrimaryRejections:   l.primary.Load(),
		SecondaryRejections: l.secondary.Load(),
		StoreErrors:         l.errs.Load(),
		FailedOpen:          l.opened.Load(),
		FailedClosed:        l.closedN.Load(),
	}
}

func (l *Limiter) storeFailed(err error, c *Charge) (Decision, error) {
	l.errs.Add(1)
	l.noteDown(err)
	if l.cfg.FailOpen {
		l.opened.Add(1)
		return Decision{Verdict: Allowed, Pool: c.Pool, Resource: c.Resource, Limit: c.Limit, Degraded: true}, nil
	}
	l.closedN.Add(1)
	return Decision{}, ErrUnavailable
}

// noteDown logs once when the store starts failing.
func (l *Limiter) noteDown(err error) {
	if l.storeDown.CompareAndSwap(false, true) {
		mode := "closed: requests are refused with 503"
		if l.cfg.FailOpen {
			mode = "open: requests are admitted without rate limiting"
		}
		l.log.Error("rate limit store unreachable; failing "+mode, "err", err)
	}
}

// storeUp logs once when the store answers again.
func (l *Limiter) storeUp() {
	if l.storeDown.Load() && l.storeDown.CompareAndSwap(true, false) {
		l.log.Info("rate limit store reachable again")
	}
}
