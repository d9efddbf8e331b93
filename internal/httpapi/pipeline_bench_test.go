package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/testenv"
)

// BenchmarkPipeline measures GET /rate_limit through the whole handler
// tree (no network) against a bare handler writing the same bytes; compare
// the two lines' ns/op.
func BenchmarkPipeline(b *testing.B) {
	env := testenv.New(b, func(c *server.Config) { c.TokenCacheTTL = time.Hour; c.RateLimit.Secondary.EndpointPoints = 1 << 50 })
	h := env.Server.API.Handler()
	tok := env.AdminToken
	req := httptest.NewRequest("GET", "/rate_limit", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
		}
	})
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write(body)
		})
		for b.Loop() {
			w := httptest.NewRecorder()
			bare.ServeHTTP(w, req)
		}
	})
}

// TestRateLimitETagFollowsTheBody pins what the cheaper weak ETag must
// keep: the same body gives the same tag (and a 304 to If-None-Match), a
// body changed by one counted request gives a new tag and a 200, and the
// /api/v3 prefix answers the same tag as the bare path. Categories nobody
// used report a reset a second later when the clock ticks between two
// requests, so the "same body" checks retry on a body that moved.
func TestRateLimitETagFollowsTheBody(t *testing.T) {
	env := testenv.New(t)
	tok := env.AdminToken
	var etag, body1 string
	for attempt := 0; ; attempt++ {
		first, b1 := env.Get(t, "/rate_limit", tok)
		etag, body1 = first.Header.Get("ETag"), b1
		if first.StatusCode != http.StatusOK || !strings.HasPrefix(etag, `W/"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 8 {
			t.Fatalf("GET /rate_limit: %d, ETag %q", first.StatusCode, etag)
		}
		again, b2 := env.Get(t, "/api/v3/rate_limit", tok)
		notMod, b3 := env.Get(t, "/rate_limit", tok, "If-None-Match", etag)
		if b2 != b1 || (notMod.StatusCode == http.StatusOK && b3 != b1) {
			if attempt == 5 {
				t.Fatal("the /rate_limit body kept changing")
			}
			continue // a second went by
		}
		if got := again.Header.Get("ETag"); got != etag {
			t.Fatalf("same body, different ETag: %q vs %q", got, etag)
		}
		if notMod.StatusCode != http.StatusNotModified || b3 != "" {
			t.Fatalf("unchanged body with If-None-Match: %d %q", notMod.StatusCode, b3)
		}
		break
	}
	// One counted request: used goes up by one, a one-digit change in the body.
	if resp, _ := env.Get(t, "/user", tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /user: %d", resp.StatusCode)
	}
	resp, body2 := env.Get(t, "/rate_limit", tok, "If-None-Match", etag)
	if body2 == body1 {
		t.Fatalf("the counted request did not change /rate_limit: %s", body2)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag || resp.Header.Get("ETag") == "" {
		t.Fatalf("changed body: %d, ETag %q (was %q)", resp.StatusCode, resp.Header.Get("ETag"), etag)
	}
}
