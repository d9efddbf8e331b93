package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/testenv"
)

// BenchmarkServerStats measures the server-statistics history of 365 days
// of ten servers (3,650 items) and /enterprise/stats/all over their latest
// snapshots, through the whole pipeline, beside GET /rate_limit as the
// pipeline's baseline:
//
//	go test -run X -bench ServerStats -benchtime 50x ./internal/httpapi
func BenchmarkServerStats(b *testing.B) {
	env := testenv.New(b)
	today := time.Now().UTC()
	var items []string
	for d := range 365 {
		day := today.AddDate(0, 0, d-364).Format("2006-01-02")
		for s := range 10 {
			items = append(items, statsItem("srv-"+string(rune('a'+s)), day, d+s))
		}
	}
	resp, body := env.Do(b, http.MethodPost, "/ghusage/v1/ingest/server-statistics?account=acme", env.AdminToken, strings.NewReader("["+strings.Join(items, ",")+"]"))
	if resp.StatusCode != 200 {
		b.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	for _, c := range []struct{ name, path string }{
		{"rate_limit", "/rate_limit"},
		{"history-365d-10servers", "/enterprise-installation/acme/server-statistics"},
		{"stats-all-10servers", "/enterprise/stats/all"},
	} {
		b.Run(c.name, func(b *testing.B) {
			size := 0
			for b.Loop() {
				resp, body := env.Get(b, c.path, env.AdminToken)
				if resp.StatusCode != 200 {
					b.Fatalf("GET %s: %d", c.path, resp.StatusCode)
				}
				size = len(body)
			}
			b.ReportMetric(float64(size), "bytes/op-body")
		})
	}
}
