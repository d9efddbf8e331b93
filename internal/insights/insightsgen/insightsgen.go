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
	actorCum   []float64
	routeCum   []float64
	seed       uint64
}

// New returns the generator of n events over [start, end) for org.
func New(seed uint64, n int, start, end time.Time, org string) *Traffic {
	g := &Traffic{N: n, start: start, end: end, Org: org, seed: seed}
	r := rand.New(rand.NewPCG(seed, 99))
	types := []usage.ActorType{usage.ActorClassicPAT, usage.ActorFineGrainedPAT, usage.ActorOAuthApp, usage.ActorUserToServer, usage.ActorInstallation}
	total := 0.0
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
		g.actorCum = append(g.actorCum, total)
	}
	total = 0
	for i := 0; i < 300; i++ {
		method := []string{"GET", "GET", "GET", "POST", "PATCH", "DELETE"}[i%6]
		g.routes = append(g.routes, insights.RouteRef{Method: method, Route: fmt.Sprintf("/repos/:owner/:repo/resource-%d/:id", i)})
		total += 1 / float64(i+1)
		g.routeCum = append(g.routeCum, total)
	}
	return g
}

func pickCum(cum []float64, x float64) int {
	i, _ := slices.BinarySearch(cum, x*cum[len(cum)-1])
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
	e := g.Actors[pickCum(g.actorCum, g.float(i, 0))]
	rt := g.routes[pickCum(g.routeCum, g.float(i, 1))]
	e.HTTPMethod, e.APIRoute = rt.Method, rt.Route
	e.RateLimited = g.splitmix(i, 2)%100 == 0
	return e, ts
}

// AppendJSON appends event i, as Event returns it, as one NDJSON line.
func (g *Traffic) AppendJSON(b []byte, i int) []byte {
	e, ts := g.event(i)
	b = append(b, `{"id":"bench-`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `","timestamp":"`...)
	b = time.Unix(ts, 0).UTC().AppendFormat(b, time.RFC3339)
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
	b = append(b, e.SubjectName...)
	b = append(b, `","http_method":"`...)
	b = append(b, e.HTTPMethod...)
	b = append(b, `","api_route":"`...)
	b = append(b, e.APIRoute...)
	b = append(b, `","rate_limited":`...)
	b = strconv.AppendBool(b, e.RateLimited)
	return append(b, "}\n"...)
}
