package storetest

import (
	"net/url"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// edgeEvent is one request of acme-web at ts.
func edgeEvent(id string, ts time.Time) insights.Event {
	return insights.Event{ID: id, Timestamp: ts, Org: "acme-web", ActorType: usage.ActorClassicPAT, ActorID: 3, ActorName: "tok",
		UserID: 7, UserLogin: "u7", SubjectType: insights.SubjectUser, SubjectID: 7, SubjectName: "u7",
		HTTPMethod: "GET", APIRoute: "/repos/:owner/:repo"}
}

// testInsightsMinEqualsMax: min_timestamp equal to max_timestamp is the
// one minute both name, both ends included: the requests of that minute
// (at its first and last second) count, those of the minutes around it
// do not.
func testInsightsMinEqualsMax(t *testing.T, s insights.Store) {
	minute := insightsNow.Add(-3 * time.Hour).Truncate(time.Minute)
	ingest(t, s, []insights.Event{
		edgeEvent("m-before", minute.Add(-time.Second)),
		edgeEvent("m-first", minute),
		edgeEvent("m-last", minute.Add(59*time.Second)),
		edgeEvent("m-after", minute.Add(time.Minute)),
	})
	svc := service(s)
	for _, at := range []time.Time{minute, minute.Add(30 * time.Second)} {
		ts := at.Format(time.RFC3339)
		q := url.Values{"min_timestamp": {ts}, "max_timestamp": {ts}}
		got, err := svc.Summary(t.Context(), insights.Scope{Org: "acme-web"}, params(t, insights.EndpointSummary, q))
		must(t, "Summary", err)
		if got.TotalRequestCount != 2 {
			t.Errorf("min_timestamp = max_timestamp = %s: %d requests, want the 2 of that minute", ts, got.TotalRequestCount)
		}
		q.Set("timestamp_increment", "1m")
		series, err := svc.TimeStats(t.Context(), insights.Scope{Org: "acme-web"}, params(t, insights.EndpointTime, q))
		must(t, "TimeStats", err)
		if len(series) != 1 || series[0].Timestamp != insights.FormatTimestamp(minute.Unix()) || series[0].TotalRequestCount != 2 {
			t.Errorf("time-stats with min_timestamp = max_timestamp = %s: %+v, want one bucket at %s with 2", ts, series, minute.Format(time.RFC3339))
		}
	}
}

// testInsightsRetentionCutoffMinute: the minute the minute-level
// retention cuts at is kept, and a range starting in it is answered
// exactly from minute buckets; the minute before is pruned, so a range
// starting there widens to its five minutes.
func testInsightsRetentionCutoffMinute(t *testing.T, s insights.Store) {
	keep := insights.Retention{Minute: 2 * 24 * time.Hour, Hour: 30 * 24 * time.Hour}
	cutoff := time.Unix(keep.Cutoffs(insightsNow).Level[insights.Minute], 0).UTC()
	if !cutoff.Equal(insightsNow.Add(-keep.Minute).Truncate(time.Minute)) {
		t.Fatalf("cutoff %s is not the minute of now minus the retention", cutoff)
	}
	hour := cutoff.Truncate(time.Hour)
	ingest(t, s, []insights.Event{
		edgeEvent("c-hour", hour),                                // same hour, earlier minute (unless the cutoff is on the hour)
		edgeEvent("c-before", cutoff.Add(-time.Second)),          // the minute before the cutoff
		edgeEvent("c-in", cutoff.Add(20*time.Second)),            // in the cutoff minute
		edgeEvent("c-next", cutoff.Add(time.Minute+time.Second)), // the minute after
	})
	if _, err := s.InsightsPrune(t.Context(), keep.Cutoffs(insightsNow)); err != nil {
		t.Fatal(err)
	}
	svc := service(s)
	svc.Retention = keep
	count := func(from, to time.Time) int64 {
		q := url.Values{"min_timestamp": {from.Format(time.RFC3339)}, "max_timestamp": {to.Format(time.RFC3339)}}
		got, err := svc.Summary(t.Context(), insights.Scope{Org: "acme-web"}, params(t, insights.EndpointSummary, q))
		must(t, "Summary", err)
		return got.TotalRequestCount
	}
	if n := count(cutoff, cutoff); n != 1 {
		t.Errorf("the cutoff minute %s alone: %d requests, want 1 (its minute bucket must be kept)", cutoff.Format(time.RFC3339), n)
	}
	if n := count(cutoff, cutoff.Add(time.Minute)); n != 2 {
		t.Errorf("the cutoff minute and the next: %d requests, want 2", n)
	}
	// A range starting in the minute before the cutoff (pruned) widens
	// to its five-minute bucket, which is kept: every event from there on
	// counts.
	from := time.Unix(insights.FiveMinutes.Floor(cutoff.Add(-time.Minute).Unix()), 0)
	want := int64(0)
	for _, ts := range []time.Time{hour, cutoff.Add(-time.Second), cutoff.Add(20 * time.Second), cutoff.Add(time.Minute + time.Second)} {
		if !ts.Before(from) {
			want++
		}
	}
	if n := count(cutoff.Add(-time.Minute), cutoff.Add(time.Minute)); n != want {
		t.Errorf("from the minute before the cutoff: %d requests, want %d (widened to the five minutes from %s)", n, want, from.UTC().Format(time.RFC3339))
	}
}

// testInsightsWeightedRateLimited: an event of weight w counts as w
// requests, and when rate limited as w rate-limited requests, in every
// answer.
func testInsightsWeightedRateLimited(t *testing.T, s insights.Store) {
	ts := insightsNow.Add(-30 * time.Minute).Truncate(time.Second)
	e := edgeEvent("w-1", ts)
	e.Weight, e.RateLimited = 5, true
	plain := edgeEvent("w-2", ts.Add(-time.Minute))
	plain.Weight = 3
	ingest(t, s, []insights.Event{e, plain})
	svc := service(s)
	q := rangeQuery(insightsNow.Add(-time.Hour), insightsNow)
	ctx := t.Context()
	check := func(what string, total, rl int64) {
		t.Helper()
		if total != 8 || rl != 5 {
			t.Errorf("%s: %d requests, %d rate limited; want 8 and 5 (weights 5, rate limited, and 3)", what, total, rl)
		}
	}
	sum, err := svc.Summary(ctx, insights.Scope{Org: "acme-web"}, params(t, insights.EndpointSummary, q))
	must(t, "Summary", err)
	check("summary-stats", sum.TotalRequestCount, sum.RateLimitedRequestCount)
	for _, sc := range []insights.Scope{{Org: "acme-web", UserID: 7}, {Org: "acme-web", Actor: insights.ActorRef{Type: usage.ActorClassicPAT, ID: 3}}} {
		sum, err := svc.Summary(ctx, sc, params(t, insights.EndpointSummary, q))
		must(t, "Summary", err)
		check("summary-stats by user or actor", sum.TotalRequestCount, sum.RateLimitedRequestCount)
	}
	qt := rangeQuery(insightsNow.Add(-time.Hour), insightsNow, "timestamp_increment", "1h")
	series, err := svc.TimeStats(ctx, insights.Scope{Org: "acme-web"}, params(t, insights.EndpointTime, qt))
	must(t, "TimeStats", err)
	tot, rl := sumSeries(series)
	check("time-stats", tot, rl)
	subs, err := svc.SubjectStats(ctx, "acme-web", params(t, insights.EndpointSubjects, q))
	must(t, "SubjectStats", err)
	if len(subs.Items) != 1 {
		t.Fatalf("subject-stats: %d items", len(subs.Items))
	}
	check("subject-stats", subs.Items[0].TotalRequestCount, subs.Items[0].RateLimitedRequestCount)
	if subs.Items[0].LastRateLimitedTimestamp == nil || *subs.Items[0].LastRateLimitedTimestamp != insights.FormatTimestamp(ts.Unix()) {
		t.Errorf("subject-stats last_rate_limited_timestamp = %v, want %s", subs.Items[0].LastRateLimitedTimestamp, ts.Format(time.RFC3339))
	}
	users, err := svc.UserStats(ctx, "acme-web", 7, params(t, insights.EndpointUserStats, q))
	must(t, "UserStats", err)
	if len(users.Items) != 1 {
		t.Fatalf("user-stats: %d items", len(users.Items))
	}
	check("user-stats", users.Items[0].TotalRequestCount, users.Items[0].RateLimitedRequestCount)
	routes, err := svc.RouteStats(ctx, "acme-web", insights.ActorRef{Type: usage.ActorClassicPAT, ID: 3}, params(t, insights.EndpointRoutes, q))
	must(t, "RouteStats", err)
	if len(routes.Items) != 1 {
		t.Fatalf("route-stats: %d items", len(routes.Items))
	}
	check("route-stats", routes.Items[0].TotalRequestCount, routes.Items[0].RateLimitedRequestCount)
}
