package httpapi

import (
	"container/list"
	"net/http"
	"sync"

	"github.com/ghusage/ghusage/internal/billing"
)

// billingAnswerBytes bounds the encoded usage and summary answers a
// process keeps (a month of an enterprise's usage is about 10 MB at
// 10 million records a month); an answer over a quarter of it is not kept.
const billingAnswerBytes = 96 << 20

// billingAnswers keeps the latest encoded answer of each usage and
// summary request (billing.Service.AnswerKey's req), valid while the
// state it was computed at (the ledger versions of its months and its
// cost-center attribution) is unchanged, with its weak ETag, least
// recently used first out. The zero value is ready.
type billingAnswers struct {
	mu    sync.Mutex
	bytes int
	byReq map[string]*list.Element
	lru   list.List // of *billingAnswer, most recently used in front
	// Hits and misses, for tests and the bench.
	hits, misses int64
}

type billingAnswer struct {
	req, state string
	body       []byte // the JSON and its newline, never changed once kept
	etag       string // weakETag(body)
}

// get returns the answer of req kept at state, or nil.
func (c *billingAnswers) get(req, state string) *billingAnswer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byReq[req]; ok {
		if a := e.Value.(*billingAnswer); a.state == state {
			c.lru.MoveToFront(e)
			c.hits++
			return a
		}
	}
	c.misses++
	return nil
}

// put keeps a, replacing req's answer at any other state.
func (c *billingAnswers) put(a *billingAnswer) {
	if len(a.body) > billingAnswerBytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byReq == nil {
		c.byReq = map[string]*list.Element{}
	}
	if e, ok := c.byReq[a.req]; ok {
		c.bytes -= len(e.Value.(*billingAnswer).body)
		c.lru.Remove(e)
	}
	c.byReq[a.req] = c.lru.PushFront(a)
	c.bytes += len(a.body)
	for c.bytes > billingAnswerBytes {
		e := c.lru.Back()
		old := e.Value.(*billingAnswer)
		c.lru.Remove(e)
		delete(c.byReq, old.req)
		c.bytes -= len(old.body)
	}
}

// counts returns the hits and misses so far.
func (c *billingAnswers) counts() (hits, misses int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// billingAnswer serves a usage or summary answer: the kept one when the
// ledger and attribution it was computed from are unchanged, else
// compute's encoded answer (without its newline), kept and sent.
func (s *Server) billingAnswer(w http.ResponseWriter, r *http.Request, sc billing.Scope, p *billing.Params, ep billing.Endpoint, compute func() ([]byte, error)) error {
	req, state, ok, err := s.Billing.AnswerKey(r.Context(), sc, p, ep)
	if err != nil {
		return err
	}
	if ok {
		if a := s.billingAnswers.get(req, state); a != nil {
			writeBody(w, a.body, a.etag)
			return nil
		}
	}
	body, err := compute()
	if err != nil {
		return err
	}
	body = append(body, '\n')
	a := &billingAnswer{req: req, state: state, body: body, etag: weakETag(body)}
	if ok {
		s.billingAnswers.put(a)
	}
	writeBody(w, a.body, a.etag)
	return nil
}

// writeBody sends body, a JSON answer and its newline whose weak ETag is
// etag, with status 200. Under serve's buffer the body is handed over
// rather than copied (it must not change afterwards) and sent with its
// Content-Length.
func writeBody(w http.ResponseWriter, body []byte, etag string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if bw, ok := w.(*bufferedWriter); ok && bw.status == 0 && bw.buf.Len() == 0 {
		bw.status, bw.body, bw.etag = http.StatusOK, body, etag
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
