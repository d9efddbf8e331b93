package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// testInsightsListOrder checks every page of subject-stats and
// route-stats, for every sort key in both directions, with and without a
// substring filter, against the documented order computed from the raw
// events: sort keys in order, then the item's identity ascending. The data
// is full of ties (counts of 1 to 3, repeated names), so a page boundary
// falls inside a run of equal counts, which is where a top-k selection on
// counts alone would go wrong.
func testInsightsListOrder(t *testing.T, s insights.Store) {
	org := "acme-web"
	r := rand.New(rand.NewPCG(7, 11))
	actor := insights.ActorRef{Type: usage.ActorClassicPAT, ID: 42}
	var events []insights.Event
	base := insightsNow.Add(-5 * time.Hour)
	for i := 0; i < 1500; i++ {
		subj := 1 + r.IntN(120)
		e := insights.Event{
			ID: fmt.Sprintf("order-%d", i), Timestamp: base.Add(time.Duration(r.IntN(4*3600)) * time.Second), Org: org,
			ActorType: actor.Type, ActorID: actor.ID, ActorName: "tok",
			UserID: int64(subj), UserLogin: fmt.Sprintf("u%d", subj),
			SubjectType: insights.SubjectUser, SubjectID: int64(subj), SubjectName: fmt.Sprintf("Name-%d", subj%9),
			HTTPMethod: testMethods[r.IntN(len(testMethods))], APIRoute: fmt.Sprintf("/repos/:owner/:repo/x%d", r.IntN(60)),
			RateLimited: r.IntN(6) == 0,
		}
		if subj%5 == 0 {
			e.SubjectType, e.SubjectName = insights.SubjectInstallation, fmt.Sprintf("app-%d", subj%4)
			e.UserID, e.UserLogin = 0, ""
		}
		events = append(events, e)
	}
	ingest(t, s, events)
	svc := service(s)
	from, to := base, insightsNow

	type item struct {
		ident      [2]string // identity, compared as the rule says
		id         int64
		name, meth string
		c          insights.Counts
	}
	countKey := func(c insights.Counts, k string) int64 {
		switch k {
		case insights.SortLastRateLimited:
			return c.LastRateLimited
		case insights.SortLastRequest:
			return c.Last
		case insights.SortRateLimitedCount:
			return c.RateLimited
		}
		return c.Total
	}
	order := func(items []item, sortKeys []string, desc bool, routes bool) {
		slices.SortFunc(items, func(a, b item) int {
			for _, k := range sortKeys {
				var c int
				switch k {
				case insights.SortSubjectName, insights.SortAPIRoute:
					c = strings.Compare(a.name, b.name)
				case insights.SortHTTPMethod:
					c = strings.Compare(a.meth, b.meth)
				default:
					c = cmp.Compare(countKey(a.c, k), countKey(b.c, k))
				}
				if c != 0 {
					if desc {
						return -c
					}
					return c
				}
			}
			if routes {
				return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.meth, b.meth))
			}
			return cmp.Or(strings.Compare(a.ident[0], b.ident[0]), cmp.Compare(a.id, b.id))
		})
	}
	// The reference items.
	subjects := map[insights.SubjectRef]*item{}
	routes := map[insights.RouteRef]*item{}
	latest := map[insights.SubjectRef]int64{}
	for i := range events {
		e := &events[i]
		k := insights.SubjectRef{Type: e.SubjectType, ID: e.SubjectID}
		it := subjects[k]
		if it == nil {
			it = &item{ident: [2]string{e.SubjectType}, id: e.SubjectID}
			subjects[k] = it
		}
		if ts := e.Timestamp.Unix(); ts >= latest[k] {
			latest[k], it.name = ts, e.SubjectName
		}
		addEvent(&it.c, e)
		rk := insights.RouteRef{Method: e.HTTPMethod, Route: e.APIRoute}
		ri := routes[rk]
		if ri == nil {
			ri = &item{name: e.APIRoute, meth: e.HTTPMethod}
			routes[rk] = ri
		}
		addEvent(&ri.c, e)
	}
	values := func(m map[insights.SubjectRef]*item) []item {
		var out []item
		for _, v := range m {
			out = append(out, *v)
		}
		return out
	}
	routeValues := func() []item {
		var out []item
		for _, v := range routes {
			out = append(out, *v)
		}
		return out
	}
	sortSets := [][]string{{insights.SortTotalCount}, {insights.SortRateLimitedCount, insights.SortTotalCount}, {insights.SortLastRequest},
		{insights.SortLastRateLimited}}
	for _, desc := range []bool{true, false} {
		dir := "asc"
		if desc {
			dir = "desc"
		}
		for _, sub := range []string{"", "NAME-3"} {
			for _, keys := range append(slices.Clone(sortSets), []string{insights.SortSubjectName}, []string{insights.SortSubjectName, insights.SortTotalCount}) {
				want := values(subjects)
				if sub != "" {
					want = slices.DeleteFunc(want, func(it item) bool { return !strings.Contains(strings.ToLower(it.name), strings.ToLower(sub)) })
				}
				order(want, keys, desc, false)
				q := rangeQuery(from, to, "direction", dir, "subject_name_substring", sub, "sort", strings.Join(keys, ","))
				got, err := allPages(t, func(p *insights.Params) (int, []countsOf, error) {
					pg, err := svc.SubjectStats(t.Context(), org, p)
					return pg.Total, mapItems(pg.Items, func(x insights.SubjectStat) countsOf {
						return countsOf{key: fmt.Sprintf("%s/%d", x.SubjectType, x.SubjectID), total: x.TotalRequestCount, rl: x.RateLimitedRequestCount}
					}), err
				}, insights.EndpointSubjects, q)
				must(t, "SubjectStats", err)
				if len(got) != len(want) {
					t.Fatalf("subject-stats sort=%v %s substring %q: %d items, want %d", keys, dir, sub, len(got), len(want))
				}
				for i := range want {
					if w := fmt.Sprintf("%s/%d", want[i].ident[0], want[i].id); got[i].key != w {
						t.Fatalf("subject-stats sort=%v %s substring %q: item %d is %s, want %s", keys, dir, sub, i, got[i].key, w)
					}
				}
			}
		}
		routeSorts := append(slices.Clone(sortSets), []string{insights.SortAPIRoute}, []string{insights.SortHTTPMethod, insights.SortTotalCount})
		for _, keys := range routeSorts {
			want := routeValues()
			order(want, keys, desc, true)
			q := rangeQuery(from, to, "direction", dir, "sort", strings.Join(keys, ","))
			got, err := allPages(t, func(p *insights.Params) (int, []countsOf, error) {
				pg, err := svc.RouteStats(t.Context(), org, actor, p)
				return pg.Total, mapItems(pg.Items, func(x insights.RouteStat) countsOf {
					return countsOf{key: x.HTTPMethod + " " + x.APIRoute, total: x.TotalRequestCount, rl: x.RateLimitedRequestCount}
				}), err
			}, insights.EndpointRoutes, q)
			must(t, "RouteStats", err)
			if len(got) != len(want) {
				t.Fatalf("route-stats sort=%v %s: %d items, want %d", keys, dir, len(got), len(want))
			}
			for i := range want {
				if w := want[i].meth + " " + want[i].name; got[i].key != w {
					t.Fatalf("route-stats sort=%v %s: item %d is %s, want %s", keys, dir, i, got[i].key, w)
				}
			}
		}
	}
}
