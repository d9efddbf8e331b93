package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/usage"
)

// TestRateLimitBodiesFollowTheCounters pins what the GET /rate_limit body
// cache (rateLimitBodies) must keep: two pools that share a slot, polled
// in turn while one of them is charged, each get their own counters every
// time, with the ETag of the very body sent; the same counters give the
// same body and tag again.
func TestRateLimitBodiesFollowTheCounters(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	s := &Server{Now: clock, Limiter: ratelimit.New(ratelimit.DefaultConfig(), ratelimit.NewMemory(clock), nil)}
	slots := uint64(len(s.rateLimitBodies.slots))
	a := ratelimit.UserPool(1)
	var bID int64
	for id := int64(2); ; id++ {
		if ratelimit.UserPool(id).Hash()%slots == a.Hash()%slots {
			bID = id
			break
		}
	}
	actor := func(id int64) *usage.Actor {
		return &usage.Actor{Type: usage.ActorClassicPAT, Token: &usage.Token{Type: usage.ActorClassicPAT, UserID: id}, User: &usage.User{ID: id}}
	}
	type answer struct {
		body, etag string
		core       ratelimit.Counter
	}
	get := func(id int64) answer {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, "/rate_limit", nil)
		r = r.WithContext(usage.WithActor(context.Background(), actor(id)))
		bw := &bufferedWriter{header: http.Header{}}
		if err := s.handleRateLimit(bw, r); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Resources map[string]ratelimit.Counter `json:"resources"`
			Rate      ratelimit.Counter            `json:"rate"`
		}
		if err := json.Unmarshal(bw.buf.Bytes(), &got); err != nil {
			t.Fatalf("%v: %s", err, bw.buf.Bytes())
		}
		if len(got.Resources) != ratelimit.NumResources || got.Rate != got.Resources["core"] {
			t.Fatalf("body %s", bw.buf.Bytes())
		}
		if want := weakETag(bw.buf.Bytes()); bw.etag != want {
			t.Fatalf("ETag %s, the body's is %s", bw.etag, want)
		}
		return answer{bw.buf.String(), bw.etag, got.Rate}
	}
	charge := func(id int64) {
		t.Helper()
		d, err := s.Limiter.Admit(context.Background(), &ratelimit.Request{Subject: ratelimit.Subject{Pool: ratelimit.UserPool(id)},
			Resource: ratelimit.Core, Counted: true, Endpoint: "GET /user"})
		if err != nil || d.Verdict != ratelimit.Allowed {
			t.Fatalf("admit: %v %+v", err, d)
		}
		s.Limiter.Finish(context.Background(), &d, false)
	}
	charge(1)
	for round := range 3 {
		first := get(1)
		b := get(bID)
		again := get(1)
		if first.core.Used != int64(round+1) || b.core.Used != 0 {
			t.Fatalf("round %d: core used %d for the charged pool, %d for the other", round, first.core.Used, b.core.Used)
		}
		if again != first {
			t.Fatalf("round %d: the same counters gave another answer:\n%+v\n%+v", round, first, again)
		}
		if b.body == first.body || b.etag == first.etag {
			t.Fatalf("round %d: two pools with different counters got the same body or tag", round)
		}
		charge(1)
	}
}

// TestRequestIDShape pins the request id's shape, XXXX:XXXX:XXXXXX:XXXXXX
// in upper-case hex, and that ids differ.
func TestRequestIDShape(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newRequestID()
		if len(id) != 23 || id[4] != ':' || id[9] != ':' || id[16] != ':' {
			t.Fatalf("request id %q", id)
		}
		for i, c := range id {
			if i != 4 && i != 9 && i != 16 && !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
				t.Fatalf("request id %q: %q at %d", id, c, i)
			}
		}
		if seen[id] {
			t.Fatalf("request id %q twice", id)
		}
		seen[id] = true
	}
}

// revokingStore answers one classic PAT and runs during inside
// TokenByHash, as a revocation on another goroutine would.
type revokingStore struct {
	usage.Store // nil: only the methods below are called
	tok         *usage.Token
	during      func()
}

func (s *revokingStore) TokenByHash(_ context.Context, hash []byte) (*usage.Token, error) {
	if s.during != nil {
		s.during()
	}
	if !usage.HashesEqual(hash, s.tok.Hash) {
		return nil, usage.ErrNotFound
	}
	return s.tok, nil
}

func (s *revokingStore) UserByID(_ context.Context, id int64) (*usage.User, error) {
	return &usage.User{ID: id, Login: "octocat"}, nil
}

func (s *revokingStore) Roles(context.Context, int64) (map[string]string, map[string]string, error) {
	return nil, nil, nil
}

// TestTokenCacheRevocationDuringLoad pins that a revocation (forget) made
// while a token is being resolved is not undone: the answer resolved
// before it is used by the request in flight but not cached, so the next
// request asks the store again; a load with no forget in between is
// cached, with its X-OAuth-Scopes value.
func TestTokenCacheRevocationDuringLoad(t *testing.T) {
	raw := usage.NewTokenString(usage.ActorClassicPAT)
	hash := usage.HashToken(raw)
	st := &revokingStore{tok: &usage.Token{ID: 1, Type: usage.ActorClassicPAT, UserID: 7, Hash: hash, Scopes: []string{"repo", "read:org"}}}
	var c tokenCache
	key := [32]byte(hash)
	now := time.Now()
	st.during = func() { c.forget(func(*usage.Actor) bool { return true }) }
	a, scopes, err := c.load(context.Background(), st, &key, now, time.Hour)
	if err != nil || a == nil || a.User.ID != 7 || scopes != "repo, read:org" {
		t.Fatalf("load: %+v %q %v", a, scopes, err)
	}
	if _, _, hit := c.lookup(&key, now, time.Hour); hit {
		t.Fatal("an actor resolved before a revocation was cached after it")
	}
	st.during = nil
	if _, _, err := c.load(context.Background(), st, &key, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if a, scopes, hit := c.lookup(&key, now, time.Hour); !hit || a == nil || scopes != "repo, read:org" {
		t.Fatalf("a load with no revocation in between: hit %v, %+v %q", hit, a, scopes)
	}
}

// TestHeaderValuesAreNeverRewritten pins what sharing header values needs:
// the values the pipeline sets from package-level slices (constant
// headers) and from each request's exchange (request id, x-ratelimit-*,
// ETag) are never written again once set. Every response's live header
// map, read after many later requests (some concurrent, on other counters),
// still holds exactly what was sent, and the shared slices their literals.
func TestHeaderValuesAreNeverRewritten(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := &Server{Now: clock, Limiter: ratelimit.New(ratelimit.DefaultConfig(), ratelimit.NewMemory(clock), nil)}
	h := s.Handler()
	shared := map[string][]string{
		"allowOrigin": allowOriginValue, "exposed": exposedHeadersValue, "nosniff": nosniffValue,
		"version": defaultVersionValue, "mediaType": defaultMediaType, "json": jsonContentType,
	}
	want := map[string]string{}
	for k, v := range shared {
		want[k] = strings.Join(v, "\x00")
	}
	var recs []*httptest.ResponseRecorder
	var recMu sync.Mutex
	serve := func(i int) {
		path := "/rate_limit"
		if i%2 == 1 {
			path = "/no/such/route" // counted: x-ratelimit-used moves
		}
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = fmt.Sprintf("192.0.2.%d:1234", i%3) // three pools
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		recMu.Lock()
		recs = append(recs, w)
		recMu.Unlock()
	}
	for i := range 40 {
		serve(i)
		if i%10 == 9 {
			mu.Lock()
			now = now.Add(time.Second) // new resets for the categories nobody used
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				serve(g*50 + i)
			}
		})
	}
	wg.Wait()
	ids := map[string]bool{}
	for i, w := range recs {
		sent := w.Result().Header // as it was when the response was written
		if !reflect.DeepEqual(w.HeaderMap, sent) {
			t.Fatalf("response %d: header values changed after it was sent:\nnow  %v\nsent %v", i, w.HeaderMap, sent)
		}
		id := sent.Get("X-GitHub-Request-Id")
		if id == "" || ids[id] || sent.Get("X-RateLimit-Used") == "" {
			t.Fatalf("response %d: request id %q (seen before: %v), used %q", i, id, ids[id], sent.Get("X-RateLimit-Used"))
		}
		ids[id] = true
	}
	for k, v := range shared {
		if got := strings.Join(v, "\x00"); got != want[k] {
			t.Fatalf("shared header value %s changed: %q, was %q", k, got, want[k])
		}
	}
}
