package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/insights/insightsgen"
	"github.com/ghusage/ghusage/internal/usage"
)

// benchEvents returns n events with ids for one organization spread over
// a day, with the dimensions of a busy organization: 50 actors, 200
// users, 40 routes.
func benchEvents(start, n int, now time.Time) []insights.Event {
	return benchEventsOver(start, n, now, 86400)
}

// benchEventsOver spreads the events over the last span seconds.
func benchEventsOver(start, n int, now time.Time, span int) []insights.Event {
	routes := make([]string, 40)
	for i := range routes {
		routes[i] = fmt.Sprintf("/repos/:owner/:repo/route%d", i)
	}
	out := make([]insights.Event, n)
	for i := range out {
		k := start + i
		out[i] = insights.Event{
			ID: fmt.Sprintf("bench-%d", k), Timestamp: now.Add(-time.Duration(k%span) * time.Second),
			Org: "acme-web", ActorType: usage.ActorClassicPAT, ActorID: int64(1 + k%50), ActorName: "token",
			UserID: int64(1 + k%200), SubjectType: insights.SubjectUser, SubjectID: int64(1 + k%200), SubjectName: "user",
			HTTPMethod: "GET", APIRoute: routes[k%40], RateLimited: k%50 == 0,
		}
	}
	return out
}

// BenchmarkInsightsIngestBatch measures InsightsIngest in batches of
// 10,000 events (ns/op is per batch; events/s is reported).
func BenchmarkInsightsIngestBatch(b *testing.B) {
	db := openB(b)
	now := time.Now().UTC()
	cut := insights.DefaultRetention.Cutoffs(now)
	const batch = 10_000
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		evs := benchEvents(i*batch, batch, now)
		if _, err := db.InsightsIngest(b.Context(), evs, cut); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkInsightsIngestLive is BenchmarkInsightsIngestBatch with the
// events of each batch within the last five minutes, as a gateway
// shipping live traffic sends them.
func BenchmarkInsightsIngestLive(b *testing.B) {
	db := openB(b)
	now := time.Now().UTC()
	cut := insights.DefaultRetention.Cutoffs(now)
	const batch = 10_000
	for i := 0; b.Loop(); i++ {
		if _, err := db.InsightsIngest(b.Context(), benchEventsOver(i*batch, batch, now, 300), cut); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkInsightsSummary30Days measures one summary-stats read over 30
// days (five segments) after a day of traffic was ingested.
func BenchmarkInsightsSummary30Days(b *testing.B) {
	db := openB(b)
	now := time.Now().UTC()
	cut := insights.DefaultRetention.Cutoffs(now)
	for i := range 20 {
		if _, err := db.InsightsIngest(b.Context(), benchEvents(i*10_000, 10_000, now), cut); err != nil {
			b.Fatal(err)
		}
	}
	segs := insights.Segments(insights.Minute.Floor(now.Add(-30*24*time.Hour).Unix()), insights.Minute.Floor(now.Unix())+60, insights.Day)
	for b.Loop() {
		if _, err := db.InsightsTotals(b.Context(), insights.Scope{Org: "acme-web"}, segs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenByHash measures the token lookup every uncached request makes.
func BenchmarkTokenByHash(b *testing.B) {
	db := openB(b)
	u := &usage.User{Login: "mona"}
	if err := db.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	s := usage.NewTokenString(usage.ActorClassicPAT)
	if err := db.CreateToken(b.Context(), &usage.Token{Type: usage.ActorClassicPAT, Hash: usage.HashToken(s), UserID: u.ID}); err != nil {
		b.Fatal(err)
	}
	h := usage.HashToken(s)
	for b.Loop() {
		if _, err := db.TokenByHash(b.Context(), h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLeaseAcquire measures one scheduler tick's lease check.
func BenchmarkLeaseAcquire(b *testing.B) {
	l := openB(b).Leases()
	now := time.Now()
	for b.Loop() {
		if _, err := l.Acquire(b.Context(), "job", "a", now, time.Hour, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsightsActorReads30Days measures the reads of one busy actor
// over 30 days (summary-stats and route-stats by actor) after 300,000
// events of that actor spread over the 30 days were ingested.
func BenchmarkInsightsActorReads30Days(b *testing.B) {
	db := openB(b)
	now := time.Now().UTC()
	cut := insights.DefaultRetention.Cutoffs(now)
	for i := range 30 {
		evs := benchEventsOver(i*10_000, 10_000, now, 30*86400)
		for j := range evs {
			evs[j].ActorID = 1
			evs[j].Timestamp = now.Add(-time.Duration((i*10_000+j)*8640) * time.Millisecond)
		}
		if _, err := db.InsightsIngest(b.Context(), evs, cut); err != nil {
			b.Fatal(err)
		}
	}
	segs := insights.Segments(insights.Minute.Floor(now.Add(-30*24*time.Hour).Unix())+7*60, insights.Minute.Floor(now.Unix())-13*60, insights.Day)
	actor := insights.ActorRef{Type: usage.ActorClassicPAT, ID: 1}
	b.Run("summary", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.InsightsTotals(b.Context(), insights.Scope{Org: "acme-web", Actor: actor}, segs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("routes", func(b *testing.B) {
		for b.Loop() {
			if _, err := insights.AllActorRoutes(b.Context(), db, "acme-web", actor, segs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("subjects", func(b *testing.B) {
		for b.Loop() {
			if _, err := insights.AllSubjects(b.Context(), db, "acme-web", segs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInsightsIngestSparse ingests batches of 100,000 events, each
// the next 72 hours of 30 days of sparse traffic: the events `ghusage bench
// insights --events 1000000 --days 30` sends, so nearly every roll-up key
// of a batch is new (after ten batches the same 30 days again under new
// ids, which then merge into existing rows).
func BenchmarkInsightsIngestSparse(b *testing.B) {
	db := openB(b)
	now := time.Now().UTC()
	cut := insights.DefaultRetention.Cutoffs(now)
	g := insightsgen.New(1, 1_000_000, now.Add(-30*24*time.Hour), now, "acme-data")
	const batch = 100_000
	evs := make([]insights.Event, batch)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		for k := range evs {
			n := i*batch + k
			evs[k] = g.Event(n % g.N)
			evs[k].ID = fmt.Sprintf("%s-round%d", evs[k].ID, n/g.N)
		}
		b.StartTimer()
		if _, err := db.InsightsIngest(b.Context(), evs, cut); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
