package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
)

// Base is what the layout of every page needs.
type Base struct {
	Title   string
	Section string // "insights", "ratelimits" or "": the active tab
	// Signed-in viewer; empty on the sign-in page.
	SignedIn  bool
	Who       string // the token's user or installation
	TokenKind string // e.g. "classic PAT"
	CSRF      string
	Insights  bool // the insights view exists on this server
	RateLimit bool // the rate-limit view exists on this server
	Stats     bool // the server statistics view exists on this server
	Billing   bool // the billing view exists on this server
	Copilot   bool // the Copilot view exists on this server
	// Time zone toggle: Local is set when times are shown in the browser's
	// zone (tz=local); UTCURL and LocalURL are this page in each zone.
	Local            bool
	UTCURL, LocalURL string
}

var tokenKinds = map[string]string{
	"classic_pat":               "classic personal access token",
	"fine_grained_pat":          "fine-grained personal access token",
	"oauth_app":                 "OAuth app token",
	"github_app_user_to_server": "GitHub App user token",
	"installation":              "GitHub App installation token",
}

func (h *Handler) base(r *http.Request, v *viewer, title, section string) Base {
	b := Base{Title: title, Section: section, Insights: h.cfg.Insights != nil, RateLimit: h.cfg.Limiter.Enabled(), Stats: h.cfg.ServerStats != nil, Billing: h.cfg.Billing != nil, Copilot: h.cfg.Copilot != nil}
	b.Local = r.URL.Query().Get("tz") == "local"
	b.UTCURL = withQuery(r.URL, "tz", "")
	b.LocalURL = withQuery(r.URL, "tz", "local")
	if v != nil {
		b.SignedIn = true
		b.CSRF = v.sess.CSRF
		a := v.actor
		b.TokenKind = tokenKinds[string(a.Type)]
		switch {
		case a.User != nil:
			b.Who = a.User.Login
		case a.Installation != nil:
			b.Who = a.Name + " on " + a.Installation.AccountLogin
		default:
			b.Who = a.Name
		}
	}
	return b
}

// withQuery returns u's path and query with key set to value (removed when
// value is ""); page is reset unless it is the key.
func withQuery(u *url.URL, kv ...string) string {
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
		if kv[i] != "page" {
			q.Del("page")
		}
	}
	if len(q) == 0 {
		return u.Path
	}
	return u.Path + "?" + q.Encode()
}

// A period preset: GitHub's API insights page offers these.
type preset struct {
	Name      string
	Span      time.Duration
	Intervals []string
	Default   string
}

var presets = []preset{
	{"30m", 30 * time.Minute, []string{"1m", "5m"}, "1m"},
	{"1h", time.Hour, []string{"1m", "5m", "10m"}, "5m"},
	{"3h", 3 * time.Hour, []string{"5m", "10m", "30m"}, "10m"},
	{"12h", 12 * time.Hour, []string{"10m", "30m", "1h"}, "30m"},
	{"24h", 24 * time.Hour, []string{"10m", "1h", "6h"}, "1h"},
	{"7d", 7 * 24 * time.Hour, []string{"1h", "6h", "1d"}, "6h"},
	{"31d", 31 * 24 * time.Hour, []string{"6h", "1d"}, "1d"},
}

// customIntervals are offered for a custom period, those giving between 2
// and maxBuckets buckets.
var customIntervals = []string{"1m", "5m", "10m", "30m", "1h", "6h", "1d", "1w"}

const (
	defaultPeriod = "24h"
	maxBuckets    = 1500 // per chart
	pageSize      = 30
)

// Period is the time frame of an insights page, from its URL.
type Period struct {
	Name      string // a preset's name or "custom"
	From, To  time.Time
	Interval  string
	Intervals []string
	// Query is the REST API's query for the same range.
	Query url.Values
}

// parsePeriod reads period, from, to and interval. A preset ends now;
// custom takes from and to as ISO 8601 (UTC without a zone), as the API
// does. Invalid values are a 422 page naming the parameter.
func parsePeriod(q url.Values, now time.Time) (*Period, error) {
	p := &Period{Name: q.Get("period")}
	if p.Name == "" {
		p.Name = defaultPeriod
	}
	now = now.UTC().Truncate(time.Second)
	if p.Name == "custom" {
		var err error
		if p.From, err = insights.ParseTimestamp(q.Get("from")); err != nil {
			return nil, invalidParam("from", err.Error())
		}
		p.To = now
		if raw := q.Get("to"); raw != "" {
			if p.To, err = insights.ParseTimestamp(raw); err != nil {
				return nil, invalidParam("to", err.Error())
			}
		}
		if !p.From.Before(p.To) {
			return nil, invalidParam("to", "the end of a custom period must be after its start")
		}
		p.From, p.To = p.From.UTC(), p.To.UTC()
		span := p.To.Sub(p.From)
		for _, iv := range customIntervals {
			d, _ := insights.ParseIncrement(iv)
			if n := int(span / d); n >= 2 && n <= maxBuckets {
				p.Intervals = append(p.Intervals, iv)
			}
		}
		if len(p.Intervals) == 0 {
			p.Intervals = []string{"1m"}
			if span > time.Hour {
				p.Intervals = []string{"1w"}
			}
		}
		// Default: the finest interval giving at most 200 buckets.
		def := p.Intervals[len(p.Intervals)-1]
		for _, iv := range p.Intervals {
			if d, _ := insights.ParseIncrement(iv); span/d <= 200 {
				def = iv
				break
			}
		}
		p.Interval = pickInterval(q.Get("interval"), p.Intervals, def)
	} else {
		i := slices.IndexFunc(presets, func(pr preset) bool { return pr.Name == p.Name })
		if i < 0 {
			return nil, invalidParam("period", fmt.Sprintf("%q is not a period: use 30m, 1h, 3h, 12h, 24h, 7d, 31d or custom", truncate(p.Name, 20)))
		}
		pr := presets[i]
		p.To, p.From = now, now.Add(-pr.Span)
		p.Intervals = pr.Intervals
		p.Interval = pickInterval(q.Get("interval"), pr.Intervals, pr.Default)
	}
	p.Query = url.Values{
		"min_timestamp": {p.From.Format(time.RFC3339)},
		"max_timestamp": {p.To.Format(time.RFC3339)},
	}
	return p, nil
}

func pickInterval(want string, offered []string, def string) string {
	if slices.Contains(offered, want) {
		return want
	}
	return def
}

func invalidParam(name, why string) error {
	return &pageError{http.StatusUnprocessableEntity, "Invalid " + name, name + ": " + why}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// params are the insights parameters of the API's query for the same
// range, validated by the API's own parser, with extra query values.
func (p *Period) params(ep insights.Endpoint, now time.Time, extra ...string) (*insights.Params, error) {
	q := url.Values{}
	for k, v := range p.Query {
		q[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] != "" {
			q.Set(extra[i], extra[i+1])
		}
	}
	return insights.ParseParams(q, ep, now)
}

// APIQuery is the query string of the REST call equivalent to the page's
// numbers, with extra values.
func (p *Period) APIQuery(extra ...string) string {
	q := url.Values{}
	for k, v := range p.Query {
		q[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] != "" {
			q.Set(extra[i], extra[i+1])
		}
	}
	return q.Encode()
}

// pageNumber reads page (1 when absent or invalid).
func pageNumber(q url.Values) int {
	n, err := strconv.Atoi(q.Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// Pager is the navigation of a table page.
type Pager struct {
	Page, Pages, Total int
	First, Last        int // 1-based rows shown
	PrevURL, NextURL   string
}

func newPager(u *url.URL, page, total int) Pager {
	pages := max(1, (total+pageSize-1)/pageSize)
	page = min(page, pages)
	pg := Pager{Page: page, Pages: pages, Total: total}
	if total > 0 {
		pg.First = (page-1)*pageSize + 1
		pg.Last = min(page*pageSize, total)
	}
	if page > 1 {
		pg.PrevURL = withQuery(u, "page", strconv.Itoa(page-1))
	}
	if page < pages {
		pg.NextURL = withQuery(u, "page", strconv.Itoa(page+1))
	}
	return pg
}

func pageOf[T any](rows []T, pg Pager) []T {
	if pg.Total == 0 {
		return nil
	}
	return rows[pg.First-1 : pg.Last]
}

// Option is one choice of a select or a row of links.
type Option struct {
	Value, Label, URL string
	Selected          bool
}

func options(u *url.URL, key, current string, values []string, labels map[string]string) []Option {
	out := make([]Option, 0, len(values))
	for _, v := range values {
		l := labels[v]
		if l == "" {
			l = v
		}
		out = append(out, Option{Value: v, Label: l, URL: withQuery(u, key, v), Selected: v == current})
	}
	return out
}

// periodLinks are the preset links, keeping everything else in the URL.
func periodLinks(u *url.URL, current string) []Option {
	out := make([]Option, 0, len(presets))
	for _, pr := range presets {
		out = append(out, Option{Value: pr.Name, Label: pr.Name, Selected: pr.Name == current,
			URL: withQuery(u, "period", pr.Name, "interval", "", "from", "", "to", "")})
	}
	return out
}

// hiddenInputs are the query values a filter form must carry over, all
// but the ones it sets itself.
func hiddenInputs(u *url.URL, except ...string) []Option {
	q := u.Query()
	var out []Option
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "page" || slices.Contains(except, k) {
			continue
		}
		for _, v := range q[k] {
			out = append(out, Option{Label: k, Value: v})
		}
	}
	return out
}

func lower(s string) string { return strings.ToLower(s) }
