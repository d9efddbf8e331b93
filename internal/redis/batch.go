package redis

import (
	"context"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// A call is one script invocation waiting to be sent.
type call struct {
	script *goredis.Script
	keys   []string
	args   []any
	cmd    *goredis.Cmd
	wake   chan bool // true: lead the next batch; false: cmd is answered
}

// run sends one script call. Calls made while another batch is in flight
// are queued and sent together as one pipeline by a single leader (group
// commit): an idle store sends each call at once, a busy one makes one
// round trip for many decisions. Each call stays atomic on the server.
func (s *Store) run(script *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	c := &call{script: script, keys: keys, args: args, wake: make(chan bool, 1)}
	s.mu.Lock()
	s.queue = append(s.queue, c)
	if s.busy {
		s.mu.Unlock()
		if lead := <-c.wake; !lead {
			return c.cmd
		}
	} else {
		s.busy = true
		s.mu.Unlock()
	}
	s.mu.Lock()
	batch := s.queue
	s.queue = nil
	s.mu.Unlock()
	s.exec(batch)
	for _, b := range batch {
		if b != c {
			b.wake <- false
		}
	}
	s.mu.Lock()
	if len(s.queue) == 0 {
		s.busy = false
		s.mu.Unlock()
		return c.cmd
	}
	// Hand the lead to the oldest waiter, so this caller returns now.
	next := s.queue[0]
	s.mu.Unlock()
	next.wake <- true
	return c.cmd
}

// exec sends a batch: alone with EVALSHA (EVAL after a script cache
// flush), or as one pipeline of EVALSHAs.
func (s *Store) exec(batch []*call) {
	// The request's context is not used: a batch serves many requests, and
	// the client's read and write timeouts bound it.
	ctx := context.Background()
	if len(batch) == 1 {
		b := batch[0]
		b.cmd = b.script.Run(ctx, s.c, b.keys, b.args...)
		return
	}
	s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, b := range batch {
			b.cmd = b.script.EvalSha(ctx, p, b.keys, b.args...)
		}
		return nil
	})
	for _, b := range batch {
		if err := b.cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			b.cmd = b.script.Run(ctx, s.c, b.keys, b.args...)
		}
	}
}
