package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// RunInsights runs the API insights conformance cases against backends
// whose Store also implements insights.Store (others are skipped).
func RunInsights(t *testing.T, open func(t *testing.T) Backend) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s insights.Store)
	}{
		{"MatchesReference", testInsightsMatchesReference},
		{"Invariants", testInsightsInvariants},
		{"Dedup", testInsightsDedup},
		{"LateEventsAndNames", testInsightsLateEventsAndNames},
		{"Retention", testInsightsRetention},
		{"OrgsAreSeparate", testInsightsOrgsAreSeparate},
		{"ListOrder", testInsightsListOrder},
		{"DedupWindow", testInsightsDedupWindow},
		{"MinEqualsMax", testInsightsMinEqualsMax},
		{"RetentionCutoffMinute", testInsightsRetentionCutoffMinute},
		{"WeightedRateLimited", testInsightsWeightedRateLimited},
		{"MinutesOfActorsAndUsers", testInsightsMinutesOfActorsAndUsers},
		{"DedupBusyMinute", testInsightsDedupBusyMinute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := open(t)
			is, ok := b.Store.(insights.Store)
			if !ok {
				t.Skip("backend does not implement insights.Store")
			}
			c.fn(t, is)
		})
	}
}

// insightsNow is the fixed clock of the insights cases.
var insightsNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

var (
	testActorTypes = []usage.ActorType{usage.ActorInstallation, usage.ActorClassicPAT, usage.ActorFineGrainedPAT, usage.ActorOAuthApp, usage.ActorUserToServer}
	testMethods    = []string{"GET", "GET", "GET", "POST", "PATCH", "DELETE"}
)

// genEvents returns n random events over the span before insightsNow, for
// orgs, with ids prefixed by idPrefix (or none when idPrefix is "").
func genEvents(seed uint64, n int, span time.Duration, orgs []string, idPrefix string) []insights.Event {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]insights.Event, n)
	for i := range out {
		actorType := testActorTypes[r.IntN(len(testActorTypes))]
		actorID := int64(1 + r.IntN(12))
		e := insights.Event{
			Timestamp:   insightsNow.Add(-time.Duration(r.Int64N(int64(span)))).Truncate(time.Second),
			Org:         orgs[r.IntN(len(orgs))],
			ActorType:   actorType,
			ActorID:     actorID,
			ActorName:   fmt.Sprintf("%s-%d", actorType, actorID),
			HTTPMethod:  testMethods[r.IntN(len(testMethods))],
			APIRoute:    fmt.Sprintf("/repos/:owner/:repo/r%d", r.IntN(15)),
			RateLimited: r.IntN(10) == 0,
		}
		if actorType == usage.ActorOAuthApp {
			e.OAuthApplicationID = 500 + actorID
		}
		if actorType == usage.ActorInstallation {
			e.IntegrationID = 700 + actorID
			e.SubjectType, e.SubjectID, e.SubjectName = insights.SubjectInstallation, 900+actorID, fmt.Sprintf("App %d", actorID)
		} else {
			e.UserID = int64(1 + r.IntN(8))
			e.UserLogin = fmt.Sprintf("user%d", e.UserID)
			e.SubjectType, e.SubjectID, e.SubjectName = insights.SubjectUser, e.UserID, e.UserLogin
		}
		if idPrefix != "" {
			e.ID = fmt.Sprintf("%s-%d", idPrefix, i)
		}
		out[i] = e
	}
	return out
}

func ingest(t *testing.T, s insights.Store, events []insights.Event) insights.IngestResult {
	t.Helper()
	res, err := s.InsightsIngest(t.Context(), events, insights.Retention{}.Cutoffs(insightsNow))
	must(t, "InsightsIngest", err)
	return res
}

func service(s insights.Store) *insights.Service {
	return &insights.Service{Store: s, Now: func() time.Time { return insightsNow }}
}

// ref is the reference answer computed from raw events.
type ref struct{ events []insights.Event }

func (r ref) each(p *insights.Params, org string, keep func(e *insights.Event) bool, fn func(e *insights.Event)) {
	for i := range r.events {
		e := &r.events[i]
		ts := e.Timestamp.Unix()
		if e.Org == org && ts >= p.Start && ts < p.End && keep(e) {
			fn(e)
		}
	}
}

func addEvent(c *insights.Counts, e *insights.Event) {
	ts := e.Timestamp.Unix()
	c.Total++
	c.Last = max(c.Last, ts)
	if e.RateLimited {
		c.RateLimited++
		c.LastRateLimited = max(c.LastRateLimited, ts)
	}
}

func params(t *testing.T, ep insights.Endpoint, q url.Values) *insights.Params {
	t.Helper()
	p, err := insights.ParseParams(q, ep, insightsNow)
	must(t, "ParseParams "+q.Encode(), err)
	return p
}

func rangeQuery(from, to time.Time, extra ...string) url.Values {
	q := url.Values{"min_timestamp": {from.Format(time.RFC3339)}, "max_timestamp": {to.Format(time.RFC3339)}, "per_page": {"100"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

func testInsightsMatchesReference(t *testing.T, s insights.Store) {
	orgs := []string{"acme-web", "acme-data"}
	events := genEvents(1, 6000, 3*24*time.Hour, orgs, "ref")
	for i := 0; i < len(events); i += 1000 { // several batches, out of time order
		ingest(t, s, events[i:min(i+1000, len(events))])
	}
	r := ref{events}
	svc := service(s)
	ctx := t.Context()
	ranges := [][2]time.Time{
		{insightsNow.Add(-72 * time.Hour), insightsNow},
		{insightsNow.Add(-49*time.Hour - 17*time.Minute + 13*time.Second), insightsNow.Add(-3*time.Hour - 2*time.Minute)},
		{insightsNow.Add(-90 * time.Minute), insightsNow.Add(-80 * time.Minute)},
		{time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 13, 23, 59, 59, 0, time.UTC)},
	}
	for _, rg := range ranges {
		q := rangeQuery(rg[0], rg[1])
		p := params(t, insights.EndpointSummary, q)
		for _, org := range orgs {
			var want insights.Counts
			r.each(p, org, func(*insights.Event) bool { return true }, func(e *insights.Event) { addEvent(&want, e) })
			got, err := svc.Summary(ctx, insights.Scope{Org: org}, p)
			must(t, "Summary", err)
			if got.TotalRequestCount != want.Total || got.RateLimitedRequestCount != want.RateLimited {
				t.Errorf("summary %s %v = %+v, want total %d rl %d", org, rg, got, want.Total, want.RateLimited)
			}
			for uid := int64(1); uid <= 3; uid++ {
				var want insights.Counts
				r.each(p, org, func(e *insights.Event) bool { return e.UserID == uid }, func(e *insights.Event) { addEvent(&want, e) })
				got, err := svc.Summary(ctx, insights.Scope{Org: org, UserID: uid}, p)
				must(t, "Summary by user", err)
				if got.TotalRequestCount != want.Total || got.RateLimitedRequestCount != want.RateLimited {
					t.Errorf("summary %s user %d = %+v, want %+v", org, uid, got, want)
				}
			}
			actor := insights.ActorRef{Type: usage.ActorOAuthApp, ID: 3}
			var wantA insights.Counts
			r.each(p, org, func(e *insights.Event) bool { return e.ActorType == actor.Type && e.ActorID == actor.ID },
				func(e *insights.Event) { addEvent(&wantA, e) })
			gotA, err := svc.Summary(ctx, insights.Scope{Org: org, Actor: actor}, p)
			must(t, "Summary by actor", err)
			if gotA.TotalRequestCount != wantA.Total || gotA.RateLimitedRequestCount != wantA.RateLimited {
				t.Errorf("summary %s actor %v = %+v, want %+v", org, actor, gotA, wantA)
			}

			// subject-stats, all of them, compared item by item
			ps := params(t, insights.EndpointSubjects, q)
			wantS := map[insights.SubjectRef]insights.Counts{}
			r.each(ps, org, func(*insights.Event) bool { return true }, func(e *insights.Event) {
				k := insights.SubjectRef{Type: e.SubjectType, ID: e.SubjectID}
				c := wantS[k]
				addEvent(&c, e)
				wantS[k] = c
			})
			pg, err := svc.SubjectStats(ctx, org, ps)
			must(t, "SubjectStats", err)
			if pg.Total != len(wantS) {
				t.Errorf("subject-stats %s: %d subjects, want %d", org, pg.Total, len(wantS))
			}
			for _, it := range pg.Items {
				w := wantS[insights.SubjectRef{Type: it.SubjectType, ID: it.SubjectID}]
				checkItem(t, "subject "+it.SubjectName, it.TotalRequestCount, it.RateLimitedRequestCount, it.LastRequestTimestamp, it.LastRateLimitedTimestamp, w)
			}

			// route-stats for an actor
			pr := params(t, insights.EndpointRoutes, q)
			wantR := map[insights.RouteRef]insights.Counts{}
			r.each(pr, org, func(e *insights.Event) bool { return e.ActorType == actor.Type && e.ActorID == actor.ID }, func(e *insights.Event) {
				k := insights.RouteRef{Method: e.HTTPMethod, Route: e.APIRoute}
				c := wantR[k]
				addEvent(&c, e)
				wantR[k] = c
			})
			rp, err := svc.RouteStats(ctx, org, actor, pr)
			must(t, "RouteStats", err)
			if rp.Total != len(wantR) {
				t.Errorf("route-stats %s: %d routes, want %d", org, rp.Total, len(wantR))
			}
			for _, it := range rp.Items {
				w := wantR[insights.RouteRef{Method: it.HTTPMethod, Route: it.APIRoute}]
				checkItem(t, "route "+it.HTTPMethod+" "+it.APIRoute, it.TotalRequestCount, it.RateLimitedRequestCount, it.LastRequestTimestamp, it.LastRateLimitedTimestamp, w)
			}

			// user-stats for user 2
			pu := params(t, insights.EndpointUserStats, q)
			wantU := map[insights.ActorRef]insights.Counts{}
			r.each(pu, org, func(e *insights.Event) bool { return e.UserID == 2 }, func(e *insights.Event) {
				k := insights.ActorRef{Type: e.ActorType, ID: e.ActorID}
				c := wantU[k]
				addEvent(&c, e)
				wantU[k] = c
			})
			up, err := svc.UserStats(ctx, org, 2, pu)
			must(t, "UserStats", err)
			if up.Total != len(wantU) {
				t.Errorf("user-stats %s: %d actors, want %d", org, up.Total, len(wantU))
			}
			for _, it := range up.Items {
				w := wantU[insights.ActorRef{Type: usage.ActorType(it.ActorType), ID: it.ActorID}]
				checkItem(t, "actor "+it.ActorName, it.TotalRequestCount, it.RateLimitedRequestCount, it.LastRequestTimestamp, it.LastRateLimitedTimestamp, w)
				if it.ActorType == string(usage.ActorOAuthApp) && (it.OAuthApplicationID == nil || *it.OAuthApplicationID != 500+it.ActorID) {
					t.Errorf("actor %s: oauth_application_id = %v, want %d", it.ActorName, it.OAuthApplicationID, 500+it.ActorID)
				}
			}

			// time-stats at several increments
			for _, inc := range []string{"1m", "5m", "1h", "3h", "1d"} {
				pt := params(t, insights.EndpointTime, rangeQuery(rg[0], rg[1], "timestamp_increment", inc))
				series, err := svc.TimeStats(ctx, insights.Scope{Org: org}, pt)
				must(t, "TimeStats", err)
				want := map[string]insights.Counts{}
				r.each(pt, org, func(*insights.Event) bool { return true }, func(e *insights.Event) {
					b := e.Timestamp.Unix() / pt.Increment * pt.Increment
					c := want[insights.FormatTimestamp(b)]
					addEvent(&c, e)
					want[insights.FormatTimestamp(b)] = c
				})
				prev := ""
				for _, b := range series {
					if b.Timestamp <= prev {
						t.Fatalf("time-stats %s: bucket %s after %s", inc, b.Timestamp, prev)
					}
					prev = b.Timestamp
					w := want[b.Timestamp]
					if b.TotalRequestCount != w.Total || b.RateLimitedRequestCount != w.RateLimited {
						t.Errorf("time-stats %s %s bucket %s = %d/%d, want %d/%d", org, inc, b.Timestamp,
							b.TotalRequestCount, b.RateLimitedRequestCount, w.Total, w.RateLimited)
					}
					delete(want, b.Timestamp)
				}
				if len(want) > 0 {
					t.Errorf("time-stats %s %s: events in buckets not returned: %v", org, inc, want)
				}
			}
		}
	}
}

func checkItem(t *testing.T, what string, total, rl int64, last string, lastRL *string, w insights.Counts) {
	t.Helper()
	if total != w.Total || rl != w.RateLimited {
		t.Errorf("%s: counts %d/%d, want %d/%d", what, total, rl, w.Total, w.RateLimited)
	}
	if last != insights.FormatTimestamp(w.Last) {
		t.Errorf("%s: last_request_timestamp %s, want %s", what, last, insights.FormatTimestamp(w.Last))
	}
	switch {
	case w.LastRateLimited == 0 && lastRL != nil:
		t.Errorf("%s: last_rate_limited_timestamp %s, want null", what, *lastRL)
	case w.LastRateLimited != 0 && (lastRL == nil || *lastRL != insights.FormatTimestamp(w.LastRateLimited)):
		t.Errorf("%s: last_rate_limited_timestamp %v, want %s", what, lastRL, insights.FormatTimestamp(w.LastRateLimited))
	}
}

// testInsightsInvariants checks the consistency rules users rely on, on
// generated data over 30 days: time-stats buckets sum to summary-stats,
// subject-stats sum to summary-stats, user-stats of a user sum to
// summary-stats by that user, route-stats of an actor sum to summary-stats
// by that actor, and rate-limited counts never exceed totals.
func testInsightsInvariants(t *testing.T, s insights.Store) {
	org := "acme-web"
	events := genEvents(2, 8000, 30*24*time.Hour, []string{org}, "inv")
	ingest(t, s, events)
	svc := service(s)
	ctx := t.Context()
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 8; i++ {
		a := insightsNow.Add(-time.Duration(r.Int64N(int64(30 * 24 * time.Hour))))
		b := a.Add(time.Duration(r.Int64N(int64(insightsNow.Sub(a)))))
		q := rangeQuery(a, b)
		sum, err := svc.Summary(ctx, insights.Scope{Org: org}, params(t, insights.EndpointSummary, q))
		must(t, "Summary", err)
		if sum.RateLimitedRequestCount > sum.TotalRequestCount {
			t.Errorf("summary: rate limited %d > total %d", sum.RateLimitedRequestCount, sum.TotalRequestCount)
		}
		for _, inc := range []string{"5m", "10m", "1h", "1d", "1w"} {
			series, err := svc.TimeStats(ctx, insights.Scope{Org: org}, params(t, insights.EndpointTime, rangeQuery(a, b, "timestamp_increment", inc)))
			must(t, "TimeStats", err)
			var tot, rl int64
			for _, x := range series {
				tot += x.TotalRequestCount
				rl += x.RateLimitedRequestCount
				if x.RateLimitedRequestCount > x.TotalRequestCount {
					t.Errorf("time-stats bucket %s: rate limited > total", x.Timestamp)
				}
			}
			if tot != sum.TotalRequestCount || rl != sum.RateLimitedRequestCount {
				t.Errorf("time-stats %s over %v..%v sum to %d/%d, summary-stats says %d/%d", inc, a, b, tot, rl, sum.TotalRequestCount, sum.RateLimitedRequestCount)
			}
		}
		subs, err := allPages(t, func(p *insights.Params) (int, []countsOf, error) {
			pg, err := svc.SubjectStats(ctx, org, p)
			return pg.Total, mapItems(pg.Items, func(x insights.SubjectStat) countsOf {
				return countsOf{total: x.TotalRequestCount, rl: x.RateLimitedRequestCount}
			}), err
		}, insights.EndpointSubjects, q)
		must(t, "SubjectStats", err)
		if tot, rl := sumCounts(subs); tot != sum.TotalRequestCount || rl != sum.RateLimitedRequestCount {
			t.Errorf("subject-stats sum to %d/%d, summary-stats says %d/%d", tot, rl, sum.TotalRequestCount, sum.RateLimitedRequestCount)
		}
		for uid := int64(1); uid <= 8; uid += 3 {
			us, err := svc.Summary(ctx, insights.Scope{Org: org, UserID: uid}, params(t, insights.EndpointSummary, q))
			must(t, "Summary by user", err)
			items, err := allPages(t, func(p *insights.Params) (int, []countsOf, error) {
				pg, err := svc.UserStats(ctx, org, uid, p)
				return pg.Total, mapItems(pg.Items, func(x insights.UserStat) countsOf {
					return countsOf{total: x.TotalRequestCount, rl: x.RateLimitedRequestCount}
				}), err
			}, insights.EndpointUserStats, q)
			must(t, "UserStats", err)
			if tot, rl := sumCounts(items); tot != us.TotalRequestCount || rl != us.RateLimitedRequestCount {
				t.Errorf("user-stats of user %d sum to %d/%d, summary-stats by user says %d/%d", uid, tot, rl, us.TotalRequestCount, us.RateLimitedRequestCount)
			}
			series, err := svc.TimeStats(ctx, insights.Scope{Org: org, UserID: uid}, params(t, insights.EndpointTime, rangeQuery(a, b, "timestamp_increment", "10m")))
			must(t, "TimeStats by user", err)
			if tot, rl := sumSeries(series); tot != us.TotalRequestCount || rl != us.RateLimitedRequestCount {
				t.Errorf("time-stats by user %d sum to %d/%d, summary says %d/%d", uid, tot, rl, us.TotalRequestCount, us.RateLimitedRequestCount)
			}
		}
		for _, at := range testActorTypes {
			actor := insights.ActorRef{Type: at, ID: int64(1 + r.IntN(12))}
			as, err := svc.Summary(ctx, insights.Scope{Org: org, Actor: actor}, params(t, insights.EndpointSummary, q))
			must(t, "Summary by actor", err)
			items, err := allPages(t, func(p *insights.Params) (int, []countsOf, error) {
				pg, err := svc.RouteStats(ctx, org, actor, p)
				return pg.Total, mapItems(pg.Items, func(x insights.RouteStat) countsOf {
					return countsOf{total: x.TotalRequestCount, rl: x.RateLimitedRequestCount}
				}), err
			}, insights.EndpointRoutes, q)
			must(t, "RouteStats", err)
			if tot, rl := sumCounts(items); tot != as.TotalRequestCount || rl != as.RateLimitedRequestCount {
				t.Errorf("route-stats of %v sum to %d/%d, summary-stats by actor says %d/%d", actor, tot, rl, as.TotalRequestCount, as.RateLimitedRequestCount)
			}
			series, err := svc.TimeStats(ctx, insights.Scope{Org: org, Actor: actor}, params(t, insights.EndpointTime, rangeQuery(a, b, "timestamp_increment", "1h")))
			must(t, "TimeStats by actor", err)
			if tot, rl := sumSeries(series); tot != as.TotalRequestCount || rl != as.RateLimitedRequestCount {
				t.Errorf("time-stats by actor %v sum to %d/%d, summary says %d/%d", actor, tot, rl, as.TotalRequestCount, as.RateLimitedRequestCount)
			}
		}
	}
}

type countsOf struct {
	total, rl int64
	key       string // the item's identity, where a test needs it
}

func mapItems[T any](items []T, f func(T) countsOf) []countsOf {
	out := make([]countsOf, len(items))
	for i, x := range items {
		out[i] = f(x)
	}
	return out
}

// allPages walks every page of a list endpoint, checking that the pages
// together hold exactly the reported number of items.
func allPages(t *testing.T, page func(p *insights.Params) (int, []countsOf, error), ep insights.Endpoint, q url.Values) ([]countsOf, error) {
	t.Helper()
	var all []countsOf
	for n := 1; ; n++ {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("per_page", "7")
		qq.Set("page", fmt.Sprint(n))
		total, items, err := page(params(t, ep, qq))
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if len(items) < 7 {
			if len(all) != total {
				t.Errorf("pages hold %d items, total says %d", len(all), total)
			}
			return all, nil
		}
	}
}

func sumCounts(items []countsOf) (tot, rl int64) {
	for _, x := range items {
		tot += x.total
		rl += x.rl
	}
	return tot, rl
}

func sumSeries(series []insights.TimeStat) (tot, rl int64) {
	for _, x := range series {
		tot += x.TotalRequestCount
		rl += x.RateLimitedRequestCount
	}
	return tot, rl
}

func testInsightsDedup(t *testing.T, s insights.Store) {
	org := "acme-web"
	events := genEvents(3, 500, 6*time.Hour, []string{org}, "dup")
	res := ingest(t, s, events[:300])
	if res.Received != 300 || res.Recorded != 300 || res.Duplicates != 0 {
		t.Fatalf("first batch: %+v", res)
	}
	// A retry of the same batch, and an overlapping one.
	if res := ingest(t, s, events[:300]); res.Recorded != 0 || res.Duplicates != 300 {
		t.Fatalf("re-sent batch: %+v, want all 300 duplicates", res)
	}
	if res := ingest(t, s, events[200:]); res.Recorded != 200 || res.Duplicates != 100 {
		t.Fatalf("overlapping batch: %+v, want 200 recorded, 100 duplicates", res)
	}
	// An event repeated within one batch counts once.
	extra := genEvents(4, 2, time.Hour, []string{org}, "twice")
	extra[1] = extra[0]
	if res := ingest(t, s, extra); res.Recorded != 1 || res.Duplicates != 1 {
		t.Fatalf("batch with a repeated id: %+v", res)
	}
	// Many events in the same minutes: a retry of part of them.
	dense := genEvents(7, 3000, 2*time.Minute, []string{org}, "dense")
	if res := ingest(t, s, dense[:1700]); res.Recorded != 1700 {
		t.Fatalf("dense batch: %+v", res)
	}
	if res := ingest(t, s, dense); res.Recorded != 1300 || res.Duplicates != 1700 {
		t.Fatalf("dense batch re-sent with more: %+v, want 1300 recorded, 1700 duplicates", res)
	}
	// Events without ids (metered ones) are never deduplicated.
	noID := genEvents(5, 3, time.Hour, []string{org}, "")
	ingest(t, s, noID)
	ingest(t, s, noID)
	p := params(t, insights.EndpointSummary, rangeQuery(insightsNow.Add(-7*time.Hour), insightsNow))
	got, err := service(s).Summary(t.Context(), insights.Scope{Org: org}, p)
	must(t, "Summary", err)
	if want := int64(500 + 1 + 3000 + 6); got.TotalRequestCount != want {
		t.Fatalf("total = %d, want %d (every event exactly once)", got.TotalRequestCount, want)
	}
}

func testInsightsLateEventsAndNames(t *testing.T, s insights.Store) {
	org := "acme-web"
	base := insights.Event{Org: org, ActorType: usage.ActorClassicPAT, ActorID: 9, ActorName: "old name", UserID: 4,
		SubjectType: insights.SubjectUser, SubjectID: 4, SubjectName: "octocat", HTTPMethod: "GET", APIRoute: "/user"}
	e1 := base
	e1.ID, e1.Timestamp = "n1", insightsNow.Add(-time.Hour)
	ingest(t, s, []insights.Event{e1})
	e2 := base
	e2.ID, e2.Timestamp, e2.ActorName, e2.SubjectName = "n2", insightsNow.Add(-30*time.Minute), "new name", "octocat2"
	ingest(t, s, []insights.Event{e2})
	// A late event, older than both, lands in its own bucket and does not
	// bring the old name back.
	e3 := base
	e3.ID, e3.Timestamp, e3.ActorName, e3.RateLimited = "n3", insightsNow.Add(-20*24*time.Hour), "ancient name", true
	ingest(t, s, []insights.Event{e3})
	svc := service(s)
	p := params(t, insights.EndpointUserStats, rangeQuery(insightsNow.Add(-30*24*time.Hour), insightsNow))
	pg, err := svc.UserStats(t.Context(), org, 4, p)
	must(t, "UserStats", err)
	if len(pg.Items) != 1 {
		t.Fatalf("user-stats: %d items, want 1", len(pg.Items))
	}
	it := pg.Items[0]
	if it.ActorName != "new name" || it.TotalRequestCount != 3 || it.RateLimitedRequestCount != 1 {
		t.Errorf("user-stats item = %+v, want actor_name \"new name\", 3 requests, 1 rate limited", it)
	}
	if it.LastRequestTimestamp != insights.FormatTimestamp(e2.Timestamp.Unix()) ||
		it.LastRateLimitedTimestamp == nil || *it.LastRateLimitedTimestamp != insights.FormatTimestamp(e3.Timestamp.Unix()) {
		t.Errorf("user-stats item times = %s / %v", it.LastRequestTimestamp, it.LastRateLimitedTimestamp)
	}
	series, err := svc.TimeStats(t.Context(), insights.Scope{Org: org}, params(t, insights.EndpointTime,
		rangeQuery(insightsNow.Add(-21*24*time.Hour), insightsNow, "timestamp_increment", "1d")))
	must(t, "TimeStats", err)
	var late int64
	day := insights.FormatTimestamp(insights.Day.Floor(e3.Timestamp.Unix()))
	for _, b := range series {
		if b.Timestamp == day {
			late = b.TotalRequestCount
		}
	}
	if late != 1 {
		t.Errorf("late event's day %s has %d requests, want 1", day, late)
	}
	subs, err := svc.SubjectStats(t.Context(), org, params(t, insights.EndpointSubjects, rangeQuery(insightsNow.Add(-2*time.Hour), insightsNow)))
	must(t, "SubjectStats", err)
	if len(subs.Items) != 1 || subs.Items[0].SubjectName != "octocat2" {
		t.Errorf("subject-stats = %+v, want one subject named octocat2", subs.Items)
	}
}

func testInsightsRetention(t *testing.T, s insights.Store) {
	org := "acme-web"
	old := insights.Event{ID: "r1", Timestamp: insightsNow.Add(-10 * 24 * time.Hour).Add(17 * time.Minute), Org: org,
		ActorType: usage.ActorClassicPAT, ActorID: 1, ActorName: "t", UserID: 1, SubjectType: insights.SubjectUser,
		SubjectID: 1, SubjectName: "u", HTTPMethod: "GET", APIRoute: "/user"}
	recent := old
	recent.ID, recent.Timestamp = "r2", insightsNow.Add(-time.Hour)
	ingest(t, s, []insights.Event{old, recent})
	keep := insights.Retention{Minute: 7 * 24 * time.Hour, Dedup: 24 * time.Hour}
	n, err := s.InsightsPrune(t.Context(), keep.Cutoffs(insightsNow))
	must(t, "InsightsPrune", err)
	if n == 0 {
		t.Fatal("InsightsPrune deleted nothing; the old minute buckets and event ids should go")
	}
	svc := service(s)
	svc.Retention = keep
	// The old event's minutes are gone; a range starting inside its hour is
	// answered from the hour bucket, so the event still counts.
	from := old.Timestamp.Add(-5 * time.Minute)
	got, err := svc.Summary(t.Context(), insights.Scope{Org: org}, params(t, insights.EndpointSummary, rangeQuery(from, insightsNow)))
	must(t, "Summary", err)
	if got.TotalRequestCount != 2 {
		t.Errorf("after pruning minutes: total %d, want 2", got.TotalRequestCount)
	}
	// Recent minutes are still exact.
	got, err = svc.Summary(t.Context(), insights.Scope{Org: org}, params(t, insights.EndpointSummary,
		rangeQuery(recent.Timestamp.Add(time.Minute), insightsNow)))
	must(t, "Summary", err)
	if got.TotalRequestCount != 0 {
		t.Errorf("range after the recent event: total %d, want 0", got.TotalRequestCount)
	}
}

func testInsightsOrgsAreSeparate(t *testing.T, s insights.Store) {
	events := genEvents(6, 400, 24*time.Hour, []string{"acme-web", "acme-data"}, "sep")
	ingest(t, s, events)
	svc := service(s)
	q := rangeQuery(insightsNow.Add(-25*time.Hour), insightsNow)
	var total int64
	for _, org := range []string{"acme-web", "acme-data", "nobody"} {
		got, err := svc.Summary(t.Context(), insights.Scope{Org: org}, params(t, insights.EndpointSummary, q))
		must(t, "Summary", err)
		total += got.TotalRequestCount
		if org == "nobody" && got.TotalRequestCount != 0 {
			t.Errorf("an organization without traffic has %d requests", got.TotalRequestCount)
		}
		pg, err := svc.SubjectStats(t.Context(), org, params(t, insights.EndpointSubjects, q))
		must(t, "SubjectStats", err)
		if org == "nobody" && (pg.Total != 0 || pg.Items == nil) {
			t.Errorf("subject-stats of an organization without traffic: %+v, want an empty list", pg)
		}
	}
	if total != 400 {
		t.Errorf("organizations hold %d requests together, want 400", total)
	}
	// Sorting is deterministic and honours the keys and direction.
	p := params(t, insights.EndpointSubjects, rangeQuery(insightsNow.Add(-25*time.Hour), insightsNow, "sort", "subject_name", "direction", "asc"))
	pg, err := svc.SubjectStats(t.Context(), "acme-web", p)
	must(t, "SubjectStats", err)
	if !slices.IsSortedFunc(pg.Items, func(a, b insights.SubjectStat) int { return cmp.Compare(a.SubjectName, b.SubjectName) }) {
		t.Errorf("subject-stats sorted by subject_name asc are not in order: %v", pg.Items)
	}
	p = params(t, insights.EndpointSubjects, rangeQuery(insightsNow.Add(-25*time.Hour), insightsNow, "subject_name_substring", "APP"))
	pg, err = svc.SubjectStats(t.Context(), "acme-web", p)
	must(t, "SubjectStats", err)
	for _, it := range pg.Items {
		if !strings.Contains(strings.ToLower(it.SubjectName), "app") {
			t.Errorf("subject_name_substring=APP returned %q", it.SubjectName)
		}
	}
	if len(pg.Items) == 0 {
		t.Error("subject_name_substring=APP matched nothing")
	}
}
