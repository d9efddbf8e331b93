package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/testenv"
)

// BenchmarkTimeStats30d5m measures the three time-stats shapes through the
// whole handler tree (no network) on a 30-day series in five-minute
// buckets: 8,640 buckets, about 800 KB of JSON per answer. The events are
// spread so that every five-minute bucket of the organization, of the user
// and of the actor holds requests (the dense case the answer is built for).
func BenchmarkTimeStats30d5m(b *testing.B) {
	env := testenv.New(b)
	now := time.Now().UTC()
	const n = 30 * 24 * 60 / 2 // one event every other minute for 30 days
	events := make([]insights.Event, 0, 20_000)
	flush := func() {
		if resp, body := postEvents(b, env, env.AdminToken, ndjson(b, events)); resp.StatusCode != 200 {
			b.Fatalf("ingest: %d %s", resp.StatusCode, body)
		}
		events = events[:0]
	}
	for i := 0; i < n; i++ {
		e := testEvent(i, now)
		// testEvent spreads events over two days; spread them over 30.
		e.Timestamp = now.Add(-time.Duration(2*i) * time.Minute).Truncate(time.Second)
		// One user and one actor hold every event, so their series are dense.
		e.ActorType, e.ActorID, e.ActorName = "classic_pat", 1, "classic_pat 1"
		e.IntegrationID, e.OAuthApplicationID = 0, 0
		e.UserID, e.UserLogin = 101, "user101"
		e.SubjectType, e.SubjectID, e.SubjectName = insights.SubjectUser, 101, "user101"
		events = append(events, e)
		if len(events) == cap(events) {
			flush()
		}
	}
	flush()
	min := url.QueryEscape(now.Add(-30 * 24 * time.Hour).Format(time.RFC3339))
	h := env.Server.API.Handler()
	for _, c := range []struct{ name, path string }{
		{"org", "/orgs/acme-web/insights/api/time-stats"},
		{"user", "/orgs/acme-web/insights/api/time-stats/users/101"},
		{"actor", "/orgs/acme-web/insights/api/time-stats/classic_pat/1"},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", c.path+"?timestamp_increment=5m&min_timestamp="+min, nil)
			req.Header.Set("Authorization", "Bearer "+env.AdminToken)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK || w.Body.Len() < 8640*80 {
				b.Fatalf("GET %s: %d, %d bytes", c.path, w.Code, w.Body.Len())
			}
			b.SetBytes(int64(w.Body.Len()))
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
			}
		})
	}
	// The org series over a loopback connection, read as a client does.
	b.Run("org-http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp, _ := env.Get(b, "/orgs/acme-web/insights/api/time-stats?timestamp_increment=5m&min_timestamp="+min, env.AdminToken)
			if resp.StatusCode != http.StatusOK {
				b.Fatal(resp.Status)
			}
		}
	})
}
