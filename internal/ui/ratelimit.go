package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/usage"
)

type rateLimitPage struct {
	Base
	Pool       string
	Categories []category
	Rejections []rejection
	Since      string
}

type category struct {
	Name                       string
	Limit, Used, Remaining     int64
	Reset                      string // RFC 3339, "" when no window is open
	ResetIn                    string
	Percent                    int
	Exhausted, Warn, Unlimited bool
}

type rejection struct {
	Org, URL           string
	Total, RateLimited int64
}

// rateLimits shows the token's own pool as GET /rate_limit answers it (the
// same limiter, the same pool), and its rate-limited requests per
// organization over the last 24 hours from API insights, in the
// organizations whose insights the token may read.
func (h *Handler) rateLimits(w http.ResponseWriter, r *http.Request, v *viewer) error {
	l := h.cfg.Limiter
	if !l.Enabled() {
		return errNotFound
	}
	subj, ok := h.cfg.RateSubject(v.actor)
	if !ok {
		return errNotFound
	}
	counters, err := l.Status(r.Context(), &subj)
	if err != nil {
		return &pageError{http.StatusServiceUnavailable, "Unavailable", "Rate limiting is temporarily unavailable. Please try again later."}
	}
	now := h.cfg.Now()
	p := &rateLimitPage{Base: h.base(r, v, "Rate limits", "ratelimits"), Pool: poolLabel(subj.Pool, v.actor)}
	for i, c := range counters {
		c.Used = min(c.Used, c.Limit) // as GET /rate_limit reports it
		cat := category{Name: ratelimit.Resource(i).String(), Limit: c.Limit, Used: c.Used, Remaining: c.Remaining}
		if c.Reset > 0 {
			t := time.Unix(c.Reset, 0).UTC()
			cat.Reset = t.Format(time.RFC3339)
			cat.ResetIn = until(t.Sub(now))
		}
		if c.Limit > 0 {
			cat.Percent = int(c.Used * 100 / c.Limit)
			cat.Exhausted = c.Remaining == 0
			cat.Warn = !cat.Exhausted && cat.Percent >= 80
		} else {
			cat.Unlimited = true
		}
		p.Categories = append(p.Categories, cat)
	}
	if h.cfg.Insights != nil {
		orgs, err := h.visibleOrgs(r.Context(), v.actor)
		if err != nil {
			return err
		}
		per, _ := parsePeriod(url.Values{"period": {"24h"}}, now)
		p.Since = per.From.Format(time.RFC3339)
		params, err := per.params(insights.EndpointSummary, now)
		if err != nil {
			return err
		}
		ref := insights.ActorRef{Type: v.actor.Type, ID: v.actor.ID}
		for _, o := range orgs {
			s, err := h.cfg.Insights.Summary(r.Context(), insights.Scope{Org: strings.ToLower(o.Login), Actor: ref}, params)
			if err != nil {
				return err
			}
			if s.TotalRequestCount == 0 {
				continue
			}
			p.Rejections = append(p.Rejections, rejection{Org: o.Login, Total: s.TotalRequestCount, RateLimited: s.RateLimitedRequestCount,
				URL: Prefix + "insights/" + url.PathEscape(o.Login) + "/actors/" + string(ref.Type) + "/" + strconv.FormatInt(ref.ID, 10) +
					"?" + url.Values{"name": {v.actor.Name}, "period": {"24h"}}.Encode()})
		}
	}
	h.render(w, r, http.StatusOK, "ratelimits", p)
	return nil
}

func poolLabel(p ratelimit.Pool, a *usage.Actor) string {
	switch p.Kind {
	case ratelimit.PoolUser:
		login := ""
		if a.User != nil {
			login = a.User.Login
		}
		return "user " + login + " (ID " + strconv.FormatInt(p.ID, 10) + "), shared by all of the user's tokens"
	case ratelimit.PoolInstallation:
		return "installation " + strconv.FormatInt(p.ID, 10) + " (" + a.Name + ")"
	}
	return p.String()
}

// until writes a duration as "in 12 min" or "in 3 s".
func until(d time.Duration) string {
	switch {
	case d <= 0:
		return "now"
	case d < time.Minute:
		return "in " + strconv.Itoa(int(d.Seconds())) + " s"
	case d < 2*time.Hour:
		return "in " + strconv.Itoa(int(d.Round(time.Minute).Minutes())) + " min"
	}
	return "in " + strconv.Itoa(int(d.Round(time.Hour).Hours())) + " h"
}
