package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// TrafficDays is how much API traffic the demo dataset has, ending now.
const TrafficDays = 30

// peakPerMinute is each demo organization's request rate at the busiest
// hour of a weekday.
var peakPerMinute = map[string]float64{"acme-web": 320, "acme-data": 140, "acme-infra": 60}

// coreRoutes are the routes most traffic goes to, busiest first; a long
// tail of rarer routes follows them (see routeTable).
var coreRoutes = []string{
	"GET /repos/:owner/:repo", "GET /repos/:owner/:repo/pulls", "GET /repos/:owner/:repo/commits/:ref/status",
	"GET /repositories/:repository_id", "POST /graphql", "GET /repos/:owner/:repo/actions/runs",
	"GET /repos/:owner/:repo/contents/:path", "GET /repos/:owner/:repo/issues", "GET /user",
	"GET /orgs/:org/repos", "POST /repos/:owner/:repo/statuses/:sha", "GET /repos/:owner/:repo/pulls/:pull_number/files",
	"PATCH /repos/:owner/:repo/issues/:issue_number", "GET /rate_limit", "POST /repos/:owner/:repo/check-runs",
	"GET /repos/:owner/:repo/branches/:branch/protection", "GET /orgs/:org/members", "GET /repos/:owner/:repo/releases/latest",
	"DELETE /repos/:owner/:repo/git/refs/:ref", "PUT /repos/:owner/:repo/contents/:path", "GET /orgs/:org/insights/api/summary-stats",
	"GET /orgs/:org/teams/:team_slug/members", "GET /repos/:owner/:repo/collaborators", "GET /search/issues",
}

var tailResources = []string{"hooks", "deployments", "environments", "secrets", "variables", "labels", "milestones",
	"projects", "packages", "pages", "traffic/views", "stats/contributors", "topics", "tags", "forks", "stargazers",
	"subscribers", "invitations", "autolinks", "rulesets", "codespaces", "dependabot/alerts", "code-scanning/alerts",
	"secret-scanning/alerts", "actions/artifacts", "actions/caches", "actions/workflows", "actions/runners", "merge-upstream"}

type weighted[T any] struct {
	items []T
	cum   []float64
}

func (w *weighted[T]) add(item T, weight float64) {
	total := weight
	if n := len(w.cum); n > 0 {
		total += w.cum[n-1]
	}
	w.items = append(w.items, item)
	w.cum = append(w.cum, total)
}

func (w *weighted[T]) pick(r *rand.Rand) T {
	x := r.Float64() * w.cum[len(w.cum)-1]
	lo, hi := 0, len(w.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if w.cum[mid] < x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return w.items[lo]
}

// routeTable returns the demo routes with Zipf-like weights: the core
// routes, then a long tail of rarely used ones.
func routeTable() *weighted[insights.RouteRef] {
	w := &weighted[insights.RouteRef]{}
	rank := 1.0
	for _, r := range coreRoutes {
		method, route, _ := strings.Cut(r, " ")
		w.add(insights.RouteRef{Method: method, Route: route}, 1/rank)
		rank++
	}
	for i, res := range tailResources {
		for j, method := range []string{"GET", "POST", "DELETE"} {
			if j > 0 && i%3 != j {
				continue
			}
			w.add(insights.RouteRef{Method: method, Route: "/repos/:owner/:repo/" + res}, 1/rank)
			rank++
		}
	}
	return w
}

// rhythm is the share of peak traffic at t: a working-day curve peaking
// around 15:00 UTC, with quiet nights and weekends at about a third.
func rhythm(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	day := 0.15 + 0.85*math.Exp(-math.Pow((h-15)/4.5, 2))
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		day *= 0.35
	}
	return day
}

// orgActors returns the actors that make requests in org, with weights,
// as the metering would record them (see doc/insights.md).
func orgActors(d *Dataset, org string, r *rand.Rand) *weighted[insights.Event] {
	w := &weighted[insights.Event]{}
	home := map[int64]string{}
	logins := map[int64]string{}
	for i, u := range d.Users {
		home[u.ID] = d.Orgs[i%len(d.Orgs)].Login
		logins[u.ID] = u.Login
	}
	apps := map[int64]*usage.App{}
	for _, a := range d.Apps {
		apps[a.ID] = a
	}
	oauth := map[int64]*usage.OAuthApp{}
	for _, a := range d.OAuthApps {
		oauth[a.ID] = a
	}
	insts := map[int64]*usage.Installation{}
	for _, in := range d.Installations {
		insts[in.ID] = in
	}
	rank := 1.0
	for _, t := range d.Tokens {
		e := insights.Event{Org: org, ActorType: t.Type}
		switch t.Type {
		case usage.ActorInstallation:
			in := insts[t.InstallationID]
			if in == nil || !strings.EqualFold(in.AccountLogin, org) {
				continue
			}
			e.ActorID, e.IntegrationID = in.ID, in.AppID
			e.ActorName = apps[in.AppID].Name
			e.SubjectType, e.SubjectID, e.SubjectName = insights.SubjectInstallation, in.ID, e.ActorName
			w.add(e, 40/rank) // bots and CI make most requests
			rank++
			continue
		case usage.ActorClassicPAT, usage.ActorFineGrainedPAT:
			e.ActorID, e.ActorName = t.ID, t.Note
		case usage.ActorOAuthApp:
			a := oauth[t.OAuthAppID]
			e.ActorID, e.ActorName, e.OAuthApplicationID = a.ID, a.Name, a.ID
		case usage.ActorUserToServer:
			a := apps[t.AppID]
			e.ActorID, e.ActorName, e.IntegrationID = a.ID, a.Name, a.ID
		}
		if home[t.UserID] != org {
			continue
		}
		e.UserID, e.UserLogin = t.UserID, logins[t.UserID]
		e.SubjectType, e.SubjectID, e.SubjectName = insights.SubjectUser, t.UserID, logins[t.UserID]
		w.add(e, (1+r.Float64()*3)/math.Sqrt(rank))
		rank++
	}
	return w
}

// SeedTraffic writes TrafficDays of API traffic ending at now for the demo
// organizations, straight into the insights roll-ups: a daily and weekly
// rhythm, a few busy actors and a long tail of routes and subjects, and
// rate-limited bursts. Older traffic is laid down per ten minutes, the
// last two days per minute. The same seed gives the same traffic for the
// same now.
func SeedTraffic(ctx context.Context, st insights.Store, d *Dataset, seed uint64, now time.Time) error {
	if now.IsZero() {
		now = time.Now()
	}
	r := rand.New(rand.NewPCG(seed, seed^0x7a11f1c))
	now = now.UTC().Truncate(time.Minute)
	start := now.Add(-TrafficDays * 24 * time.Hour)
	fine := now.Add(-48 * time.Hour)
	routes := routeTable()
	cut := insights.Retention{}.Cutoffs(now)
	var batch []insights.Event
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := st.InsightsIngest(ctx, batch, cut)
		batch = batch[:0]
		return err
	}
	for _, o := range d.Orgs {
		org := strings.ToLower(o.Login)
		actors := orgActors(d, org, r)
		if len(actors.items) == 0 {
			continue
		}
		peak := peakPerMinute[org]
		if peak == 0 {
			peak = 30
		}
		// Rate-limited bursts: one busy actor hammers the API for half an hour.
		type burst struct {
			from, to time.Time
			actor    insights.Event
		}
		var bursts []burst
		for i := 0; i < 6; i++ {
			at := start.Add(time.Duration(r.Int64N(int64(now.Sub(start) - time.Hour))))
			if i == 0 {
				at = now.Add(-time.Duration(2+r.IntN(20)) * time.Hour)
			}
			bursts = append(bursts, burst{at, at.Add(30 * time.Minute), actors.items[r.IntN(min(3, len(actors.items)))]})
		}
		for t := start; t.Before(now); {
			step := 10 * time.Minute
			if !t.Before(fine) {
				step = time.Minute
			}
			total := int64(peak * rhythm(t) * step.Minutes() * (0.8 + 0.4*r.Float64()))
			parts := 3
			if step == time.Minute {
				parts = 2
			}
			for p := 0; p < parts && total > 0; p++ {
				n := total / int64(parts-p)
				total -= n
				e := actors.pick(r)
				rt := routes.pick(r)
				e.HTTPMethod, e.APIRoute = rt.Method, rt.Route
				e.Timestamp = t.Add(time.Duration(r.Int64N(int64(step))))
				e.Weight = max(n, 1)
				batch = append(batch, e)
			}
			for _, b := range bursts {
				if t.Before(b.from) || !t.Before(b.to) {
					continue
				}
				e := b.actor
				rt := routes.pick(r)
				e.HTTPMethod, e.APIRoute = rt.Method, rt.Route
				e.Timestamp = t.Add(time.Duration(r.Int64N(int64(step))))
				extra := int64(peak * 4 * step.Minutes())
				e.Weight = extra * 6 / 10
				batch = append(batch, e)
				e.RateLimited, e.Weight = true, extra-extra*6/10
				batch = append(batch, e)
			}
			if len(batch) >= 200_000 {
				if err := flush(); err != nil {
					return fmt.Errorf("demo traffic: %w", err)
				}
			}
			t = t.Add(step)
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("demo traffic: %w", err)
	}
	return nil
}
