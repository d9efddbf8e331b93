package billing

import (
	"container/list"
	"sync"
)

// StateCache keeps one value per key, valid at one state (a string that
// changes whenever what the value was computed from does), within a
// budget of bytes, least recently used out first. It is safe for
// concurrent use; the zero value is not: set Max and Size.
type StateCache[V any] struct {
	Max  int         // the bytes kept at most
	Size func(V) int // the bytes a value costs

	mu    sync.Mutex
	bytes int
	byKey map[string]*list.Element
	lru   list.List // of *stateEntry[V], most recently used in front
}

type stateEntry[V any] struct {
	key, state string
	v          V
	size       int
}

// Get returns the value kept for key at state.
func (c *StateCache[V]) Get(key, state string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		if s := e.Value.(*stateEntry[V]); s.state == state {
			c.lru.MoveToFront(e)
			return s.v, true
		}
	}
	var zero V
	return zero, false
}

// Put keeps v for key at state, replacing key's value at any other state,
// unless v alone costs more than a quarter of Max.
func (c *StateCache[V]) Put(key, state string, v V) {
	size := len(key) + len(state) + c.Size(v)
	if size > c.Max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = map[string]*list.Element{}
	}
	if e, ok := c.byKey[key]; ok {
		c.bytes -= e.Value.(*stateEntry[V]).size
		c.lru.Remove(e)
	}
	c.byKey[key] = c.lru.PushFront(&stateEntry[V]{key, state, v, size})
	c.bytes += size
	for c.bytes > c.Max {
		e := c.lru.Back()
		old := e.Value.(*stateEntry[V])
		c.lru.Remove(e)
		delete(c.byKey, old.key)
		c.bytes -= old.size
	}
}
