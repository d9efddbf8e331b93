package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// IngestLimit bounds the ingest batches (request events, billing usage,
// Copilot activity, server statistics) a server decodes and stores at
// once, so memory stays bounded however many clients post large batches
// together. A batch weighs the bytes of its body, as Content-Length gives
// them, up to its route's body limit; a body of unknown length (chunked)
// or gzip-compressed (its decoded size is unknown until read) weighs the
// route's limit. Batches are admitted in arrival order while the weights
// admitted sum to at most Bytes; a batch heavier than Bytes is admitted
// alone. A batch that cannot be admitted within Wait is answered 503 with
// Retry-After, before any of it is decoded or recorded.
type IngestLimit struct {
	Bytes int64         // total weight of the batches admitted at once; 0 is DefaultIngestLimit's
	Wait  time.Duration // longest a batch waits to be admitted; 0 is DefaultIngestLimit's
}

// DefaultIngestLimit admits 96 MiB of bodies at once (two batches of
// 100,000 request events, about 40 MB each, or one of the largest body,
// which keeps the process within the 512 MiB it is sized for)
// and refuses a batch that waited 10 seconds.
func DefaultIngestLimit() IngestLimit {
	return IngestLimit{Bytes: 96 << 20, Wait: 10 * time.Second}
}

// ingestRetryAfter is the Retry-After, in seconds, of a batch refused
// admission: the server has been busy with others for the whole wait, and
// a batch of the largest body takes seconds to store, so an immediate
// retry would most likely queue behind the same batches.
const ingestRetryAfter = 5

// errIngestBusy is the answer to a batch refused admission.
var errIngestBusy = &usage.Error{Kind: usage.KindUnavailable, RetryAfter: ingestRetryAfter,
	Message: "The server is busy ingesting other batches; retry this batch after the Retry-After delay."}

// admitIngest waits until the batch r carries may be decoded, for at most
// the limit's Wait and while r's context lasts. On success it returns the
// body to decode (r.Body, whose first bytes may have been read to see
// whether it is gzip-compressed) and the release the caller must defer:
// the batch's weight is held until then, whatever the handler does
// (errors and panics included). A body longer than maxBody is refused at
// once with 413, as reading it would be; a batch not admitted in time is
// refused with 503 and Retry-After; a client gone while waiting gets its
// context's error.
func (s *Server) admitIngest(r *http.Request, maxBody int64) (io.Reader, func(), error) {
	if r.ContentLength > maxBody {
		return nil, nil, &http.MaxBytesError{Limit: maxBody}
	}
	body := io.Reader(r.Body)
	weight := maxBody
	if r.ContentLength >= 0 && r.ContentLength < maxBody {
		var gzipped bool
		body, gzipped = peekGzip(r.Body)
		if !gzipped {
			weight = r.ContentLength
		}
	}
	sem := &s.ingestSem
	n, waited, err := sem.acquire(r.Context(), weight, s.IngestLimit.Wait)
	outcome := "immediate"
	switch {
	case errors.Is(err, context.Canceled):
		// the client went away: answered 499. Over HTTP/1.1 the server
		// notices only once the body is read, so a client gone while its
		// body waits unread is not seen here (see doc/operations.md).
		outcome = "canceled"
	case err != nil: // the wait ran out (or a deadline set in front of the handler)
		outcome, err = "refused", errIngestBusy
	case waited:
		outcome = "waited"
	}
	s.Metrics.Counter("ghusage_ingest_admissions_total",
		"Ingest batches by admission outcome.", "outcome", outcome).Inc()
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	return body, func() { once.Do(func() { sem.release(n) }) }, nil
}

// withDefaults is lim with DefaultIngestLimit's values for zeros.
func (lim IngestLimit) withDefaults() IngestLimit {
	def := DefaultIngestLimit()
	if lim.Bytes <= 0 {
		lim.Bytes = def.Bytes
	}
	if lim.Wait <= 0 {
		lim.Wait = def.Wait
	}
	return lim
}

// peekGzip reads the first two bytes of body and reports whether they are
// gzip's magic number, as the ingest decoders detect compression. The
// reader returned gives those bytes, then the rest of body (or the read's
// error, for the decoder to report as it would have).
func peekGzip(body io.Reader) (io.Reader, bool) {
	p := &prefixReader{r: body}
	n, err := io.ReadFull(body, p.buf[:])
	p.head = p.buf[:n]
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		p.err = err
	}
	return p, n == 2 && p.buf[0] == 0x1f && p.buf[1] == 0x8b
}

// prefixReader reads head, then err if set, then r.
type prefixReader struct {
	buf  [2]byte
	head []byte
	err  error
	r    io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	if p.err != nil {
		return 0, p.err
	}
	return p.r.Read(b)
}

// errSemaphoreTimeout is acquire's error when the wait ran out.
var errSemaphoreTimeout = errors.New("semaphore: wait exceeded")

// byteSemaphore is a weighted semaphore over a budget of bytes. Waiters
// are served in arrival order: a heavy batch at the head is not overtaken
// by lighter ones behind it, so it cannot starve. budget is set before
// first use and never changes.
type byteSemaphore struct {
	mu      sync.Mutex
	budget  int64
	used    int64
	peak    int64 // the most used at once (tests)
	waiters []*semWaiter
}

type semWaiter struct {
	n     int64
	ready chan struct{} // closed once admitted
}

// acquire takes n bytes (at most the whole budget), waiting in arrival
// order for at most wait and while ctx lasts. It returns what it took,
// for release, and whether it had to wait. A waiter admitted as its wait
// ends keeps what it was given.
func (s *byteSemaphore) acquire(ctx context.Context, n int64, wait time.Duration) (int64, bool, error) {
	s.mu.Lock()
	n = max(0, min(n, s.budget))
	if len(s.waiters) == 0 && s.used+n <= s.budget {
		s.take(n)
		s.mu.Unlock()
		return n, false, nil
	}
	w := &semWaiter{n: n, ready: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	var err error
	select {
	case <-w.ready:
		return n, true, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = errSemaphoreTimeout
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-w.ready:
		return n, true, nil
	default:
	}
	for i, x := range s.waiters {
		if x == w {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			break
		}
	}
	s.wake() // w may have held back lighter waiters behind it
	return 0, true, err
}

// release gives back n bytes taken by acquire, once.
func (s *byteSemaphore) release(n int64) {
	s.mu.Lock()
	s.used -= n
	s.wake()
	s.mu.Unlock()
}

// take adds n to what is used; s.mu is held.
func (s *byteSemaphore) take(n int64) {
	s.used += n
	s.peak = max(s.peak, s.used)
}

// wake admits the waiters at the head that now fit; s.mu is held.
func (s *byteSemaphore) wake() {
	for len(s.waiters) > 0 {
		w := s.waiters[0]
		if s.used+w.n > s.budget {
			return
		}
		s.take(w.n)
		close(w.ready)
		s.waiters[0] = nil
		s.waiters = s.waiters[1:]
	}
}

// stats returns the bytes in use, the most in use at once and the batches waiting.
func (s *byteSemaphore) stats() (used, peak int64, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, s.peak, len(s.waiters)
}
