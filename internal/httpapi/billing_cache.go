package httpapi

import (
	"context"
	"net/http"

	"github.com/ghusage/ghusage/internal/billing"
)

// billingAnswerBytes bounds the encoded usage and summary answers a
// process keeps (a month of an enterprise's usage is about 10 MB at
// 10 million records a month); an answer over a quarter of it is not kept.
const billingAnswerBytes = 96 << 20

// billingAnswer is a kept usage or summary answer.
type billingAnswer struct {
	body billing.Body // the JSON and its newline, parts never changed once kept
	etag string       // weakETag of the body
}

// newBillingAnswers returns the cache of the latest encoded answer of
// each usage and summary request (billing.Service.AnswerKey's req), valid
// while the state it was computed at (the ledger versions of its months
// and its cost-center attribution) is unchanged.
func newBillingAnswers() *billing.StateCache[billingAnswer] {
	return &billing.StateCache[billingAnswer]{Max: billingAnswerBytes, Size: func(a billingAnswer) int { return a.body.Len + 24*len(a.body.Parts) + len(a.etag) }}
}

// billingAnswer serves a usage or summary answer: the kept one when the
// ledger and attribution it was computed from are unchanged, else
// compute's encoded answer (without its newline), kept and sent; compute
// runs under the request's memo (billing.WithRequestMemo). The
// usage answer's parts are its days' kept items (billing.Service.UsageBody):
// neither put together nor hashed again, the ETag combined from their CRCs.
func (s *Server) billingAnswer(w http.ResponseWriter, r *http.Request, sc billing.Scope, p *billing.Params, ep billing.Endpoint, compute func(ctx context.Context) (billing.Body, error)) error {
	// One reading of the day versions and the attribution for the key and
	// the answer.
	ctx := billing.WithRequestMemo(r.Context())
	req, state, ok, err := s.Billing.AnswerKey(ctx, sc, p, ep)
	if err != nil {
		return err
	}
	if ok {
		if a, hit := s.billingAnswers.Get(req, state); hit {
			writeBody(w, a.body, a.etag)
			return nil
		}
	}
	body, err := compute(ctx)
	if err != nil {
		return err
	}
	body.Append(newline)
	a := billingAnswer{body: body, etag: weakETagOf(body.CRC32C, body.CRC32)}
	if ok {
		s.billingAnswers.Put(req, state, a)
	}
	writeBody(w, a.body, a.etag)
	return nil
}

var newline = []byte("\n")

// bytesBody returns b as a Body of one part.
func bytesBody(b []byte, err error) (billing.Body, error) {
	var body billing.Body
	if err == nil {
		body.Append(b)
	}
	return body, err
}

// writeBody sends body, a JSON answer and its newline whose weak ETag is
// etag, with status 200. Under serve's buffer the body's parts are handed
// over rather than copied (they must not change afterwards) and sent with
// its Content-Length.
func writeBody(w http.ResponseWriter, body billing.Body, etag string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if bw, ok := w.(*bufferedWriter); ok && bw.status == 0 && bw.buf.Len() == 0 {
		bw.status, bw.body, bw.etag = http.StatusOK, body.Parts, etag
		return
	}
	w.WriteHeader(http.StatusOK)
	for _, p := range body.Parts {
		w.Write(p)
	}
}
