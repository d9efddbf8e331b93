package insights

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// GateConfig bounds the list answers (subject-, user- and route-stats)
// computed at once. A list answer is the one insights answer whose cost
// grows with the data (the groups of its range, see Groups), so these are
// admitted by cost: each costs one slot while it runs.
type GateConfig struct {
	Slots      int           // list answers computed at once in the process
	PerCaller  int           // of which one caller (token, app or installation) may hold
	MaxWaiting int           // a caller's list requests waiting for a slot; more are refused at once
	Wait       time.Duration // the longest a request waits for a slot before it is refused
}

// DefaultGate leaves half the cores (at least one slot) to everything
// else, lets a caller compute one list answer at a time and queue eight
// more, and refuses a request that waited 10 seconds.
func DefaultGate() GateConfig {
	return GateConfig{Slots: max(1, runtime.GOMAXPROCS(0)/2), PerCaller: 1, MaxWaiting: 8, Wait: 10 * time.Second}
}

// Gate admits list answers: at most Slots at once, at most PerCaller of
// them for one caller, waiting in arrival order. A caller over its queue,
// or a request that waited too long, is refused as GitHub refuses a client
// over a secondary rate limit (429 with Retry-After), so one token cannot
// take the server's memory or cores from the others.
type Gate struct {
	cfg     GateConfig
	slots   chan struct{}
	mu      sync.Mutex
	callers map[callerKey]*gateCaller
}

type callerKey struct {
	typ usage.ActorType
	id  int64
}

type gateCaller struct {
	sem     chan struct{}
	pending int // holding or waiting
}

// NewGate returns a gate with cfg's bounds (each at least 1).
func NewGate(cfg GateConfig) *Gate {
	cfg.Slots, cfg.PerCaller = max(1, cfg.Slots), max(1, cfg.PerCaller)
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultGate().Wait
	}
	return &Gate{cfg: cfg, slots: make(chan struct{}, cfg.Slots), callers: map[callerKey]*gateCaller{}}
}

// errListBusy is the refusal of a list request the gate could not admit.
func errListBusy() error {
	return &usage.Error{Kind: usage.KindRateLimited, Status: 429, RetryAfter: 1,
		Message:          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
		DocumentationURL: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}
}

// Acquire waits for a slot for the caller of ctx (usage.ActorFrom) and
// returns the function that gives it back. A nil gate admits everything.
func (g *Gate) Acquire(ctx context.Context) (func(), error) {
	if g == nil {
		return func() {}, nil
	}
	var key callerKey
	if a := usage.ActorFrom(ctx); a != nil {
		key = callerKey{a.Type, a.ID}
	}
	g.mu.Lock()
	c := g.callers[key]
	if c == nil {
		c = &gateCaller{sem: make(chan struct{}, g.cfg.PerCaller)}
		g.callers[key] = c
	}
	if c.pending >= g.cfg.PerCaller+g.cfg.MaxWaiting {
		g.mu.Unlock()
		return nil, errListBusy()
	}
	c.pending++
	g.mu.Unlock()
	done := func() {
		g.mu.Lock()
		if c.pending--; c.pending == 0 {
			delete(g.callers, key)
		}
		g.mu.Unlock()
	}
	timer := time.NewTimer(g.cfg.Wait)
	defer timer.Stop()
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	case <-timer.C:
		done()
		return nil, errListBusy()
	}
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		<-c.sem
		done()
		return nil, ctx.Err()
	case <-timer.C:
		<-c.sem
		done()
		return nil, errListBusy()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-g.slots
			<-c.sem
			done()
		})
	}, nil
}
