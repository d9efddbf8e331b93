// Package redis keeps rate-limit counters in Redis, so any number of
// ghusage replicas share one set of pools. Each decision is one atomic Lua
// script that reads the time from Redis (TIME), so replicas' clocks do not
// matter. Every key of a pool carries the pool as a hash tag, so a script
// touches one slot and works on Redis Cluster.
package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ghusage/ghusage/internal/metrics"
	"github.com/ghusage/ghusage/internal/ratelimit"
)

// DefaultPrefix starts every key ghusage writes.
const DefaultPrefix = "ghusage:rl:"

// Options configures a Store.
type Options struct {
	// Prefix starts every key; DefaultPrefix when empty. It must not
	// contain '{' or '}'.
	Prefix string
	// Now replaces Redis' clock. Tests only: production stores leave it nil
	// so that every decision uses Redis TIME.
	Now func() time.Time
	// Errors counts failed Redis calls; may be nil.
	Errors *metrics.Counter
	// RejectCacheTTL bounds how long a replica refuses an exhausted window
	// by itself (exhausted.go); 0 means DefaultRejectCacheTTL, negative
	// turns the cache off.
	RejectCacheTTL time.Duration
}

// Store is a ratelimit.Store on Redis or Redis Cluster.
type Store struct {
	c      goredis.UniversalClient
	prefix string
	now    func() time.Time
	errs   *metrics.Counter
	node   string // distinguishes this process' concurrency slots
	seq    atomic.Uint64

	mu    sync.Mutex // guards the group-commit queue (batch.go)
	queue []*call
	busy  bool

	rejectTTL time.Duration
	exMu      sync.Mutex // guards ex (exhausted.go)
	ex        map[exhaustedKey]exhausted
}

var _ ratelimit.Store = (*Store)(nil)

// New returns a Store using c.
func New(c goredis.UniversalClient, opt Options) (*Store, error) {
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(opt.Prefix, "{}") {
		return nil, fmt.Errorf("redis key prefix %q must not contain braces", opt.Prefix)
	}
	var b [6]byte
	rand.Read(b[:])
	if opt.RejectCacheTTL == 0 {
		opt.RejectCacheTTL = DefaultRejectCacheTTL
	}
	return &Store{c: c, prefix: opt.Prefix, now: opt.Now, errs: opt.Errors, node: hex.EncodeToString(b[:]),
		rejectTTL: opt.RejectCacheTTL, ex: make(map[exhaustedKey]exhausted)}, nil
}

// Connect opens a client for url: redis://[user:pass@]host:port/db or
// rediss:// for TLS; with cluster set, the URL names one node and further
// nodes are given as addr=host:port query parameters. Timeouts are short
// (100 ms reads and writes unless the URL says otherwise) so an outage turns
// into a fast fail-open or fail-closed decision, not a stalled request.
func Connect(url string, cluster bool) (goredis.UniversalClient, error) {
	withDefaults := func(u string) string {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		for _, kv := range []string{"dial_timeout=250ms", "read_timeout=100ms", "write_timeout=100ms", "max_retries=1"} {
			k, _, _ := strings.Cut(kv, "=")
			if !strings.Contains(u, k+"=") {
				u += sep + kv
				sep = "&"
			}
		}
		return u
	}
	if cluster {
		o, err := goredis.ParseClusterURL(withDefaults(url))
		if err != nil {
			return nil, fmt.Errorf("redis cluster URL: %w", err)
		}
		o.DialerRetries = 1 // one dial per attempt: an outage must not stall requests
		return goredis.NewClusterClient(o), nil
	}
	o, err := goredis.ParseURL(withDefaults(url))
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	o.DialerRetries = 1 // one dial per attempt: an outage must not stall requests
	return goredis.NewClient(o), nil
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.c.Ping(ctx).Err() }

// Client is the underlying client.
func (s *Store) Client() goredis.UniversalClient { return s.c }

// key names: <prefix>{<pool>}:<suffix>. The braces are the hash tag.
func (s *Store) key(p ratelimit.Pool, suffix string) string {
	return s.prefix + "{" + p.String() + "}:" + suffix
}

func (s *Store) nowArg() string {
	if s.now == nil {
		return ""
	}
	return strconv.FormatFloat(float64(s.now().UnixMicro())/1e6, 'f', 6, 64)
}

func (s *Store) slotID(seq uint64) string { return s.node + ":" + strconv.FormatUint(seq, 10) }

func (s *Store) failed(err error) error {
	if s.errs != nil {
		s.errs.Inc()
	}
	return fmt.Errorf("redis: %w", err)
}

// takeScript decides one request: primary window, endpoint points,
// concurrency slot, in that order; a rejection charges nothing.
// KEYS: primary hash, points hash, concurrency sorted set.
// ARGV: cost, limit, window s, points, points limit, points window s,
// max concurrent, slot id, slot TTL ms, now ("" for Redis TIME).
// Returns {verdict, used, reset, rejections, retry-after ms}.
var takeScript = goredis.NewScript(`
local now
if ARGV[10] ~= '' then now = tonumber(ARGV[10]) else
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local sec = math.floor(now)
local cost, limit, win = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'u', 'r', 'x')
local used, reset, rej = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0
if sec >= reset then used, reset, rej = 0, math.ceil(now) + win, 0 end
if cost > 0 and used + cost > limit then
  rej = rej + 1
  redis.call('HSET', KEYS[1], 'u', used, 'r', reset, 'x', rej)
  redis.call('EXPIRE', KEYS[1], reset - sec + 60)
  return {1, used, reset, rej, 0}
end
local pts, plim = tonumber(ARGV[4]), tonumber(ARGV[5])
local pu, pr = 0, 0
if pts > 0 and plim > 0 then
  local p = redis.call('HMGET', KEYS[2], 'u', 'r')
  pu, pr = tonumber(p[1]) or 0, tonumber(p[2]) or 0
  if sec >= pr then pu, pr = 0, math.ceil(now) + tonumber(ARGV[6]) end
  if pu + pts > plim then return {3, used, reset, rej, math.ceil((pr - now) * 1000)} end
end
local maxc = tonumber(ARGV[7])
if maxc > 0 then
  local ms = math.floor(now * 1000)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ms)
  if redis.call('ZCARD', KEYS[3]) >= maxc then return {2, used, reset, rej, 0} end
  local ttl = tonumber(ARGV[9])
  redis.call('ZADD', KEYS[3], ms + ttl, ARGV[8])
  redis.call('PEXPIRE', KEYS[3], ttl)
end
if cost > 0 then
  used = used + cost
  redis.call('HSET', KEYS[1], 'u', used, 'r', reset, 'x', rej)
  redis.call('EXPIRE', KEYS[1], reset - sec + 60)
end
if pts > 0 and plim > 0 then
  redis.call('HSET', KEYS[2], 'u', pu + pts, 'r', pr)
  redis.call('EXPIRE', KEYS[2], pr - sec + 60)
end
return {0, used, reset, rej, 0}
`)

// finishScript refunds units to the window they were charged in, if it is
// still the stored one, and releases a concurrency slot.
// KEYS: primary hash, concurrency set. ARGV: refund, reset, slot id ("" none).
var finishScript = goredis.NewScript(`
local refund = tonumber(ARGV[1])
if refund > 0 and tonumber(redis.call('HGET', KEYS[1], 'r')) == tonumber(ARGV[2]) then
  local u = tonumber(redis.call('HGET', KEYS[1], 'u')) or 0
  redis.call('HSET', KEYS[1], 'u', math.max(0, u - refund))
end
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[2], ARGV[3]) end
return 0
`)

// peekScript reads every category of a pool in one consistent step.
// KEYS: the primary hashes. ARGV: their windows in seconds, then now.
// Returns used and reset for each key; idle windows report the reset they
// would have.
var peekScript = goredis.NewScript(`
local now
local n = #KEYS
if ARGV[n + 1] ~= '' then now = tonumber(ARGV[n + 1]) else
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local sec = math.floor(now)
local out = {}
for i = 1, n do
  local v = redis.call('HMGET', KEYS[i], 'u', 'r')
  local used, reset = tonumber(v[1]) or 0, tonumber(v[2]) or 0
  if sec >= reset then used, reset = 0, math.ceil(now) + tonumber(ARGV[i]) end
  out[2 * i - 1] = used
  out[2 * i] = reset
end
return out
`)

// Take implements ratelimit.Store with one script call, or none for a
// window this replica saw exhausted within the last RejectCacheTTL.
func (s *Store) Take(ctx context.Context, c ratelimit.Charge) (ratelimit.Result, error) {
	if r, ok := s.cachedRejection(&c); ok {
		return r, nil
	}
	var slot uint64
	slotArg := ""
	if c.MaxConcurrent > 0 {
		slot = s.seq.Add(1)
		slotArg = s.slotID(slot)
	}
	ttl := c.SlotTTL
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	keys := []string{s.key(c.Pool, c.Resource.String()), s.key(c.Pool, "p:"+c.Endpoint), s.key(c.Pool, "c")}
	v, err := s.run(takeScript, keys,
		c.Cost, c.Limit, int64(c.Window/time.Second),
		c.Points, c.PointsLimit, int64(c.PointsWindow/time.Second),
		c.MaxConcurrent, slotArg, ttl.Milliseconds(), s.nowArg()).Int64Slice()
	if err != nil {
		return ratelimit.Result{}, s.failed(err)
	}
	if len(v) != 5 {
		return ratelimit.Result{}, s.failed(fmt.Errorf("take script returned %d values", len(v)))
	}
	r := ratelimit.Result{
		Verdict:    ratelimit.Verdict(v[0]),
		Window:     ratelimit.Window{Used: v[1], Reset: v[2]},
		Rejections: v[3],
		RetryAfter: time.Duration(v[4]) * time.Millisecond,
	}
	switch r.Verdict {
	case ratelimit.Allowed:
		r.Slot = slot
		if c.Cost > 0 { // a caller with a higher limit moved the window on
			s.forgetRejection(c.Pool, c.Resource)
		}
	case ratelimit.Primary:
		s.rememberRejection(&c, r)
	}
	return r, nil
}

// Finish implements ratelimit.Store.
func (s *Store) Finish(ctx context.Context, t ratelimit.Ticket) error {
	if t.Slot == 0 && t.Refund == 0 {
		return nil
	}
	if t.Refund > 0 {
		s.forgetRejection(t.Pool, t.Resource)
	}
	slotArg := ""
	if t.Slot != 0 {
		slotArg = s.slotID(t.Slot)
	}
	keys := []string{s.key(t.Pool, t.Resource.String()), s.key(t.Pool, "c")}
	if err := s.run(finishScript, keys, t.Refund, t.Reset, slotArg).Err(); err != nil && !errors.Is(err, goredis.Nil) {
		return s.failed(err)
	}
	return nil
}

// Peek implements ratelimit.Store with one script call.
func (s *Store) Peek(ctx context.Context, p ratelimit.Pool, windows *[ratelimit.NumResources]time.Duration) ([ratelimit.NumResources]ratelimit.Window, error) {
	var out [ratelimit.NumResources]ratelimit.Window
	keys := make([]string, ratelimit.NumResources)
	args := make([]any, ratelimit.NumResources+1)
	for i := range keys {
		keys[i] = s.key(p, ratelimit.Resource(i).String())
		args[i] = int64(windows[i] / time.Second)
	}
	args[ratelimit.NumResources] = s.nowArg()
	v, err := s.run(peekScript, keys, args...).Int64Slice()
	if err != nil {
		return out, s.failed(err)
	}
	if len(v) != 2*ratelimit.NumResources {
		return out, s.failed(fmt.Errorf("peek script returned %d values", len(v)))
	}
	for i := range out {
		out[i] = ratelimit.Window{Used: v[2*i], Reset: v[2*i+1]}
	}
	return out, nil
}
