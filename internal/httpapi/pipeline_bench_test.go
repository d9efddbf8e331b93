package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/testenv"
)

// BenchmarkPipeline measures GET /rate_limit through the whole handler
// tree (no network) against bare handlers writing the same bytes: "bare"
// with only Content-Type, "bare-headers" with every header the pipeline
// sends (fixed values), which separates the cost of GitHub's header block
// from the pipeline's own. Besides ns/op (wall clock) each reports
// cpu-ns/op, the process CPU per request, steadier on a shared machine.
func BenchmarkPipeline(b *testing.B) {
	env := testenv.New(b, func(c *server.Config) { c.TokenCacheTTL = time.Hour; c.RateLimit.Secondary.EndpointPoints = 1 << 50 })
	benchPipeline(b, env.Server.API.Handler(), env.AdminToken)
}

// BenchmarkPipelineMetered is BenchmarkPipeline with an installation
// token, as `ghusage bench ratelimit` sends: the request is also metered
// for the installation's organization (and its events ingested behind it).
func BenchmarkPipelineMetered(b *testing.B) {
	e, tok := meteredRateLimitEnv(b)
	benchPipeline(b, e.Server.API.Handler(), tok)
}

func benchPipeline(b *testing.B, h http.Handler, tok string) {
	req := httptest.NewRequest("GET", "/rate_limit", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	hdr := rec.Result().Header
	run := func(name string, h http.Handler) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
	run("full", h)
	run("bare-headers", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range hdr {
			if k != "Content-Length" {
				h[k] = v
			}
		}
		w.Write(body)
	}))
	run("bare", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(body)
	}))
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
