package redis

import (
	"time"

	"github.com/ghusage/ghusage/internal/ratelimit"
)

// DefaultRejectCacheTTL is how long a replica refuses an exhausted window
// on its own, without asking Redis again.
const DefaultRejectCacheTTL = time.Second

// exhaustedKey names one primary window.
type exhaustedKey struct {
	pool     ratelimit.Pool
	resource ratelimit.Resource
}

// exhausted is what Redis last said about a window it refused.
type exhausted struct {
	window     ratelimit.Window
	rejections int64
	until      time.Time // local clock: trust the entry until then
}

// cachedRejection answers a counted charge from the local cache of
// exhausted windows: a client that keeps calling after exhausting its
// window costs this replica a map lookup, not a Redis round trip. Nothing
// refills a fixed window before its reset, so the answer stays right; the
// entry lives at most RejectCacheTTL (and ends a second before the window,
// so clock skew between this host and Redis cannot refuse a new window).
func (s *Store) cachedRejection(c *ratelimit.Charge) (ratelimit.Result, bool) {
	if s.rejectTTL <= 0 || c.Cost == 0 {
		return ratelimit.Result{}, false
	}
	k := exhaustedKey{c.Pool, c.Resource}
	now := s.localNow()
	s.exMu.Lock()
	defer s.exMu.Unlock()
	e, ok := s.ex[k]
	if !ok {
		return ratelimit.Result{}, false
	}
	if !now.Before(e.until) {
		delete(s.ex, k)
		return ratelimit.Result{}, false
	}
	if e.window.Used+c.Cost <= c.Limit { // a caller with a higher limit on the same pool
		return ratelimit.Result{}, false
	}
	e.rejections++
	s.ex[k] = e
	return ratelimit.Result{Verdict: ratelimit.Primary, Window: e.window, Rejections: e.rejections}, true
}

// rememberRejection records a primary rejection Redis made.
func (s *Store) rememberRejection(c *ratelimit.Charge, r ratelimit.Result) {
	if s.rejectTTL <= 0 {
		return
	}
	now := s.localNow()
	until := now.Add(s.rejectTTL)
	if end := time.Unix(r.Window.Reset, 0).Add(-time.Second); end.Before(until) {
		until = end
	}
	if !now.Before(until) {
		return
	}
	s.exMu.Lock()
	defer s.exMu.Unlock()
	if len(s.ex) >= 1<<16 { // bounded: drop what has expired, or everything
		for k, e := range s.ex {
			if !now.Before(e.until) {
				delete(s.ex, k)
			}
		}
		if len(s.ex) >= 1<<16 {
			clear(s.ex)
		}
	}
	s.ex[exhaustedKey{c.Pool, c.Resource}] = exhausted{window: r.Window, rejections: r.Rejections, until: until}
}

// forgetRejection drops a cached rejection after a refund freed a unit.
func (s *Store) forgetRejection(p ratelimit.Pool, r ratelimit.Resource) {
	if s.rejectTTL <= 0 {
		return
	}
	s.exMu.Lock()
	delete(s.ex, exhaustedKey{p, r})
	s.exMu.Unlock()
}

func (s *Store) localNow() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}
