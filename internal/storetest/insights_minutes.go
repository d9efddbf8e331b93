package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// testInsightsMinutesOfActorsAndUsers: an actor's and a user's minutes
// are exact in every answer, also when stores keep them inside five-minute
// rows (the embedded store and PostgreSQL do): several batches add to the
// same five minutes, in the same and in other minutes, of the same actor,
// route and user, and series by minute and five minutes, summaries and
// route- and user-stats over ranges with ragged minute edges match the
// events.
func testInsightsMinutesOfActorsAndUsers(t *testing.T, s insights.Store) {
	base := insightsNow.Add(-3 * time.Hour).Truncate(time.Hour).Add(7 * time.Minute) // minute 2 of a five-minute bucket
	var events []insights.Event
	for i := 0; i < 240; i++ {
		e := edgeEvent(fmt.Sprintf("m-%d", i), base.Add(time.Duration(i%13)*time.Minute+time.Duration(i*7%60)*time.Second))
		e.ActorID = int64(3 + i%2)
		e.UserID = int64(7 + i%3/2)
		e.APIRoute = []string{"/repos/:owner/:repo", "/user", "/orgs/:org"}[i%3]
		e.RateLimited = i%5 == 0
		e.Weight = int64(1 + i%4/3)
		events = append(events, e)
	}
	for i := 0; i < len(events); i += 40 { // batches that share five-minute rows
		ingest(t, s, events[i:i+40])
	}
	svc := service(s)
	ctx := t.Context()
	actor := insights.ActorRef{Type: usage.ActorClassicPAT, ID: 3}
	scopes := []struct {
		sc   insights.Scope
		keep func(e *insights.Event) bool
	}{
		{insights.Scope{Org: "acme-web", Actor: actor}, func(e *insights.Event) bool { return e.ActorID == 3 }},
		{insights.Scope{Org: "acme-web", UserID: 7}, func(e *insights.Event) bool { return e.UserID == 7 }},
		{insights.Scope{Org: "acme-web"}, func(*insights.Event) bool { return true }},
	}
	weigh := func(c *insights.Counts, e *insights.Event) {
		w := max(e.Weight, 1)
		ts := e.Timestamp.Unix()
		c.Total += w
		c.Last = max(c.Last, ts)
		if e.RateLimited {
			c.RateLimited += w
			c.LastRateLimited = max(c.LastRateLimited, ts)
		}
	}
	r := ref{events}
	for _, rg := range [][2]time.Duration{{0, 12 * time.Minute}, {time.Minute, 9 * time.Minute}, {3 * time.Minute, 4 * time.Minute}, {-10 * time.Minute, 30 * time.Minute}} {
		from, to := base.Add(rg[0]), base.Add(rg[1])
		for _, sc := range scopes {
			p := params(t, insights.EndpointSummary, rangeQuery(from, to))
			var want insights.Counts
			r.each(p, "acme-web", sc.keep, func(e *insights.Event) { weigh(&want, e) })
			got, err := svc.Summary(ctx, sc.sc, p)
			must(t, "Summary", err)
			if got.TotalRequestCount != want.Total || got.RateLimitedRequestCount != want.RateLimited {
				t.Errorf("summary %+v %s..%s = %+v, want %d, %d rate limited", sc.sc, from.Format(time.TimeOnly), to.Format(time.TimeOnly), got, want.Total, want.RateLimited)
			}
			for _, inc := range []string{"1m", "2m", "5m", "10m"} {
				pt := params(t, insights.EndpointTime, rangeQuery(from, to, "timestamp_increment", inc))
				want := map[string]insights.Counts{}
				r.each(pt, "acme-web", sc.keep, func(e *insights.Event) {
					k := insights.FormatTimestamp(e.Timestamp.Unix() / pt.Increment * pt.Increment)
					c := want[k]
					weigh(&c, e)
					want[k] = c
				})
				series, err := svc.TimeStats(ctx, sc.sc, pt)
				must(t, "TimeStats", err)
				n := 0
				for _, b := range series {
					w := want[b.Timestamp]
					if b.TotalRequestCount != w.Total || b.RateLimitedRequestCount != w.RateLimited {
						t.Errorf("time-stats %+v %s at %s: %d, %d rate limited; want %d, %d", sc.sc, inc, b.Timestamp, b.TotalRequestCount, b.RateLimitedRequestCount, w.Total, w.RateLimited)
					}
					if w.Total != 0 {
						n++
					}
				}
				if n != len(want) {
					t.Errorf("time-stats %+v %s: %d buckets with requests, want %d", sc.sc, inc, n, len(want))
				}
			}
		}
		pr := params(t, insights.EndpointRoutes, rangeQuery(from, to))
		wantR := map[string]insights.Counts{}
		r.each(pr, "acme-web", scopes[0].keep, func(e *insights.Event) {
			c := wantR[e.APIRoute]
			weigh(&c, e)
			wantR[e.APIRoute] = c
		})
		rp, err := svc.RouteStats(ctx, "acme-web", actor, pr)
		must(t, "RouteStats", err)
		if rp.Total != len(wantR) {
			t.Errorf("route-stats %s..%s: %d routes, want %d", from.Format(time.TimeOnly), to.Format(time.TimeOnly), rp.Total, len(wantR))
		}
		for _, it := range rp.Items {
			checkItem(t, "route "+it.APIRoute, it.TotalRequestCount, it.RateLimitedRequestCount, it.LastRequestTimestamp, it.LastRateLimitedTimestamp, wantR[it.APIRoute])
		}
		pu := params(t, insights.EndpointUserStats, rangeQuery(from, to))
		wantU := map[int64]insights.Counts{}
		r.each(pu, "acme-web", scopes[1].keep, func(e *insights.Event) {
			c := wantU[e.ActorID]
			weigh(&c, e)
			wantU[e.ActorID] = c
		})
		up, err := svc.UserStats(ctx, "acme-web", 7, pu)
		must(t, "UserStats", err)
		if up.Total != len(wantU) {
			t.Errorf("user-stats %s..%s: %d actors, want %d", from.Format(time.TimeOnly), to.Format(time.TimeOnly), up.Total, len(wantU))
		}
		for _, it := range up.Items {
			checkItem(t, "actor "+it.ActorName, it.TotalRequestCount, it.RateLimitedRequestCount, it.LastRequestTimestamp, it.LastRateLimitedTimestamp, wantU[it.ActorID])
		}
	}
}

// testInsightsDedupBusyMinute: ids are remembered exactly however a
// minute's ids are stored (the embedded store keeps a minute's first few
// ids in one row, then per shard): batches of one minute, first few ids,
// then many, then all of them again with new ones and repeats inside the
// batch, each count once.
func testInsightsDedupBusyMinute(t *testing.T, s insights.Store) {
	minute := insightsNow.Add(-2 * time.Hour).Truncate(time.Minute)
	mk := func(from, to int) []insights.Event {
		var out []insights.Event
		for i := from; i < to; i++ {
			out = append(out, edgeEvent(fmt.Sprintf("busy-%d", i), minute.Add(time.Duration(i%60)*time.Second)))
		}
		return out
	}
	check := func(what string, res insights.IngestResult, recorded, duplicates int) {
		t.Helper()
		if res.Recorded != recorded || res.Duplicates != duplicates {
			t.Errorf("%s: recorded %d, duplicates %d; want %d, %d", what, res.Recorded, res.Duplicates, recorded, duplicates)
		}
	}
	check("first 100", ingest(t, s, mk(0, 100)), 100, 0)
	check("100 again", ingest(t, s, mk(0, 100)), 0, 100)
	check("next 100", ingest(t, s, mk(100, 200)), 100, 0)
	again := append(mk(0, 250), mk(190, 260)...) // all so far, 60 new, and repeats within the batch
	check("all again and 60 new", ingest(t, s, again), 60, len(again)-60)
	check("one more", ingest(t, s, mk(260, 261)), 1, 0)
	check("all again", ingest(t, s, mk(0, 261)), 0, 261)
	got, err := service(s).Summary(t.Context(), insights.Scope{Org: "acme-web"},
		params(t, insights.EndpointSummary, rangeQuery(minute, minute)))
	must(t, "Summary", err)
	if got.TotalRequestCount != 261 {
		t.Errorf("the minute holds %d requests, want 261", got.TotalRequestCount)
	}
}
