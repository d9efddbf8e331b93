package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
)

func TestParsePeriod(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 30, 15, 0, time.UTC)
	for _, tc := range []struct {
		query              string
		from, to, interval string
	}{
		{"", "2026-12-01T08:30:15Z", "2026-12-02T08:30:15Z", "1h"}, // GitHub's default: 24 h
		{"period=30m", "2026-12-02T08:00:15Z", "2026-12-02T08:30:15Z", "1m"},
		{"period=7d&interval=1d", "2026-11-25T08:30:15Z", "2026-12-02T08:30:15Z", "1d"},
		{"period=7d&interval=1m", "2026-11-25T08:30:15Z", "2026-12-02T08:30:15Z", "6h"}, // not offered: the default
		{"period=31d", "2026-11-01T08:30:15Z", "2026-12-02T08:30:15Z", "1d"},
		{"period=custom&from=2026-12-01T00:00&to=2026-12-01T06:00", "2026-12-01T00:00:00Z", "2026-12-01T06:00:00Z", "5m"},
		{"period=custom&from=2026-11-01", "2026-11-01T00:00:00Z", "2026-12-02T08:30:15Z", "6h"},
		{"period=custom&from=2026-12-01T09:00%2B09:00&to=2026-12-01T10:00Z", "2026-12-01T00:00:00Z", "2026-12-01T10:00:00Z", "5m"},
	} {
		q, _ := url.ParseQuery(tc.query)
		p, err := parsePeriod(q, now)
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		if got := p.From.Format(time.RFC3339) + " " + p.To.Format(time.RFC3339) + " " + p.Interval; got != tc.from+" "+tc.to+" "+tc.interval {
			t.Errorf("%q: %s, want %s %s %s", tc.query, got, tc.from, tc.to, tc.interval)
		}
		if p.Query.Get("min_timestamp") != tc.from || p.Query.Get("max_timestamp") != tc.to {
			t.Errorf("%q: API query %v", tc.query, p.Query)
		}
		// The API's own parser accepts the query and every offered interval.
		for _, iv := range p.Intervals {
			if _, err := p.params(insights.EndpointTime, now, "timestamp_increment", iv); err != nil {
				t.Errorf("%q: interval %s: %v", tc.query, iv, err)
			}
		}
	}
	for query, field := range map[string]string{
		"period=5y":                    "period",
		"period=custom":                "from",
		"period=custom&from=yesterday": "from",
		"period=custom&from=2026-12-01&to=2026-11-01": "to",
		"period=custom&from=2026-12-01&to=2026-12-01": "to",
	} {
		q, _ := url.ParseQuery(query)
		_, err := parsePeriod(q, now)
		pe, ok := err.(*pageError)
		if !ok || pe.status != http.StatusUnprocessableEntity || !strings.HasPrefix(pe.message, field+":") {
			t.Errorf("%q: %v, want a 422 naming %s", query, err, field)
		}
	}
}

func TestSeriesChart(t *testing.T) {
	s := &insights.Series{First: 1_764_633_600, Increment: 3600, Counts: []insights.SeriesCounts{{Total: 10, RateLimited: 2}, {}, {Total: 1234}}}
	c := seriesChart(s, `a <label> & "quote"`, s.First+60, s.First+3*3600)
	if c.Buckets != 3 || c.Total != 1244 || c.RateLimited != 2 || c.Partial != 1 {
		t.Errorf("chart totals %+v", c)
	}
	svg := string(c.SVG)
	if n := strings.Count(svg, `<g class="pt"`); n != 3 {
		t.Errorf("%d points, want one per bucket (3)", n)
	}
	for _, want := range []string{`data-ts="1764633600" data-total="10" data-rate-limited="2"`, `data-total="1234"`,
		`aria-label="a &lt;label&gt; &amp; &#34;quote&#34;"`, `1,234 requests, 0 rate-limited</title>`, `10 requests, 2 rate-limited (partial bucket)</title>`} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %s", want)
		}
	}
	if strings.Contains(svg, "style=") {
		t.Error("inline style attributes break the Content-Security-Policy")
	}
}

func TestNiceCeil(t *testing.T) {
	for v, want := range map[int64]int64{0: 4, 3: 4, 5: 8, 13: 16, 45: 60, 100: 100, 101: 120, 58_226: 60_000, 7_000_001: 8_000_000} {
		if got := niceCeil(v); got != want || got%4 != 0 || got < v {
			t.Errorf("niceCeil(%d) = %d, want %d", v, got, want)
		}
	}
	for v, want := range map[int64]string{0: "0", 999: "999", 9999: "9999", 15000: "15k", 1_500_000: "1.5M"} {
		if got := compact(v); got != want {
			t.Errorf("compact(%d) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := grouped(v); got != want {
			t.Errorf("grouped(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/ui/insights?period=7d": "/ui/insights?period=7d", "": "/ui/", "/rate_limit": "/ui/",
		"//evil.example/ui/": "/ui/", "https://evil.example/ui/": "/ui/", "/ui/\\evil": "/ui/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
