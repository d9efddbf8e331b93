package httpapi_test

import (
	"net/http"
	"net/http/httptest"
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
