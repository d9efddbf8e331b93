package httpapi

import (
	"net/http"

	"github.com/ghusage/ghusage/internal/billing"
)

// billingAnswerBytes bounds the encoded usage and summary answers a
// process keeps (a month of an enterprise's usage is about 10 MB at
// 10 million records a month); an answer over a quarter of it is not kept.
const billingAnswerBytes = 96 << 20

// billingAnswer is a kept usage or summary answer.
type billingAnswer struct {
	body []byte // the JSON and its newline, never changed once kept
	etag string // weakETag(body)
}

// newBillingAnswers returns the cache of the latest encoded answer of
// each usage and summary request (billing.Service.AnswerKey's req), valid
// while the state it was computed at (the ledger versions of its months
// and its cost-center attribution) is unchanged.
func newBillingAnswers() *billing.StateCache[billingAnswer] {
	return &billing.StateCache[billingAnswer]{Max: billingAnswerBytes, Size: func(a billingAnswer) int { return len(a.body) + len(a.etag) }}
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
		if a, hit := s.billingAnswers.Get(req, state); hit {
			writeBody(w, a.body, a.etag)
			return nil
		}
	}
	body, err := compute()
	if err != nil {
		return err
	}
	body = append(body, '\n')
	a := billingAnswer{body: body, etag: weakETag(body)}
	if ok {
		s.billingAnswers.Put(req, state, a)
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
