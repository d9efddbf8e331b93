// Package metrics is a small Prometheus text-format registry: counters with
// labels and the HTTP request histogram. It exists so adapters can count
// events (a Redis failure, a flushed batch) without a metrics dependency.
package metrics

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Registry holds every metric ghusage exports. The zero value is not
// usable; call New.
type Registry struct {
	mu       sync.Mutex
	counters map[string]*Counter // by name + rendered labels
	help     map[string]string
	requests map[requestKey]*requestStats
	funcs    map[string]counterFunc // counters read from their owner at scrape time
	fast     sync.Map               // requestKey → *requestStats, read without the lock on the hot path
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{counters: map[string]*Counter{}, help: map[string]string{}, requests: map[requestKey]*requestStats{},
		funcs: map[string]counterFunc{}}
}

// Counter is a monotonically increasing value.
type Counter struct {
	name, labels string
	v            atomic.Int64
}

// Add adds n to the counter.
func (c *Counter) Add(n int64) { c.v.Add(n) }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Value is the current count.
func (c *Counter) Value() int64 { return c.v.Load() }

// Counter returns the counter name with the given label pairs
// ("key", "value", ...), creating it on first use. A nil registry returns
// a counter that is counted but not exported.
func (r *Registry) Counter(name, help string, labelPairs ...string) *Counter {
	if r == nil {
		return &Counter{}
	}
	var b strings.Builder
	for i := 0; i+1 < len(labelPairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", labelPairs[i], labelPairs[i+1])
	}
	key := name + "{" + b.String() + "}"
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.counters[key]; ok {
		return c
	}
	c := &Counter{name: name, labels: b.String()}
	r.counters[key] = c
	r.help[name] = help
	return c
}

type counterFunc struct {
	help  string
	value func() int64
}

// CounterFunc exports a counter its owner keeps, read at each scrape, for
// packages that count without depending on this one.
func (r *Registry) CounterFunc(name, help string, value func() int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.funcs[name] = counterFunc{help, value}
}

// latency histogram buckets, in seconds.
var buckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

type requestKey struct {
	method, route string
	status        int
}

type requestStats struct {
	count   atomic.Int64
	sumNano atomic.Int64
	buckets [13]atomic.Int64 // len(buckets)
}

// ObserveRequest counts one HTTP request by route pattern and status and
// records its latency.
func (r *Registry) ObserveRequest(method, route string, status int, d time.Duration) {
	k := requestKey{method, route, status}
	v, ok := r.fast.Load(k)
	if !ok {
		r.mu.Lock()
		s, ok := r.requests[k]
		if !ok {
			s = &requestStats{}
			r.requests[k] = s
		}
		r.mu.Unlock()
		v, _ = r.fast.LoadOrStore(k, s)
	}
	s := v.(*requestStats)
	s.count.Add(1)
	s.sumNano.Add(int64(d))
	// One bucket is counted here; the exposition sums them into
	// Prometheus' cumulative buckets.
	sec := d.Seconds()
	for i, b := range buckets {
		if sec <= b {
			s.buckets[i].Add(1)
			break
		}
	}
}

// ServeHTTP writes every metric in Prometheus' text exposition format.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	r.mu.Lock()
	keys := make([]requestKey, 0, len(r.requests))
	for k := range r.requests {
		keys = append(keys, k)
	}
	ckeys := make([]string, 0, len(r.counters))
	for k := range r.counters {
		ckeys = append(ckeys, k)
	}
	r.mu.Unlock()
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.route != b.route {
			return a.route < b.route
		}
		if a.method != b.method {
			return a.method < b.method
		}
		return a.status < b.status
	})
	sort.Strings(ckeys)
	var b strings.Builder
	b.WriteString("# HELP ghusage_http_requests_total HTTP requests by method, route pattern and status.\n# TYPE ghusage_http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "ghusage_http_requests_total{method=%q,route=%q,status=\"%d\"} %d\n", k.method, k.route, k.status, r.stats(k).count.Load())
	}
	b.WriteString("# HELP ghusage_http_request_duration_seconds HTTP request latency by method and route pattern.\n# TYPE ghusage_http_request_duration_seconds histogram\n")
	for _, k := range keys {
		s := r.stats(k)
		l := fmt.Sprintf("method=%q,route=%q,status=\"%d\"", k.method, k.route, k.status)
		var cumulative int64
		for i, ub := range buckets {
			cumulative += s.buckets[i].Load()
			fmt.Fprintf(&b, "ghusage_http_request_duration_seconds_bucket{%s,le=\"%s\"} %d\n", l, strconv.FormatFloat(ub, 'g', -1, 64), cumulative)
		}
		fmt.Fprintf(&b, "ghusage_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", l, s.count.Load())
		fmt.Fprintf(&b, "ghusage_http_request_duration_seconds_sum{%s} %g\n", l, float64(s.sumNano.Load())/1e9)
		fmt.Fprintf(&b, "ghusage_http_request_duration_seconds_count{%s} %d\n", l, s.count.Load())
	}
	lastName := ""
	for _, key := range ckeys {
		r.mu.Lock()
		c := r.counters[key]
		help := r.help[c.name]
		r.mu.Unlock()
		if c.name != lastName {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", c.name, help, c.name)
			lastName = c.name
		}
		if c.labels == "" {
			fmt.Fprintf(&b, "%s %d\n", c.name, c.v.Load())
		} else {
			fmt.Fprintf(&b, "%s{%s} %d\n", c.name, c.labels, c.v.Load())
		}
	}
	r.mu.Lock()
	names := make([]string, 0, len(r.funcs))
	for n := range r.funcs {
		names = append(names, n)
	}
	funcs := r.funcs
	r.mu.Unlock()
	sort.Strings(names)
	for _, n := range names {
		f := funcs[n]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", n, f.help, n, n, f.value())
	}
	w.Write([]byte(b.String()))
}

func (r *Registry) stats(k requestKey) *requestStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[k]
}
