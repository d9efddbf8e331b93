// Package insightsgen generates API request events for benchmarks: the
// traffic of one organization, deterministic for a seed, as NDJSON lines
// or events.
package insightsgen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// Traffic deterministically generates the i-th of N events of one
// organization: time-ordered over [start, end), 400 actors with a skewed
// (harmonic) popularity, users and installations as subjects, a long tail
// of 300 routes, and 1% rate-limited requests. The same seed and i always
// give the same event, so a baseline can load exactly what was ingested.
type Traffic struct {
	N          int
	Org        string
	Actors     []insights.Event // the actors' fields of an event, by popularity
	start, end time.Time
	routes     []insights.RouteRef
	actorCum   cumTable
	routeCum   cumTable
	seed       uint64
	// the NDJSON of each actor's fields (from org to subject_name) and of
	// each route's (http_method, api_route, up to rate_limited's value)
	actorJSON, routeJSON [][]byte
}

// New returns the generator of n events over [start, end) for org.
func New(seed uint64, n int, start, end time.Time, org string) *Traffic {
	g := &Traffic{N: n, start: start, end: end, Org: org, seed: seed}
	r := rand.New(rand.NewPCG(seed, 99))
	types := []usage.ActorType{usage.ActorClassicPAT, usage.ActorFineGrainedPAT, usage.ActorOAuthApp, usage.ActorUserToServer, usage.ActorInstallation}
	total := 0.0
	var actorCum, routeCum []float64
	for i := 0; i < 400; i++ {
		t := types[i%len(types)]
		e := insights.Event{Org: org, ActorType: t, ActorID: int64(10_000 + i), ActorName: fmt.Sprintf("%s-%d", t, i)}
		if t == usage.ActorInstallation {
			e.IntegrationID = int64(500 + i)
			e.SubjectType, e.SubjectID, e.SubjectName = insights.SubjectInstallation, e.ActorID, e.ActorName
		} else {
			if t == usage.ActorOAuthApp {
				e.OAuthApplicationID = int64(700 + i)
			}
			e.UserID = int64(20_000 + r.IntN(300))
			e.UserLogin = "user-" + strconv.FormatInt(e.UserID, 10)
			e.SubjectType, e.SubjectID, e.SubjectName = insights.SubjectUser, e.UserID, e.UserLogin
		}
		g.Actors = append(g.Actors, e)
		total += 1 / float64(i+1)
		actorCum = append(actorCum, total)
	}
	total = 0
	for i := 0; i < 300; i++ {
		method := []string{"GET", "GET", "GET", "POST", "PATCH", "DELETE"}[i%6]
		g.routes = append(g.routes, insights.RouteRef{Method: method, Route: fmt.Sprintf("/repos/:owner/:repo/resource-%d/:id", i)})
		total += 1 / float64(i+1)
		routeCum = append(routeCum, total)
	}
	g.actorCum, g.routeCum = newCumTable(actorCum), newCumTable(routeCum)
	for i := range g.Actors {
		g.actorJSON = append(g.actorJSON, appendActor(nil, &g.Actors[i]))
	}
	for _, rt := range g.routes {
		b := append([]byte(`","http_method":"`), rt.Method...)
		b = append(b, `","api_route":"`...)
		b = append(b, rt.Route...)
		g.routeJSON = append(g.routeJSON, append(b, `","rate_limited":`...))
	}
	return g
}

// cumTable picks an index by a cumulative distribution: the first index
// whose cumulative weight is at least x times the total, as a binary
// search finds it, from a guide of where each 1/1024th of the total
// starts.
type cumTable struct {
	cum   []float64
	guide []int32
}

const guideSize = 1024

func newCumTable(cum []float64) cumTable {
	t := cumTable{cum: cum, guide: make([]int32, guideSize)}
	for k := range t.guide {
		i, _ := slices.BinarySearch(cum, float64(k)/guideSize*cum[len(cum)-1])
		t.guide[k] = int32(i)
	}
	return t
}

func (t *cumTable) pick(x float64) int {
	cum := t.cum
	target := x * cum[len(cum)-1]
	i := int(t.guide[min(int(x*guideSize), guideSize-1)])
	for i > 0 && cum[i-1] >= target { // the guide went past it (rounding)
		i--
	}
	for i < len(cum) && cum[i] < target {
		i++
	}
	return min(i, len(cum)-1)
}

// splitmix returns the k-th pseudo-random 64-bit value of event i.
func (g *Traffic) splitmix(i, k int) uint64 {
	z := g.seed*0x9e3779b97f4a7c15 + uint64(i)*4 + uint64(k) + 0x632be59bd9b4e019
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (g *Traffic) float(i, k int) float64 { return float64(g.splitmix(i, k)>>11) / (1 << 53) }

// Event returns event i: ID "bench-i", its timestamp, and everything else.
func (g *Traffic) Event(i int) insights.Event {
	e, ts := g.event(i)
	e.ID = "bench-" + strconv.Itoa(i)
	e.Timestamp = time.Unix(ts, 0).UTC()
	return e
}

// event returns event i without ID and timestamp, and its time in unix
// seconds.
func (g *Traffic) event(i int) (insights.Event, int64) {
	span := g.end.Sub(g.start)
	ts := g.start.Add(time.Duration(float64(span) * float64(i) / float64(g.N))).Unix()
	e := g.Actors[g.actorCum.pick(g.float(i, 0))]
	rt := g.routes[g.routeCum.pick(g.float(i, 1))]
	e.HTTPMethod, e.APIRoute = rt.Method, rt.Route
	e.RateLimited = g.splitmix(i, 2)%100 == 0
	return e, ts
}

// AppendJSON appends event i, as Event returns it, as one NDJSON line.
func (g *Traffic) AppendJSON(b []byte, i int) []byte {
	span := g.end.Sub(g.start)
	ts := g.start.Add(time.Duration(float64(span) * float64(i) / float64(g.N))).Unix()
	b = append(b, `{"id":"bench-`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `","timestamp":"`...)
	b = insights.AppendTimestamp(b, ts)
	b = append(b, g.actorJSON[g.actorCum.pick(g.float(i, 0))]...)
	b = append(b, g.routeJSON[g.routeCum.pick(g.float(i, 1))]...)
	if g.splitmix(i, 2)%100 == 0 {
		return append(b, "true}\n"...)
	}
	return append(b, "false}\n"...)
}

// appendActor appends the fields of an actor's events from org to
// subject_name, after the timestamp's value.
func appendActor(b []byte, e *insights.Event) []byte {
	b = append(b, `","org":"`...)
	b = append(b, e.Org...)
	b = append(b, `","actor_type":"`...)
	b = append(b, e.ActorType...)
	b = append(b, `","actor_id":`...)
	b = strconv.AppendInt(b, e.ActorID, 10)
	b = append(b, `,"actor_name":"`...)
	b = append(b, e.ActorName...)
	b = append(b, `","oauth_application_id":`...)
	b = strconv.AppendInt(b, e.OAuthApplicationID, 10)
	b = append(b, `,"integration_id":`...)
	b = strconv.AppendInt(b, e.IntegrationID, 10)
	b = append(b, `,"user_id":`...)
	b = strconv.AppendInt(b, e.UserID, 10)
	b = append(b, `,"user_login":"`...)
	b = append(b, e.UserLogin...)
	b = append(b, `","subject_type":"`...)
	b = append(b, e.SubjectType...)
	b = append(b, `","subject_id":`...)
	b = strconv.AppendInt(b, e.SubjectID, 10)
	b = append(b, `,"subject_name":"`...)
	return append(b, e.SubjectName...)
}
