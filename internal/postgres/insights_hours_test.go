package postgres_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/usage"
)

// TestInsightsHourMinutesReadOlderRows writes half of a set of events as
// builds before migration 0024 did (actor and user minutes in lvl 4 rows,
// hour rows without minutes) and the other half, into the same buckets,
// with minutes in the hour rows; a store that ingested every event in the
// current layout must answer every query the same, at every level and on
// ragged ranges, before and after retention.
func TestInsightsHourMinutesReadOlderRows(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	cut := insights.Retention{}.Cutoffs(now)
	var events []insights.Event
	for i := range 4000 {
		e := insights.Event{
			ID: fmt.Sprintf("h-%d", i), Timestamp: now.Add(-time.Duration(i*37) * time.Second),
			Org: []string{"acme-web", "octo"}[i%7/6], ActorType: []usage.ActorType{usage.ActorClassicPAT, usage.ActorOAuthApp}[i%2],
			ActorID: int64(1 + i%5), ActorName: fmt.Sprintf("actor-%d", i%5),
			SubjectType: insights.SubjectUser, SubjectID: int64(1 + i%3), SubjectName: fmt.Sprintf("user-%d", i%3),
			HTTPMethod: []string{"GET", "POST"}[i%5/4], APIRoute: fmt.Sprintf("/r/%d", i%9), RateLimited: i%9 == 0,
		}
		e.UserID = e.SubjectID
		events = append(events, e)
	}
	var older, newer []insights.Event
	for i, e := range events {
		if i%3 == 0 {
			newer = append(newer, e)
		} else {
			older = append(older, e)
		}
	}
	mixed, fresh := open(t), open(t)
	postgres.SetLegacyFold(mixed, true)
	for _, b := range [][]insights.Event{older[:len(older)/2], older[len(older)/2:]} {
		if _, err := mixed.InsightsIngest(t.Context(), b, cut); err != nil {
			t.Fatal(err)
		}
	}
	postgres.SetLegacyFold(mixed, false)
	for _, b := range [][]insights.Event{newer[:len(newer)/2], newer[len(newer)/2:]} {
		if _, err := mixed.InsightsIngest(t.Context(), b, cut); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range [][]insights.Event{events[:1500], events[1500:]} {
		if _, err := fresh.InsightsIngest(t.Context(), b, cut); err != nil {
			t.Fatal(err)
		}
	}
	// replayed events count once in either layout
	if res, err := mixed.InsightsIngest(t.Context(), events[:200], cut); err != nil || res.Recorded != 0 {
		t.Fatalf("replay: %+v, %v", res, err)
	}

	compare := func(ranges [][2]int64) {
		t.Helper()
		clear(answered)
		for _, org := range []string{"acme-web", "octo"} {
			for _, rg := range ranges {
				for _, max := range []insights.Level{insights.Minute, insights.FiveMinutes, insights.Hour, insights.Day} {
					segs := insights.Segments(rg[0], rg[1], max)
					scopes := []insights.Scope{{Org: org}, {Org: org, UserID: 2}, {Org: org, Actor: insights.ActorRef{Type: usage.ActorClassicPAT, ID: 3}},
						{Org: org, Actor: insights.ActorRef{Type: usage.ActorOAuthApp, ID: 2}}}
					for _, s := range scopes {
						same(t, "totals", s, func(db *postgres.DB) (any, error) { return db.InsightsTotals(t.Context(), s, segs) }, mixed, fresh)
						same(t, "series", s, func(db *postgres.DB) (any, error) {
							b, err := db.InsightsSeries(t.Context(), s, segs)
							slices.SortFunc(b, func(x, y insights.BucketCounts) int {
								return cmp.Or(cmp.Compare(x.Level, y.Level), cmp.Compare(x.Bucket, y.Bucket))
							})
							return b, err
						}, mixed, fresh)
					}
					for user := int64(1); user <= 3; user++ {
						same(t, "user actors", user, func(db *postgres.DB) (any, error) {
							r, err := insights.AllUserActors(t.Context(), db, org, user, segs)
							slices.SortFunc(r, func(x, y insights.ActorRow) int { return cmp.Or(cmp.Compare(x.Type, y.Type), cmp.Compare(x.ID, y.ID)) })
							return r, err
						}, mixed, fresh)
					}
					for _, a := range scopes[2:] {
						same(t, "actor routes", a.Actor, func(db *postgres.DB) (any, error) {
							r, err := insights.AllActorRoutes(t.Context(), db, org, a.Actor, segs)
							slices.SortFunc(r, func(x, y insights.RouteRow) int {
								return cmp.Or(cmp.Compare(x.Route, y.Route), cmp.Compare(x.Method, y.Method))
							})
							return r, err
						}, mixed, fresh)
					}
				}
			}
		}
		for _, what := range []string{"totals", "series", "user actors", "actor routes"} {
			if answered[what] < 4 {
				t.Errorf("%s: only %d answers were not empty", what, answered[what])
			}
		}
	}
	end := insights.Minute.Floor(now.Unix()) + 60
	compare([][2]int64{{end - 2*86400, end}, {end - 86400 + 7*60, end - 13*60}, {end - 3600 - 3*60, end - 2*60}, {end - 7*60, end}})

	// Retention: minute and five-minute buckets older than a few hours go;
	// answers over what is kept stay the same.
	pruneCut := cut
	pruneCut.Level[insights.Minute] = insights.Minute.Floor(now.Add(-90 * time.Minute).Unix())
	pruneCut.Level[insights.FiveMinutes] = insights.FiveMinutes.Floor(now.Add(-5 * time.Hour).Unix())
	for _, db := range []*postgres.DB{mixed, fresh} {
		if _, err := db.InsightsPrune(t.Context(), pruneCut); err != nil {
			t.Fatal(err)
		}
	}
	kept := insights.Hour.Floor(now.Add(-4 * time.Hour).Unix())
	compare([][2]int64{{kept, end}, {kept + 11*60, end - 3*60}, {end - 80*60, end}})
}
