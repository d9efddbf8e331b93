package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
)

// httpSink posts NDJSON batches to a ghusage server's ingestion routes. It
// is shared by every ingest kind: a kind other than api-requests sets path
// and calls post, and gets the same retries.
//
// A batch the server did not acknowledge is sent again (events carry ids,
// so a retry never double counts) until retryFor has passed since its first
// attempt: connection errors and 5xx after a short backoff, and rate
// limits after the wait the server asks for, as GitHub documents it for
// clients: Retry-After when it is sent (a secondary limit's 403, a 429, a
// 503), else the end of the primary window (x-ratelimit-reset) for a 403
// with x-ratelimit-remaining: 0, else a minute. A wait that would end past
// retryFor is not started: the error says what the server asked.
type httpSink struct {
	base, token string
	retryFor    time.Duration
	client      *http.Client
	// path is the ingestion route, query included; "" is
	// POST /ghusage/v1/ingest/api-requests.
	path string
	// contentType of the bodies; "" is application/x-ndjson.
	contentType string
	// notify, when set, is told of every rate-limit wait (standard error).
	notify io.Writer
	// now and sleep are the clock, for tests; nil is the real one.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

const apiRequestsIngestPath = "/ghusage/v1/ingest/api-requests"

func (s *httpSink) wantsEvents() bool { return false }

// send posts an api-requests batch and decodes the server's counts.
func (s *httpSink) send(ctx context.Context, b *batch) (insights.IngestResult, error) {
	var res insights.IngestResult
	path := s.path
	if path == "" {
		path = apiRequestsIngestPath
	}
	out, err := s.post(ctx, path, b.body)
	if err != nil {
		return res, fmt.Errorf("batch from line %d: %w", b.first, err)
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("batch from line %d: unexpected answer %q: %w", b.first, truncateOutput(out), err)
	}
	return res, nil
}

// post sends body to path until the server acknowledges it with a 200 (or
// answers something not worth retrying) and returns the 200's body.
func (s *httpSink) post(ctx context.Context, path string, body []byte) ([]byte, error) {
	now := s.now
	if now == nil {
		now = time.Now
	}
	sleep := s.sleep
	if sleep == nil {
		sleep = sleepContext
	}
	deadline := now().Add(s.retryFor)
	backoff := 100 * time.Millisecond
	for {
		out, wait, err := s.attempt(ctx, path, body, now())
		if err == nil {
			return out, nil
		}
		if wait.d <= 0 {
			return nil, err
		}
		if wait.reason == "" { // a failure, not a rate limit: back off
			wait.d = backoff
			backoff = min(2*backoff, 2*time.Second)
		}
		if now().Add(wait.d).After(deadline) {
			if wait.reason != "" {
				return nil, fmt.Errorf("%w; the server asks to wait %s (%s), past --retry-for %s", err, wait.d.Round(time.Second), wait.reason, s.retryFor)
			}
			return nil, err
		}
		if wait.reason != "" && s.notify != nil {
			fmt.Fprintf(s.notify, "ghusage ingest: %s; waiting %s before sending the batch again\n", wait.reason, wait.d.Round(time.Second))
		}
		if err := sleep(ctx, wait.d); err != nil {
			return nil, err
		}
	}
}

// retryWait is how long to wait before the next attempt: d 0 means do not
// retry; reason is set when the server asked for the wait (a rate limit).
type retryWait struct {
	d      time.Duration
	reason string
}

func (s *httpSink) attempt(ctx context.Context, path string, body []byte, now time.Time) ([]byte, retryWait, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, retryWait{}, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	ct := s.contentType
	if ct == "" {
		ct = "application/x-ndjson"
	}
	req.Header.Set("Content-Type", ct)
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, retryWait{}, ctx.Err()
		}
		return nil, retryWait{d: 1}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, retryWait{d: 1}, err
	}
	if resp.StatusCode == http.StatusOK {
		return out, retryWait{}, nil
	}
	err = fmt.Errorf("server answered %s: %s", resp.Status, truncateOutput(out))
	return nil, retryAfter(resp, out, now), err
}

// retryAfter decides whether a non-200 answer is worth another attempt, and
// when: GitHub's rules for rate-limited clients, then 5xx and 429 as
// transient failures.
func retryAfter(resp *http.Response, body []byte, now time.Time) retryWait {
	code := resp.StatusCode
	ra, hasRA := parseRetryAfter(resp.Header.Get("Retry-After"), now)
	secondary := code == http.StatusForbidden && bytes.Contains(bytes.ToLower(body), []byte("secondary rate limit"))
	switch {
	case (code == http.StatusForbidden || code == http.StatusTooManyRequests) && hasRA:
		return retryWait{d: max(ra, time.Second), reason: fmt.Sprintf("rate limited (%d, Retry-After: %s)", code, resp.Header.Get("Retry-After"))}
	case code == http.StatusForbidden && resp.Header.Get("X-RateLimit-Remaining") == "0":
		reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
		if err != nil {
			return retryWait{d: time.Minute, reason: "primary rate limit exhausted"}
		}
		return retryWait{d: max(time.Unix(reset, 0).Sub(now), time.Second),
			reason: "primary rate limit exhausted until " + time.Unix(reset, 0).UTC().Format(time.RFC3339)}
	case secondary || code == http.StatusTooManyRequests:
		// GitHub: without retry-after, wait at least a minute.
		return retryWait{d: time.Minute, reason: fmt.Sprintf("secondary rate limit (%d)", code)}
	case code >= 500 && hasRA:
		return retryWait{d: max(ra, time.Second), reason: fmt.Sprintf("server unavailable (%d, Retry-After: %s)", code, resp.Header.Get("Retry-After"))}
	case code >= 500:
		return retryWait{d: 1}
	}
	return retryWait{}
}

// parseRetryAfter reads Retry-After: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(min(n, 24*3600)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleepContext waits d, or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
