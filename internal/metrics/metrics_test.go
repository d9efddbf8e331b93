package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestExposition(t *testing.T) {
	r := New()
	r.ObserveRequest("GET", "GET /rate_limit", 200, 2*time.Millisecond)
	r.ObserveRequest("GET", "GET /rate_limit", 200, 40*time.Millisecond)
	r.ObserveRequest("GET", "other", 404, time.Millisecond)
	c := r.Counter("ghusage_redis_failures_total", "Redis calls that failed.", "mode", "open")
	c.Inc()
	c.Add(2)
	if r.Counter("ghusage_redis_failures_total", "", "mode", "open") != c {
		t.Fatal("the same name and labels gave two counters")
	}
	dropped := int64(0)
	r.CounterFunc("ghusage_dropped_total", "Things dropped.", func() int64 { return dropped })
	dropped = 7
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`ghusage_http_requests_total{method="GET",route="GET /rate_limit",status="200"} 2`,
		`ghusage_http_requests_total{method="GET",route="other",status="404"} 1`,
		`ghusage_http_request_duration_seconds_bucket{method="GET",route="GET /rate_limit",status="200",le="0.0025"} 1`,
		`ghusage_http_request_duration_seconds_bucket{method="GET",route="GET /rate_limit",status="200",le="0.05"} 2`,
		`ghusage_http_request_duration_seconds_bucket{method="GET",route="GET /rate_limit",status="200",le="+Inf"} 2`,
		`ghusage_http_request_duration_seconds_count{method="GET",route="GET /rate_limit",status="200"} 2`,
		"# TYPE ghusage_redis_failures_total counter",
		`ghusage_redis_failures_total{mode="open"} 3`,
		"# TYPE ghusage_dropped_total counter\nghusage_dropped_total 7",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
	}
}

func TestNilRegistryCounterCounts(t *testing.T) {
	var r *Registry
	c := r.Counter("x", "y")
	c.Inc()
	if c.Value() != 1 {
		t.Fatal("a counter from a nil registry does not count")
	}
}
