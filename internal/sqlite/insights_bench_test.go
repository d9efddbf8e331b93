package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/insights/insightsgen"
	"github.com/ghusage/ghusage/internal/usage"
)

// BenchmarkInsightsIngest measures ingesting batches of 50,000 events with
// ids (one org, a long tail of routes, users spread over the batch).
func BenchmarkInsightsIngest(b *testing.B) {
	db := openTemp(b)
	now := time.Now()
	const size = 50_000
	batch := make([]insights.Event, size)
	cut := insights.DefaultRetention.Cutoffs(now)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range batch {
			k := n*size + i
			user := int64(1000 + k%50)
			batch[i] = insights.Event{ID: fmt.Sprintf("b-%d", k), Timestamp: now.Add(-time.Duration(k%(30*86400)) * time.Second),
				Org: "acme-web", ActorType: usage.ActorClassicPAT, ActorID: int64(1 + k%20), ActorName: "tok",
				UserID: user, UserLogin: "u", SubjectType: "user", SubjectID: user, SubjectName: "u",
				HTTPMethod: "GET", APIRoute: fmt.Sprintf("/r/%d", k%40)}
		}
		if _, err := db.InsightsIngest(context.Background(), batch, cut); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkInsightsHighCardinality answers subject-stats over 100,000
// subjects and route-stats over 300,000 routes of one actor (per_page=1),
// the shapes of doc/insights.md's high-cardinality figures; allocated
// bytes per answer are reported per group.
func BenchmarkInsightsHighCardinality(b *testing.B) {
	db := openTemp(b)
	now := time.Now().UTC().Truncate(time.Minute)
	cut := insights.DefaultRetention.Cutoffs(now)
	ctx := context.Background()
	const subjects, routes = 100_000, 300_000
	batch := make([]insights.Event, 0, 50_000)
	flush := func() {
		if _, err := db.InsightsIngest(ctx, batch, cut); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range subjects + routes {
		e := insights.Event{ID: fmt.Sprint(i), Timestamp: now.Add(-time.Duration(i%50) * time.Minute), Org: "acme-web",
			ActorType: usage.ActorInstallation, ActorID: 1, ActorName: "app", SubjectType: "installation", SubjectID: int64(1 + i),
			SubjectName: fmt.Sprint("s", i), HTTPMethod: "GET", APIRoute: "/repos/:owner/:repo"}
		if i >= subjects {
			e.ActorType, e.ActorID, e.SubjectType, e.SubjectID = usage.ActorClassicPAT, 2, "user", 1
			e.APIRoute = fmt.Sprintf("/bench/:id/r%d", i)
		}
		batch = append(batch, e)
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
	svc := insights.NewService(db, func() time.Time { return now })
	q := url.Values{"min_timestamp": {now.Add(-2 * time.Hour).Format(time.RFC3339)}, "per_page": {"1"}}
	for _, c := range []struct {
		name string
		n    int
		run  func(p *insights.Params) error
	}{
		{"subject-stats", subjects, func(p *insights.Params) error { _, err := svc.SubjectStats(ctx, "acme-web", p); return err }},
		{"route-stats", routes, func(p *insights.Params) error {
			_, err := svc.RouteStats(ctx, "acme-web", insights.ActorRef{Type: usage.ActorClassicPAT, ID: 2}, p)
			return err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			ep := insights.EndpointSubjects
			if c.name == "route-stats" {
				ep = insights.EndpointRoutes
			}
			p, err := insights.ParseParams(q, ep, now)
			if err != nil {
				b.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				if err := c.run(p); err != nil {
					b.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(c.n), "B/group")
		})
	}
}

// BenchmarkInsightsIngestTraffic ingests the traffic of `ghusage bench
// insights` (insightsgen: 400 skewed actors, 300 routes, 30 days, ids) in
// batches of 100,000 events, decoding each NDJSON batch first, on one
// goroutine: CPU per event (of the process, as getrusage counts it) of
// decode and of the store's ingest.
func BenchmarkInsightsIngestTraffic(b *testing.B) {
	const n, size = 1_000_000, 100_000
	now := time.Now().UTC().Truncate(time.Second)
	g := insightsgen.New(1, n, now.Add(-15*24*time.Hour), now, "acme-web")
	bodies := make([][]byte, 0, n/size)
	for first := 0; first < n; first += size {
		var body []byte
		for i := first; i < first+size; i++ {
			body = g.AppendJSON(body, i)
		}
		bodies = append(bodies, body)
	}
	ret := insights.DefaultRetention
	ret.Minute, ret.Dedup = 40*24*time.Hour, 40*24*time.Hour
	cut := ret.Cutoffs(now)
	var decode, ingest time.Duration
	for b.Loop() {
		b.StopTimer()
		db := openTemp(b)
		b.StartTimer()
		for _, body := range bodies {
			t0 := cpuTime()
			evs, err := insights.DecodeAll(bytes.NewReader(body), now, size)
			if err != nil {
				b.Fatal(err)
			}
			t1 := cpuTime()
			if _, err := db.InsightsIngest(context.Background(), evs, cut); err != nil {
				b.Fatal(err)
			}
			decode += t1 - t0
			ingest += cpuTime() - t1
		}
	}
	events := float64(b.N * n)
	b.ReportMetric(float64(decode.Nanoseconds())/events, "decode-ns/event")
	b.ReportMetric(float64(ingest.Nanoseconds())/events, "ingest-ns/event")
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
