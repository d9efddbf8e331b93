package httpapi

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/usage"
)

// rateLimitNotEnabledURL is the documentation_url of the GHES-mode 404.
const rateLimitNotEnabledURL = "https://docs.github.com/rest/rate-limit/rate-limit#get-rate-limit-status-for-the-authenticated-user"

// admit decides whether a request may proceed under the rate limits and
// sets the x-ratelimit-* headers. When admitted is set, the caller must
// pass d to Limiter.Finish once the response is known.
//
// Every API request comes here, including unknown routes and requests that
// will be answered 401: those count against the caller's IP address, as
// unauthenticated requests do on GitHub. GET /rate_limit never counts
// against the primary limit. An authenticated request answered 304 is
// refunded by Finish.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, rt *Route, actor *usage.Actor, authErr error,
	info *requestInfo) (d ratelimit.Decision, admitted bool, err error) {
	l := s.Limiter
	if !l.Enabled() {
		return d, false, nil
	}
	req := ratelimit.Request{
		Subject:  s.rateSubject(r, actor, authErr),
		Resource: ratelimit.Classify(r.Method, r.URL.Path),
		Counted:  !isRateLimitRoute(rt),
		Endpoint: "unmatched",
		Write:    r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions,
	}
	// An ingestion pipe is not a GitHub API request (doc/rate-limits.md):
	// authenticated, it is neither counted nor charged points.
	req.Pipe = authErr == nil && actor.Authenticated() && isPipeRoute(rt)
	switch rt.Method {
	case "":
	case http.MethodGet:
		req.Endpoint = rt.Pattern // the common case, without allocating
	default:
		req.Endpoint = rt.name // "METHOD pattern", built once at registration
	}
	d, err = l.Admit(r.Context(), &req)
	if err != nil {
		s.Metrics.Counter("ghusage_ratelimit_store_failures_total",
			"Requests decided without the rate-limit store, by outcome.", "outcome", "refused").Inc()
		return d, false, &usage.Error{Kind: usage.KindUnavailable,
			Message: "Rate limiting is temporarily unavailable. Please try again later.", Err: err}
	}
	if d.Degraded {
		// Failing open: the counters are unknown, so no headers are sent.
		s.Metrics.Counter("ghusage_ratelimit_store_failures_total",
			"Requests decided without the rate-limit store, by outcome.", "outcome", "admitted").Inc()
		return d, false, nil
	}
	setRateLimitHeaders(w.Header(), &d, exchangeOf(w))
	if d.Verdict != ratelimit.Allowed {
		kind := "primary"
		e := &usage.Error{Kind: usage.KindRateLimited, Message: d.Message(w.Header().Get("X-GitHub-Request-Id")),
			DocumentationURL: d.DocumentationURL()}
		if d.Verdict.Secondary() {
			kind = "secondary"
			e.RetryAfter = int(d.RetryAfterSeconds())
		}
		s.Metrics.Counter("ghusage_ratelimit_rejections_total", "Requests refused by a rate limit.",
			"limit", kind, "resource", d.Resource.String()).Inc()
		return d, false, e
	}
	info.refundOn304 = authErr == nil && actor.Authenticated() && req.Counted && !req.Pipe
	return d, true, nil
}

// pipePrefix is where ghusage's ingestion routes live, for every kind
// (POST /ghusage/v1/ingest/<kind>).
const pipePrefix = "/ghusage/v1/ingest/"

func isPipeRoute(rt *Route) bool { return strings.HasPrefix(rt.Pattern, pipePrefix) }

func isRateLimitRoute(rt *Route) bool {
	return rt.Method == http.MethodGet && rt.Pattern == "/rate_limit"
}

// setRateLimitHeaders sets the five x-ratelimit-* headers from d. In the
// pipeline (ex not nil) the exchange backs the values and the numbers'
// bytes, so the five headers allocate nothing; otherwise the four numbers
// are one string, sliced, and the five values share one slice.
func setRateLimitHeaders(h http.Header, d *ratelimit.Decision, ex *exchange) {
	var nums string
	var ends [4]int
	var v []string
	if ex != nil && !ex.numsUsed {
		ex.numsUsed = true
		b := appendRateLimitNumbers(ex.text[requestIDLen:requestIDLen], d, &ends)
		nums = textString(b) // written once, here: see exchange.text
		v = ex.vals[valRateLimit : valRateLimit+5]
	} else {
		var buf [rateLimitText]byte
		nums = string(appendRateLimitNumbers(buf[:0], d, &ends))
		v = make([]string, 5)
	}
	v[0], v[1], v[2], v[3] = nums[:ends[0]], nums[ends[0]:ends[1]], nums[ends[1]:ends[2]], nums[ends[2]:ends[3]]
	v[4] = d.Resource.String()
	h["X-Ratelimit-Limit"] = v[0:1:1]
	h["X-Ratelimit-Remaining"] = v[1:2:2]
	h["X-Ratelimit-Used"] = v[2:3:3]
	h["X-Ratelimit-Reset"] = v[3:4:4]
	h["X-Ratelimit-Resource"] = v[4:5:5]
}

// appendRateLimitNumbers appends d's limit, remaining, used and reset to b
// (at most rateLimitText bytes, so within b's capacity when it has that
// much room) and records where each ends.
func appendRateLimitNumbers(b []byte, d *ratelimit.Decision, ends *[4]int) []byte {
	for i, n := range [4]int64{d.Limit, d.Remaining(), min(d.Used, max(d.Limit, 0)), d.Reset} {
		b = strconv.AppendInt(b, n, 10)
		ends[i] = len(b)
	}
	return b
}

// rateSubject is who a request counts against: the user for every token
// acting for a user, the installation for installation tokens, and the IP
// address for unauthenticated requests and bad credentials.
func (s *Server) rateSubject(r *http.Request, actor *usage.Actor, authErr error) ratelimit.Subject {
	if authErr == nil {
		if subj, ok := RateSubject(actor); ok {
			return subj
		}
	}
	return ratelimit.Subject{Pool: ratelimit.IPPool(clientIP(r, s.Limiter.TrustedProxies()))}
}

// RateSubject is the pool an authenticated actor's requests count
// against: the user for every token acting for a user, the installation
// for installation tokens. ok is false for actors counted by IP address.
// The dashboard shows the same pool.
func RateSubject(actor *usage.Actor) (subj ratelimit.Subject, ok bool) {
	if !actor.Authenticated() {
		return subj, false
	}
	switch {
	case actor.Type == usage.ActorInstallation:
		id := actor.Token.InstallationID
		var repos, members int64
		if actor.Installation != nil {
			id = actor.Installation.ID
			repos = int64(actor.Installation.Repositories)
			members = int64(actor.Installation.Members)
		}
		return ratelimit.Subject{Pool: ratelimit.InstallationPool(id), Repositories: repos, Members: members}, true
	case actor.User != nil:
		return ratelimit.Subject{Pool: ratelimit.UserPool(actor.User.ID),
			App: actor.Type == usage.ActorOAuthApp || actor.Type == usage.ActorUserToServer}, true
	}
	return subj, false
}

// clientIP is the peer address, or the address a trusted proxy reports in
// X-Forwarded-For: the right-most entry that is not itself a trusted proxy.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	addr := ap.Addr()
	if err != nil {
		addr, _ = netip.ParseAddr(r.RemoteAddr)
	}
	addr = addr.Unmap()
	if len(trusted) == 0 || !isTrusted(addr, trusted) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = a.Unmap()
		if !isTrusted(addr, trusted) {
			break
		}
	}
	return addr
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// rateLimitOrder is the order of resources in GET /rate_limit: GitHub's
// documentation example, then the categories it leaves out.
var rateLimitOrder = [ratelimit.NumResources]ratelimit.Resource{
	ratelimit.Core, ratelimit.Search, ratelimit.GraphQL, ratelimit.IntegrationManifest, ratelimit.SourceImport,
	ratelimit.CodeScanningUpload, ratelimit.CodeScanningAutofix, ratelimit.ActionsRunnerRegistration, ratelimit.SCIM,
	ratelimit.DependencySnapshots, ratelimit.DependencySBOM, ratelimit.CodeSearch, ratelimit.AuditLog,
	ratelimit.AuditLogStreaming,
}

// appendCounter appends c as {"limit":…,"used":…,"remaining":…,"reset":…}.
func appendCounter(b []byte, c ratelimit.Counter) []byte {
	b = append(b, `{"limit":`...)
	b = appendInt(b, c.Limit)
	b = append(b, `,"used":`...)
	b = appendInt(b, c.Used)
	b = append(b, `,"remaining":`...)
	b = appendInt(b, c.Remaining)
	b = append(b, `,"reset":`...)
	b = appendInt(b, c.Reset)
	return append(b, '}')
}

// digitPairs is "00" to "99", for appendInt.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

// appendInt is strconv.AppendInt(b, v, 10) for the non-negative numbers
// of GET /rate_limit, two digits at a time in one call: strconv's layers
// were most of the handler's time (60 numbers per body).
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return strconv.AppendInt(b, v, 10)
	}
	var buf [20]byte
	i := len(buf)
	u := uint64(v)
	for u >= 100 {
		q := u / 100
		r := 2 * (u - q*100)
		i -= 2
		buf[i], buf[i+1] = digitPairs[r], digitPairs[r+1]
		u = q
	}
	if u >= 10 {
		i -= 2
		buf[i], buf[i+1] = digitPairs[2*u], digitPairs[2*u+1]
	} else {
		i--
		buf[i] = byte('0' + u)
	}
	return append(b, buf[i:]...)
}

// rateLimitBodies remembers recent GET /rate_limit bodies. A body is a
// function of the fourteen counters alone, and a pool polled several
// times a second sees the same counters until one of its windows moves (a
// category nobody used reports the reset a window started now would have,
// which moves every second), so a poll whose counters match the slot's
// last body sends it and its ETag again instead of formatting sixty
// numbers and hashing the result. Slots are chosen by pool; each has its
// own lock (held while the body is copied out, about a hundred
// nanoseconds) and its own buffer, so a miss reuses memory instead of
// allocating.
type rateLimitBodies struct {
	slots [64]rateLimitSlot
}

type rateLimitSlot struct {
	mu       sync.Mutex
	valid    bool
	counters [ratelimit.NumResources]ratelimit.Counter
	body     []byte // the body of counters; rewritten in place under mu
	etag     string // weakETag(body)
	_        [32]byte
}

// jsonContentType is the Content-Type of JSON bodies; net/http only reads it.
var jsonContentType = []string{"application/json; charset=utf-8"}

// handleRateLimit is GET /rate_limit: the caller's pools in every category.
// It never counts against the primary limit and answers when exhausted.
func (s *Server) handleRateLimit(w http.ResponseWriter, r *http.Request) error {
	l := s.Limiter
	if !l.Enabled() {
		return &usage.Error{Kind: usage.KindNotFound, Message: "Rate limiting is not enabled.", DocumentationURL: rateLimitNotEnabledURL}
	}
	subj := s.rateSubject(r, usage.ActorFrom(r.Context()), nil)
	c, err := l.Status(r.Context(), &subj)
	if err != nil {
		return &usage.Error{Kind: usage.KindUnavailable, Message: "Rate limiting is temporarily unavailable. Please try again later.", Err: err}
	}
	for i := range c {
		c[i].Used = min(c[i].Used, c[i].Limit)
	}
	slot := &s.rateLimitBodies.slots[subj.Pool.Hash()%uint64(len(s.rateLimitBodies.slots))]
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if !slot.valid || slot.counters != c {
		slot.body = appendRateLimitBody(slot.body[:0], &c)
		slot.etag = weakETag(slot.body)
		slot.counters, slot.valid = c, true
	}
	w.Header()["Content-Type"] = jsonContentType
	setETag(w, slot.etag)
	w.WriteHeader(http.StatusOK)
	// Copied, under the slot's lock: the buffer is rewritten by the next
	// miss. In the pipeline w is serve's buffer, so this never waits on
	// the network.
	w.Write(slot.body)
	return nil
}

// appendRateLimitBody appends GET /rate_limit's body for c:
// {"resources":{…},"rate":{…}}, "rate" a copy of resources.core. Written
// by hand: this is the hottest read endpoint, and reflection would be
// most of its cost.
func appendRateLimitBody(b []byte, c *[ratelimit.NumResources]ratelimit.Counter) []byte {
	b = append(b, `{"resources":{`...)
	for i, r := range rateLimitOrder {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, r.String()...)
		b = append(b, `":`...)
		b = appendCounter(b, c[r])
	}
	b = append(b, `},"rate":`...)
	b = appendCounter(b, c[ratelimit.Core])
	return append(b, "}\n"...)
}
