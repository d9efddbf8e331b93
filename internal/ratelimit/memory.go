package ratelimit

import (
	"context"
	"sync"
	"time"
)

const (
	memShards = 64 // a power of two
	// sweepEvery is how many pools a shard creates between sweeps of its
	// expired pools, so memory stays bounded without a goroutine.
	sweepEvery = 1024
)

// Memory is the in-process Store: pools are spread over sharded maps, each
// with its own mutex, so decisions for different pools rarely contend.
type Memory struct {
	now    func() time.Time
	shards [memShards]memShard
}

type memShard struct {
	mu    sync.Mutex
	pools map[Pool]*memPool
	adds  int
	slots uint64   // last concurrency slot id handed out in this shard
	_     [32]byte // keep shards on separate cache lines
}

type memWindow struct {
	Window
	rejections int64
}

type memPool struct {
	win    [NumResources]memWindow
	points map[string]*Window
	// inflight holds the concurrency slots taken and not released. A slot
	// expires after the charge's SlotTTL, so a request that never finished
	// (a panic) cannot lock its pool out for good.
	inflight []memSlot
}

type memSlot struct {
	id      uint64
	expires int64 // Unix nanoseconds
}

// NewMemory returns an empty in-process store reading the time from now.
func NewMemory(now func() time.Time) *Memory {
	m := &Memory{now: now}
	for i := range m.shards {
		m.shards[i].pools = make(map[Pool]*memPool)
	}
	return m
}

func (m *Memory) shard(p Pool) *memShard {
	return &m.shards[p.Hash()&(memShards-1)]
}

// expired reports whether a window ending at reset (Unix seconds) is over at now.
func expired(reset int64, now time.Time) bool {
	return now.Unix() >= reset
}

// Take implements Store.
func (m *Memory) Take(_ context.Context, c Charge) (Result, error) {
	now := m.now()
	s := m.shard(c.Pool)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[c.Pool]
	if p == nil {
		if c.Cost == 0 && c.Points == 0 && c.MaxConcurrent == 0 {
			return Result{Window: Window{Reset: NewWindowReset(now, c.Window)}}, nil
		}
		p = &memPool{}
		s.pools[c.Pool] = p
		if s.adds++; s.adds >= sweepEvery {
			s.sweep(now)
		}
	}
	stored := &p.win[c.Resource]
	w := *stored
	if expired(w.Reset, now) {
		// Written back only when charged: a window starts at the first
		// counted request.
		w = memWindow{Window: Window{Reset: NewWindowReset(now, c.Window)}}
	}
	if c.Cost > 0 && w.Used+c.Cost > c.Limit {
		w.rejections++
		*stored = w
		return Result{Verdict: Primary, Window: w.Window, Rejections: w.rejections}, nil
	}
	var pw *Window
	if c.Points > 0 && c.PointsLimit > 0 {
		pw = p.points[c.Endpoint]
		if pw == nil {
			if p.points == nil {
				p.points = make(map[string]*Window)
			}
			pw = &Window{}
			p.points[c.Endpoint] = pw
		}
		if expired(pw.Reset, now) {
			*pw = Window{Reset: NewWindowReset(now, c.PointsWindow)}
		}
		if pw.Used+c.Points > c.PointsLimit {
			return Result{Verdict: Points, Window: w.Window, Rejections: w.rejections,
				RetryAfter: time.Unix(pw.Reset, 0).Sub(now)}, nil
		}
	}
	if c.MaxConcurrent > 0 && int64(len(p.inflight)) >= c.MaxConcurrent {
		p.dropExpiredSlots(now)
		if int64(len(p.inflight)) >= c.MaxConcurrent {
			return Result{Verdict: Concurrency, Window: w.Window, Rejections: w.rejections}, nil
		}
	}
	if c.Cost > 0 {
		w.Used += c.Cost
		*stored = w
	}
	if pw != nil {
		pw.Used += c.Points
	}
	var slot uint64
	if c.MaxConcurrent > 0 {
		ttl := c.SlotTTL
		if ttl <= 0 {
			ttl = 5 * time.Minute
		}
		s.slots++
		slot = s.slots
		p.inflight = append(p.inflight, memSlot{id: slot, expires: now.Add(ttl).UnixNano()})
	}
	return Result{Window: w.Window, Rejections: w.rejections, Slot: slot}, nil
}

// Finish implements Store.
func (m *Memory) Finish(_ context.Context, t Ticket) error {
	if t.Slot == 0 && t.Refund == 0 {
		return nil
	}
	s := m.shard(t.Pool)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[t.Pool]
	if p == nil {
		return nil
	}
	if t.Slot != 0 {
		for i, sl := range p.inflight {
			if sl.id == t.Slot {
				last := len(p.inflight) - 1
				p.inflight[i] = p.inflight[last]
				p.inflight = p.inflight[:last]
				break
			}
		}
	}
	if w := &p.win[t.Resource]; t.Refund > 0 && w.Reset == t.Reset {
		w.Used = max(0, w.Used-t.Refund)
	}
	return nil
}

// Peek implements Store.
func (m *Memory) Peek(_ context.Context, pool Pool, windows *[NumResources]time.Duration) ([NumResources]Window, error) {
	now := m.now()
	var out [NumResources]Window
	s := m.shard(pool)
	s.mu.Lock()
	p := s.pools[pool]
	for i := range out {
		if p != nil && !expired(p.win[i].Reset, now) {
			out[i] = p.win[i].Window
		} else {
			out[i] = Window{Reset: NewWindowReset(now, windows[i])}
		}
	}
	s.mu.Unlock()
	return out, nil
}

// dropExpiredSlots forgets slots held past their TTL.
func (p *memPool) dropExpiredSlots(now time.Time) {
	n := now.UnixNano()
	kept := p.inflight[:0]
	for _, sl := range p.inflight {
		if sl.expires > n {
			kept = append(kept, sl)
		}
	}
	clear(p.inflight[len(kept):])
	p.inflight = kept
}

// sweep drops pools with nothing left to remember. Called with s.mu held.
func (s *memShard) sweep(now time.Time) {
	s.adds = 0
	for k, p := range s.pools {
		p.dropExpiredSlots(now)
		if len(p.inflight) > 0 {
			continue
		}
		live := false
		for i := range p.win {
			if !expired(p.win[i].Reset, now) {
				live = true
				break
			}
		}
		for e, w := range p.points {
			if expired(w.Reset, now) {
				delete(p.points, e)
			} else {
				live = true
			}
		}
		if !live {
			delete(s.pools, k)
		}
	}
}

// Len reports how many pools the store holds (for tests of the sweep).
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.pools)
		s.mu.Unlock()
	}
	return n
}
