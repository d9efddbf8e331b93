package ratelimit

import (
	"context"
	"net/netip"
	"strconv"
	"time"
)

// PoolKind is what a pool of requests is counted against.
type PoolKind uint8

const (
	PoolIP           PoolKind = iota + 1 // unauthenticated requests, by IP address
	PoolUser                             // every token acting for one user
	PoolInstallation                     // one GitHub App installation
)

// Pool identifies one set of counters: a user, an installation or an IP
// address. It is comparable and allocation-free.
type Pool struct {
	Kind PoolKind
	ID   int64      // user or installation id
	Addr netip.Addr // for PoolIP
}

// UserPool is the pool shared by all of a user's tokens.
func UserPool(userID int64) Pool { return Pool{Kind: PoolUser, ID: userID} }

// InstallationPool is the pool of one App installation.
func InstallationPool(id int64) Pool { return Pool{Kind: PoolInstallation, ID: id} }

// IPPool is the pool of unauthenticated requests from addr.
func IPPool(addr netip.Addr) Pool { return Pool{Kind: PoolIP, Addr: addr.Unmap()} }

// Hash is a well-mixed hash of the pool, for spreading pools over shards
// or slots in process (it is not stable across versions; never store it).
func (p Pool) Hash() uint64 {
	h := uint64(p.ID)*0x9E3779B97F4A7C15 ^ uint64(p.Kind)
	if p.Kind == PoolIP {
		b := p.Addr.As16()
		for _, c := range b {
			h = (h ^ uint64(c)) * 0x100000001B3
		}
	}
	return h ^ h>>29
}

// String is a stable name for the pool, used in store keys: "user:42",
// "installation:7", "ip:192.0.2.1".
func (p Pool) String() string {
	switch p.Kind {
	case PoolUser:
		return "user:" + strconv.FormatInt(p.ID, 10)
	case PoolInstallation:
		return "installation:" + strconv.FormatInt(p.ID, 10)
	case PoolIP:
		return "ip:" + p.Addr.String()
	}
	return "none"
}

// Window is the state of one fixed window.
type Window struct {
	Used  int64 // units counted in the window
	Reset int64 // end of the window, Unix seconds
}

// Charge asks a Store for one decision. The Store applies it atomically:
// either every counter below is charged or none is.
type Charge struct {
	Pool     Pool
	Resource Resource
	Cost     int64 // primary units to count; 0 checks nothing and counts nothing
	Limit    int64
	Window   time.Duration

	// Secondary limits; zero values disable each check.
	Endpoint      string // points bucket within the pool
	Points        int64
	PointsLimit   int64
	PointsWindow  time.Duration
	MaxConcurrent int64
	SlotTTL       time.Duration // shared stores: a slot not released by then is presumed leaked
}

// Verdict is the outcome of a Charge.
type Verdict uint8

const (
	Allowed     Verdict = iota
	Primary             // the primary window is exhausted
	Concurrency         // too many concurrent requests in the pool
	Points              // too many points on this endpoint in the points window
)

// Secondary reports whether v is a secondary-limit rejection.
func (v Verdict) Secondary() bool { return v == Concurrency || v == Points }

// Result is a Store's answer to a Charge.
type Result struct {
	Verdict Verdict
	// Window is the primary window after the charge. A window that was not
	// charged and has not started reports Used 0 and the Reset it would have.
	Window Window
	// Rejections counts primary rejections in this window, this one included.
	Rejections int64
	// RetryAfter is set for secondary rejections.
	RetryAfter time.Duration
	// Slot identifies the concurrency slot taken; 0 when none.
	Slot uint64
}

// Ticket is what a Store needs to finish an admitted request.
type Ticket struct {
	Pool     Pool
	Resource Resource
	Reset    int64  // the window the request was charged in
	Refund   int64  // units to give back if that window is still open
	Slot     uint64 // concurrency slot to release; 0: none
}

// Store keeps counters. Every method is safe for concurrent use; each call
// is one atomic operation (one round trip for a remote store).
type Store interface {
	// Take applies c and reports the outcome. Rejected charges change no
	// counter except the rejection count.
	Take(ctx context.Context, c Charge) (Result, error)
	// Finish releases t's concurrency slot and refunds its units.
	Finish(ctx context.Context, t Ticket) error
	// Peek reads every category's window of p without counting; windows
	// gives each category's length, for windows that have not started.
	Peek(ctx context.Context, p Pool, windows *[NumResources]time.Duration) ([NumResources]Window, error)
}

// NewWindowReset is the end of a window of length w starting at now: the
// window is extended to a whole second so Reset is exact in epoch seconds.
func NewWindowReset(now time.Time, w time.Duration) int64 {
	s := now.Unix()
	if now.Nanosecond() > 0 {
		s++
	}
	return s + int64(w/time.Second)
}
