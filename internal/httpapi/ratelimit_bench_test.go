package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// meteredRateLimitEnv starts a test server whose meter runs and whose
// endpoint points never run out, and issues an installation token for it:
// GET /rate_limit is then authenticated, rate limited and metered.
func meteredRateLimitEnv(b *testing.B) (*testenv.Env, string) {
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
	return e, tok
}

// BenchmarkRateLimitPipeline serves GET /rate_limit through the whole
// handler tree (no network) with an installation token, so the request is
// authenticated, rate limited, handled, ETagged and metered;
// BenchmarkRateLimitBare writes the same bytes from a bare handler.
func BenchmarkRateLimitPipeline(b *testing.B) {
	e, tok := meteredRateLimitEnv(b)
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

// BenchmarkRateLimitHTTP serves GET /rate_limit over loopback TCP through
// net/http, as a client sees it, with an installation token (metered):
// "full" is the whole pipeline, "bare-headers" a bare handler writing the
// same header block and body, "bare" one writing the body with only
// Content-Type. The client is minimal (keep-alive connections writing a
// fixed request and skipping the answer by its Content-Length) and the
// same for all three, so cpu-ns/op, the process CPU per request, compares
// net/http's and the pipeline's work; it is steadier than ns/op on a
// shared machine.
func BenchmarkRateLimitHTTP(b *testing.B) {
	e, tok := meteredRateLimitEnv(b)
	resp, body := e.Get(b, "/rate_limit", tok)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	hdr := resp.Header
	bareHeaders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range hdr {
			if k != "Date" && k != "Content-Length" {
				h[k] = v
			}
		}
		w.Write([]byte(body))
	}))
	defer bareHeaders.Close()
	// The same handler on a server with ghusage's timeouts: net/http then
	// sets four deadlines per request (header, whole request, write, idle)
	// instead of clearing one, which "full" pays too in production.
	timeouts := httptest.NewUnstartedServer(bareHeaders.Config.Handler)
	cfg := server.DefaultConfig()
	timeouts.Config.ReadHeaderTimeout, timeouts.Config.ReadTimeout = cfg.ReadHeaderTimeout, cfg.ReadTimeout
	timeouts.Config.WriteTimeout, timeouts.Config.IdleTimeout = cfg.WriteTimeout, cfg.IdleTimeout
	timeouts.Start()
	defer timeouts.Close()
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write([]byte(body))
	}))
	defer bare.Close()
	for _, v := range []struct{ name, url string }{{"full", e.URL}, {"bare-headers", bareHeaders.URL},
		{"bare-headers-timeouts", timeouts.URL}, {"bare", bare.URL}} {
		b.Run(v.name, func(b *testing.B) { loadRateLimit(b, strings.TrimPrefix(v.url, "http://"), tok) })
	}
}

// loadRateLimit sends b.N requests for /rate_limit to addr over 8
// keep-alive connections and reports cpu-ns/op.
func loadRateLimit(b *testing.B, addr, tok string) {
	req := []byte("GET /rate_limit HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + tok + "\r\nAccept: */*\r\n\r\n")
	const conns = 8
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for range conns {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			br := bufio.NewReaderSize(c, 8<<10)
			for left.Add(-1) >= 0 {
				if _, err := c.Write(req); err != nil {
					errs <- err
					return
				}
				n, status := -1, ""
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						errs <- err
						return
					}
					if status == "" {
						status = string(line)
						continue
					}
					if len(line) <= 2 {
						break
					}
					if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
						n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
					}
				}
				if !strings.HasPrefix(status, "HTTP/1.1 200 ") || n < 0 {
					errs <- fmt.Errorf("answer %q, Content-Length %d", status, n)
					return
				}
				if _, err := br.Discard(n); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}
