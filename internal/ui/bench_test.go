package ui_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/testenv"
)

// BenchmarkPages renders each view over HTTP on the demo data (scale 0.2,
// 30 days of traffic), signed in as the administrator:
//
//	go test -run X -bench Pages ./internal/ui
func BenchmarkPages(b *testing.B) {
	env := testenv.New(b)
	if err := demo.SeedTraffic(b.Context(), env.Store, env.Data, 1, time.Now()); err != nil {
		b.Fatal(err)
	}
	c := newClient(b, env)
	c.signIn(env.AdminToken)
	for _, page := range []string{
		"/ui/insights", "/ui/insights/acme-web", "/ui/insights/acme-web?period=31d",
		"/ui/insights/acme-web?period=31d&interval=6h&type=user&rl=limited",
		"/ui/insights/acme-web/actors/installation/1?period=31d", "/ui/rate-limits",
	} {
		b.Run(page, func(b *testing.B) {
			for b.Loop() {
				resp, err := c.c.Get(env.URL + page)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", page, resp.StatusCode)
				}
			}
		})
	}
}
