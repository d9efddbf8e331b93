package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/ghusage/ghusage/internal/usage"
)

// handlerFunc is the shape of every API handler: it writes a response or
// returns an error that the pipeline renders as GitHub's error body.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route describes a registered API route.
type Route struct {
	Method  string // "" for the catch-all
	Pattern string // the mux path pattern, e.g. /orgs/{org}/insights/api/summary-stats
	// APIRoute is the route template as GitHub's API insights writes it,
	// e.g. /orgs/:org/insights/api/summary-stats; "" for the catch-all.
	APIRoute string
	// MaxBodyBytes overrides Server.MaxBodyBytes when positive.
	MaxBodyBytes int64

	name string // "METHOD pattern", for logs and metrics; "" for the catch-all
}

var errNotFound = usage.ErrNotFound

// API versions GitHub accepts here; the first is the default.
var apiVersions = []string{"2022-11-28", "2026-03-10"}

// exposedHeaders are the response headers browsers may read, as GitHub sends them.
const exposedHeaders = "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, " +
	"X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, " +
	"X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset"

// Shared values of constant headers; net/http only reads them.
var (
	allowOriginValue    = []string{"*"}
	exposedHeadersValue = []string{exposedHeaders}
	nosniffValue        = []string{"nosniff"}
	defaultVersionValue = []string{apiVersions[0]}
	defaultMediaType    = []string{"github.v3; format=json"}
)

// mediaTypeHeader is mediaType as a header value, without allocating for
// the common Accept headers.
func mediaTypeHeader(accept string) []string {
	switch accept {
	case "", "*/*", "application/json", "application/vnd.github+json", "application/vnd.github.v3+json":
		return defaultMediaType
	}
	return []string{mediaType(accept)}
}

// requestInfo is filled in as a request moves through the pipeline, for
// the access log and metrics.
type requestInfo struct {
	id     string
	route  string
	actor  *usage.Actor
	public *url.URL // Server.PublicURL parsed, nil when unset (pagination.go)
	// refundOn304 is set by admit when the limiter counted this request
	// and refunds it if it is answered 304 Not Modified.
	refundOn304 bool
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	if i, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

// reqContext is the context of a request in the pipeline: it carries the
// request info and, once the request is authenticated, its actor, in the
// exchange itself, so the pipeline neither allocates a context.WithValue
// layer per value nor copies the request a second time for the actor.
// It is only set up, and the actor set, on the request's own goroutine
// before the handler runs.
type reqContext struct {
	context.Context
	info  *requestInfo
	actor *usage.Actor // nil until authenticated: ActorFrom then asks the parent
}

func (c *reqContext) Value(key any) any {
	if _, ok := key.(infoKey); ok {
		return c.info
	}
	if c.actor != nil && usage.IsActorKey(key) {
		return c.actor
	}
	return c.Context.Value(key)
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// exchange is what the pipeline keeps for one request, in one allocation:
// the status writer, the request info, and the backing arrays of the
// header values the pipeline sets (net/http only reads them, and writes
// them before the exchange can be collected).
type exchange struct {
	statusWriter
	info requestInfo
	// vals backs X-GitHub-Request-Id, the five x-ratelimit-* headers,
	// the ETag and X-OAuth-Scopes, in that order.
	vals [8]string
	ctx  reqContext
	// text holds the bytes of the request id and of the four x-ratelimit-*
	// numbers, so neither is a separate allocation. Each part is written
	// once, before the string over it is made (textString), and never
	// again: an exchange is never reused, so those strings are as
	// immutable as any other for as long as anything refers to them.
	text     [requestIDLen + rateLimitText]byte
	numsUsed bool // text's rate-limit part is taken
}

// rateLimitText is room for four int64 numbers in decimal.
const rateLimitText = 4 * 20

// textString is the string over b, a part of an exchange's text that is
// never written again (see exchange.text).
func textString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

const (
	valRequestID = 0
	valRateLimit = 1 // five values
	valETag      = 6
	valScopes    = 7
)

// exchangeOf returns the request's exchange when w is the pipeline's own
// writer, or nil (a handler tested on its own).
func exchangeOf(w http.ResponseWriter) *exchange {
	ex, _ := w.(*exchange)
	return ex
}

// common wraps every request: request id, GitHub's standard headers, CORS,
// API-version negotiation, panic recovery, the access log and metrics.
func (s *Server) common(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ex := &exchange{statusWriter: statusWriter{ResponseWriter: w}}
		info := &ex.info
		id := (*[requestIDLen]byte)(ex.text[:requestIDLen])
		putRequestID(id)
		info.id = textString(id[:])
		info.public = s.publicURL
		ex.ctx = reqContext{Context: r.Context(), info: info}
		r = r.WithContext(&ex.ctx)
		h := w.Header()
		// Keys are written in canonical form and constant values share
		// one slice: this runs on every request.
		ex.vals[valRequestID] = info.id
		h["X-Github-Request-Id"] = ex.vals[valRequestID : valRequestID+1 : valRequestID+1]
		h["X-Github-Media-Type"] = mediaTypeHeader(headerValue(r.Header, "Accept"))
		h["Access-Control-Allow-Origin"] = allowOriginValue
		h["Access-Control-Expose-Headers"] = exposedHeadersValue
		h["X-Content-Type-Options"] = nosniffValue
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Logger.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()), "request_id", info.id)
				if ex.status == 0 {
					s.writeError(ex, r, fmt.Errorf("panic: %v", p))
				}
			}
			elapsed := time.Since(start)
			route := info.route
			if route == "" {
				route = "other"
			}
			s.Metrics.ObserveRequest(metricMethod(r.Method), route, ex.status, elapsed)
			if !s.Logger.Enabled(r.Context(), slog.LevelInfo) {
				return
			}
			attrs := []slog.Attr{
				slog.String("request_id", info.id), slog.String("method", r.Method),
				slog.String("route", route), slog.Int("status", ex.status),
				slog.Duration("latency", elapsed),
			}
			if a := info.actor; a.Authenticated() {
				attrs = append(attrs, slog.String("actor_type", string(a.Type)), slog.Int64("actor_id", a.ID))
			}
			s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		}()

		// Read by its canonical key: Get("X-GitHub-Api-Version") would
		// canonicalize (and allocate) on every request.
		version := headerValue(r.Header, "X-Github-Api-Version")
		if version == "" {
			version = apiVersions[0]
		}
		if !slices.Contains(apiVersions, version) {
			h.Set("X-GitHub-Api-Version-Selected", apiVersions[0])
			s.writeError(ex, r, usage.Errorf(usage.KindBadRequest,
				"API version %s is not supported. Supported versions: %s.", version, strings.Join(apiVersions, ", ")))
			return
		}
		if version == apiVersions[0] {
			h["X-Github-Api-Version-Selected"] = defaultVersionValue
		} else {
			h.Set("X-GitHub-Api-Version-Selected", version)
		}
		if !isCleanPath(r.URL.Path) {
			// ServeMux would answer an HTML redirect; GitHub answers 404.
			s.writeError(ex, r, errNotFound)
			return
		}
		if len(r.URL.RawQuery) > maxQueryBytes {
			s.writeError(ex, r, errURITooLong)
			return
		}
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since, Accept-Encoding, X-GitHub-OTP, X-Requested-With, User-Agent, X-GitHub-Api-Version")
			h.Set("Access-Control-Max-Age", "86400")
			ex.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(ex, r)
	})
}

// headerValue is h.Get(key) for a key already in canonical form: Get
// canonicalizes its argument on every call, and these run on every request.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// isCleanPath reports whether p has no empty, "." or ".." segments.
func isCleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	return !strings.Contains(p, "//") && !strings.Contains(p, "/./") && !strings.Contains(p, "/../") &&
		!strings.HasSuffix(p, "/.") && !strings.HasSuffix(p, "/..")
}

// metricMethod bounds the method label: any client can send any method,
// and each distinct label is a new series.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// mediaType answers X-GitHub-Media-Type for an Accept header, e.g.
// "github.v3; format=json" or "github.v3; param=raw; format=json".
func mediaType(accept string) string {
	for _, part := range strings.Split(accept, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		rest, ok := strings.CutPrefix(mt, "application/vnd.github")
		if !ok {
			continue
		}
		format := "json"
		if i := strings.LastIndexByte(rest, '+'); i >= 0 {
			format, rest = rest[i+1:], rest[:i]
		}
		fields := strings.Split(strings.TrimPrefix(rest, "."), ".")
		version, param := "v3", ""
		if len(fields) > 0 && fields[0] != "" {
			version = fields[0]
		}
		if len(fields) > 1 {
			param = fields[1]
		}
		if param != "" {
			return fmt.Sprintf("github.%s; param=%s; format=%s", version, param, format)
		}
		return fmt.Sprintf("github.%s; format=%s", version, format)
	}
	return "github.v3; format=json"
}

// newRequestID returns an id shaped like GitHub's (XXXX:XXXX:XXXXXX:XXXXXX).
// It only needs to be unique enough to find a request in the logs, so it
// comes from the fast runtime generator, not crypto/rand.
func newRequestID() string {
	var b [requestIDLen]byte
	putRequestID(&b)
	return string(b[:])
}

// requestIDLen is the length of a request id.
const requestIDLen = 23

// putRequestID writes a new request id (newRequestID) into b.
func putRequestID(b *[requestIDLen]byte) {
	const hexDigits = "0123456789ABCDEF"
	v, w := rand.Uint64(), rand.Uint64()
	// Groups of 4, 4, 6 and 6 digits: v gives the first 16, w the last 4.
	for i := range 4 {
		b[i] = hexDigits[v>>(4*i)&0xF]
		b[5+i] = hexDigits[v>>(4*(4+i))&0xF]
	}
	for i := range 6 {
		b[10+i] = hexDigits[v>>(4*(8+i))&0xF]
	}
	for i := range 2 {
		b[17+i] = hexDigits[v>>(4*(14+i))&0xF]
	}
	for i := range 4 {
		b[19+i] = hexDigits[w>>(4*i)&0xF]
	}
	b[4], b[9], b[16] = ':', ':', ':'
}

// handle registers an API route: pattern is "METHOD /path" or "/" for the catch-all.
func (s *Server) handle(mux *http.ServeMux, pattern string, h handlerFunc) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	s.handleRoute(mux, &Route{Method: method, Pattern: path}, h)
}

// handleRoute registers rt; its APIRoute is derived from the pattern.
func (s *Server) handleRoute(mux *http.ServeMux, rt *Route, h handlerFunc) {
	if rt.Pattern != "/" {
		rt.APIRoute = githubRoute(rt.Pattern)
	}
	pattern := rt.Pattern
	if rt.Method != "" {
		pattern = rt.Method + " " + rt.Pattern
	}
	mux.Handle(pattern, s.api(rt, h))
}

// githubRoute turns a mux pattern into GitHub's route template:
// /orgs/{org}/x → /orgs/:org/x.
func githubRoute(pattern string) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '{':
			b.WriteByte(':')
		case '}':
		case '.':
			if strings.HasPrefix(pattern[i:], "...}") {
				i += 2
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// api is the pipeline of an API request: authenticate, rate limit, run the
// handler (with ETag/If-None-Match for GETs), then meter the request.
func (s *Server) api(rt *Route, h handlerFunc) http.Handler {
	if rt.APIRoute != "" && rt.name == "" {
		rt.name = rt.Method + " " + rt.Pattern // once, before any request reads it
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeOf(w)
		var info *requestInfo
		if ex != nil {
			info = &ex.info
		} else {
			info = infoFrom(r.Context())
		}
		if rt.APIRoute != "" {
			info.route = rt.name
		}
		if r.Body != http.NoBody { // a request without a body has nothing to limit
			limit := s.MaxBodyBytes
			if rt.MaxBodyBytes > 0 {
				limit = rt.MaxBodyBytes
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}

		now := s.Now() // once: the token's check and the metered event's time
		actor, scopes, authErr := s.authenticate(r, now)
		info.actor = actor
		if ex != nil && r.Context() == context.Context(&ex.ctx) {
			ex.ctx.actor = actor // r already carries ex.ctx: no second copy of the request
		} else {
			r = r.WithContext(usage.WithActor(r.Context(), actor))
		}
		if actor.Authenticated() && (actor.Type == usage.ActorClassicPAT || actor.Type == usage.ActorOAuthApp) {
			// By canonical key: Set("X-OAuth-Scopes") canonicalizes, and
			// allocates, on every request of a classic or OAuth token.
			if ex != nil {
				ex.vals[valScopes] = scopes
				w.Header()["X-Oauth-Scopes"] = ex.vals[valScopes : valScopes+1 : valScopes+1]
			} else {
				w.Header()["X-Oauth-Scopes"] = []string{scopes}
			}
		}

		d, admitted, err := s.admit(w, r, rt, actor, authErr, info)
		if err != nil {
			status := s.writeError(w, r, err)
			// A 503 from an unreachable rate-limit store is not a rate limit.
			s.meter(r, rt, actor, now, status, usage.ErrorKind(err) == usage.KindRateLimited)
			return
		}
		status := http.StatusInternalServerError // what a panicking handler is answered
		if admitted {
			// Deferred, so a panicking handler still releases what admit
			// took. Not the request's context: a slot must be released
			// even when the client has gone away.
			defer func() {
				// Only a revalidation admit marked as refundable (counted,
				// authenticated, not If-None-Match: *) is refunded.
				s.Limiter.Finish(context.Background(), &d, info.refundOn304 && status == http.StatusNotModified)
			}()
		}
		status = s.serve(w, r, h, authErr, info)
		s.meter(r, rt, actor, now, status, false)
	})
}

// serve runs h, buffering GET responses to compute their ETag and answer
// 304 Not Modified to a matching If-None-Match. It returns the status sent.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, h handlerFunc, authErr error, info *requestInfo) int {
	if authErr != nil {
		return s.writeError(w, r, authErr)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		sw := &statusWriter{ResponseWriter: w}
		if err := h(sw, r); err != nil {
			s.writeError(sw, r, err)
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		return sw.status
	}
	// GET and HEAD: the handler writes into a buffer with headers of its
	// own, so an error after a Link or ETag was set sends none of them.
	bw := bufferedWriters.Get().(*bufferedWriter)
	clear(bw.header)
	bw.status = 0
	bw.etag = ""
	bw.body = nil
	bw.buf.Reset()
	defer func() {
		bw.body = nil
		if bw.buf.Cap() <= 64<<10 { // keep small buffers only
			bufferedWriters.Put(bw)
		}
	}()
	if err := h(bw, r); err != nil {
		return s.writeError(w, r, err)
	}
	if bw.status == 0 {
		bw.status = http.StatusOK
	}
	hdr := w.Header()
	if ct, ok := bw.header["Content-Type"]; ok && len(bw.header) == 1 {
		hdr["Content-Type"] = ct // most answers: a lookup instead of a map iteration
	} else {
		for k, v := range bw.header {
			hdr[k] = v
		}
	}
	if bw.status == http.StatusOK {
		etag := bw.etag
		if etag == "" {
			etag = weakETag(bw.buf.Bytes())
		}
		if ex := exchangeOf(w); ex != nil {
			ex.vals[valETag] = etag
			hdr["Etag"] = ex.vals[valETag : valETag+1 : valETag+1]
		} else {
			hdr["Etag"] = []string{etag}
		}
		if match, star := etagMatches(headerValue(r.Header, "If-None-Match"), etag); match {
			hdr.Del("Content-Type")
			hdr.Del("Content-Length")
			if star {
				// "*" names no representation the client holds: the 304
				// (RFC 9110 §13.1.2) is not a revalidation, and counts.
				info.refundOn304 = false
			}
			if info.refundOn304 {
				refundRateLimitHeaders(hdr)
			}
			w.WriteHeader(http.StatusNotModified)
			return http.StatusNotModified
		}
	}
	if bw.body != nil { // handed over by writeBody (billing_cache.go)
		hdr["Content-Length"] = []string{strconv.Itoa(partsLen(bw.body))}
		w.WriteHeader(bw.status)
		if r.Method != http.MethodHead {
			for _, p := range bw.body {
				w.Write(p)
			}
		}
		return bw.status
	}
	w.WriteHeader(bw.status)
	if r.Method != http.MethodHead {
		w.Write(bw.buf.Bytes())
	}
	return bw.status
}

// crc32c is the Castagnoli table, computed with SSE4.2/ARMv8 CRC
// instructions where the CPU has them.
var crc32c = crc32.MakeTable(crc32.Castagnoli)

// weakETag is W/"<16 hex digits>": two CRC-32s of the body (Castagnoli and
// IEEE, both hardware-assisted). A weak ETag only has to change when the
// body does. Each CRC detects every single burst of changed bits up to 32
// bits long; changes in several places (a count and a remaining count)
// collide with a probability of about 2^-64 for the pair. It is the same
// on every replica and across restarts. It is not a cryptographic digest:
// bodies are written by the server, and a client comparing tags learns
// nothing it was not sent.
func weakETag(body []byte) string {
	return weakETagOf(crc32.Update(0, crc32c, body), crc32.ChecksumIEEE(body))
}

// partsLen is the length of a body sent as parts.
func partsLen(parts [][]byte) int {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	return n
}

// weakETagOf is weakETag of a body whose CRC-32s (Castagnoli, IEEE) are c and i.
func weakETagOf(c, i uint32) string {
	var b [3 + 16 + 1]byte
	copy(b[:], `W/"`)
	v := uint64(c)<<32 | uint64(i)
	const hexDigits = "0123456789abcdef"
	for k := range 16 {
		b[3+k] = hexDigits[v>>(60-4*k)&0xF]
	}
	b[19] = '"'
	return string(b[:])
}

// refundRateLimitHeaders shows the request as not counted: a 304 to an
// authenticated request is refunded by the limiter once it is answered.
func refundRateLimitHeaders(h http.Header) {
	used, err1 := strconv.ParseInt(h.Get("X-Ratelimit-Used"), 10, 64)
	remaining, err2 := strconv.ParseInt(h.Get("X-Ratelimit-Remaining"), 10, 64)
	if err1 != nil || err2 != nil || used < 1 {
		return
	}
	h["X-Ratelimit-Used"] = []string{strconv.FormatInt(used-1, 10)}
	h["X-Ratelimit-Remaining"] = []string{strconv.FormatInt(remaining+1, 10)}
}

// etagMatches compares If-None-Match, a list of tags or "*", with etag by
// the weak comparison, as GitHub does. star is set when the match is "*"
// alone, which names no representation.
func etagMatches(header, etag string) (match, star bool) {
	if header == "" {
		return false, false
	}
	want := strings.TrimPrefix(etag, "W/")
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if strings.TrimPrefix(t, "W/") == want {
			return true, false
		}
		star = star || t == "*"
	}
	return star, star
}

var bufferedWriters = sync.Pool{New: func() any { return &bufferedWriter{header: make(http.Header)} }}

// bufferedWriter holds a response until the handler returns.
type bufferedWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
	etag   string   // set by setETag; "" computes weakETag of buf
	body   [][]byte // set by writeBody: the whole body (its parts in order) instead of buf
}

// setETag tells serve the weak ETag of the 200 body the handler writes,
// which it then need not hash again: etag must be weakETag of exactly the
// bytes written. Outside serve's buffer (a handler tested on its own) it
// does nothing.
func setETag(w http.ResponseWriter, etag string) {
	if bw, ok := w.(*bufferedWriter); ok {
		bw.etag = etag
	}
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.body != nil { // a handed-over body, then more: into buf, in order
		for _, p := range b.body {
			b.buf.Write(p)
		}
		b.body, b.etag = nil, ""
	}
	return b.buf.Write(p)
}
