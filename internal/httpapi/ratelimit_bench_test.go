package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// BenchmarkRateLimitPipeline serves GET /rate_limit through the whole
// handler tree (no network) with an installation token, so the request is
// authenticated, rate limited, handled, ETagged and metered;
// BenchmarkRateLimitBare writes the same bytes from a bare handler.
func BenchmarkRateLimitPipeline(b *testing.B) {
	e := testenv.New(b, func(c *server.Config) {
		c.TokenCacheTTL = time.Minute
		c.RateLimit.Secondary.EndpointPoints = 1 << 50
	})
	rec := e.Server.API.Meter
	ctx, cancel := context.WithCancel(context.Background())
	go rec.Run(ctx)
	b.Cleanup(func() { cancel(); rec.Close() })
	inst := e.Data.Installations[0]
	tok, err := demo.IssueToken(context.Background(), e.Store, &usage.Token{Type: usage.ActorInstallation, AppID: inst.AppID,
		InstallationID: inst.ID, Permissions: inst.Permissions, CreatedAt: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	h := e.Server.API.Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/rate_limit", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

func BenchmarkRateLimitBare(b *testing.B) {
	body := make([]byte, 1143)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(body)
	})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/rate_limit", nil)
			req.Header.Set("Authorization", "Bearer x")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
		}
	})
}
