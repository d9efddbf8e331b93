package ui

import (
	"context"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// visibleOrgs are the organizations whose API insights the actor may read
// through the API (usage.AuthorizeOrg with insights.Access), by login.
func (h *Handler) visibleOrgs(ctx context.Context, a *usage.Actor) ([]*usage.Organization, error) {
	all, err := h.cfg.Store.ListOrganizations(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out []*usage.Organization
	for _, o := range all {
		if usage.AuthorizeOrg(a, o, insights.Access) == nil {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *usage.Organization) int { return strings.Compare(lower(a.Login), lower(b.Login)) })
	return out, nil
}

// insightsOrgOf resolves the {org} of a page as the API does: 404 for an
// organization the actor may not see, 403 when it lacks the scope.
func (h *Handler) insightsOrgOf(r *http.Request, v *viewer) (string, error) {
	if h.cfg.Insights == nil {
		return "", errNotFound
	}
	o, err := h.cfg.Store.OrganizationByLogin(r.Context(), r.PathValue("org"))
	if err != nil {
		return "", err
	}
	if err := usage.AuthorizeOrg(v.actor, o, insights.Access); err != nil {
		return "", err
	}
	return o.Login, nil
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.cfg.Insights != nil {
		http.Redirect(w, r, Prefix+"insights", http.StatusSeeOther)
	} else {
		http.Redirect(w, r, Prefix+"rate-limits", http.StatusSeeOther)
	}
	return nil
}

type orgsPage struct {
	Base
	Period  *Period
	Periods []Option
	Orgs    []orgSummary
}

type orgSummary struct {
	Login, URL         string
	Total, RateLimited int64
	Spark              template.HTML
}

func (h *Handler) insightsOrgs(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.cfg.Insights == nil {
		return errNotFound
	}
	now := h.cfg.Now()
	per, err := parsePeriod(r.URL.Query(), now)
	if err != nil {
		return err
	}
	orgs, err := h.visibleOrgs(r.Context(), v.actor)
	if err != nil {
		return err
	}
	p := &orgsPage{Base: h.base(r, v, "API insights", "insights"), Period: per, Periods: periodLinks(r.URL, per.Name)}
	params, err := per.params(insights.EndpointSummary, now)
	if err != nil {
		return err
	}
	tp, err := per.params(insights.EndpointTime, now, "timestamp_increment", per.Interval)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		sc := insights.Scope{Org: strings.ToLower(o.Login)}
		s, err := h.cfg.Insights.Summary(r.Context(), sc, params)
		if err != nil {
			return err
		}
		series, err := h.cfg.Insights.TimeSeries(r.Context(), sc, tp)
		if err != nil {
			return err
		}
		p.Orgs = append(p.Orgs, orgSummary{Login: o.Login, URL: withQuery(&url.URL{Path: Prefix + "insights/" + url.PathEscape(o.Login), RawQuery: r.URL.RawQuery}),
			Total: s.TotalRequestCount, RateLimited: s.RateLimitedRequestCount, Spark: sparkline(&series)})
	}
	h.render(w, r, http.StatusOK, "orgs", p)
	return nil
}

// SeriesView is the period controls, the chart and the totals of a scope.
type SeriesView struct {
	Period             *Period
	Periods, Intervals []Option
	Custom             bool
	FromValue, ToValue string // datetime-local values, UTC
	PeriodHidden       []Option
	Chart              Chart
	Summary            insights.SummaryStats
	// APISummary and APITime are the REST calls answering the same
	// numbers (paths under the server's root).
	APISummary, APITime string
}

// loadSeries reads the summary and the time series of sc over the page's
// period, through the insights service, with the API's own parameter
// parsing.
func (h *Handler) loadSeries(r *http.Request, sc insights.Scope, apiPath, label string) (*SeriesView, error) {
	now := h.cfg.Now()
	per, err := parsePeriod(r.URL.Query(), now)
	if err != nil {
		return nil, err
	}
	sv := &SeriesView{Period: per, Periods: periodLinks(r.URL, per.Name), Custom: per.Name == "custom",
		Intervals:    options(r.URL, "interval", per.Interval, per.Intervals, nil),
		FromValue:    per.From.Format("2006-01-02T15:04"),
		ToValue:      per.To.Format("2006-01-02T15:04"),
		PeriodHidden: hiddenInputs(r.URL, "period", "from", "to", "interval"),
	}
	sp, err := per.params(insights.EndpointSummary, now)
	if err != nil {
		return nil, err
	}
	if sv.Summary, err = h.cfg.Insights.Summary(r.Context(), sc, sp); err != nil {
		return nil, err
	}
	tp, err := per.params(insights.EndpointTime, now, "timestamp_increment", per.Interval)
	if err != nil {
		return nil, err
	}
	series, err := h.cfg.Insights.TimeSeries(r.Context(), sc, tp)
	if err != nil {
		return nil, err
	}
	sv.Chart = seriesChart(&series, label, tp.Start, tp.End)
	sv.APISummary = "/orgs/" + url.PathEscape(sc.Org) + "/insights/api/summary-stats" + apiPath + "?" + per.APIQuery()
	sv.APITime = "/orgs/" + url.PathEscape(sc.Org) + "/insights/api/time-stats" + apiPath + "?" +
		per.APIQuery("timestamp_increment", per.Interval)
	return sv, nil
}

// Table sorting: the page's sort values and the insights sort keys.
var sortKeys = map[string]string{
	"total":             insights.SortTotalCount,
	"rate_limited":      insights.SortRateLimitedCount,
	"last":              insights.SortLastRequest,
	"last_rate_limited": insights.SortLastRateLimited,
	"name":              insights.SortSubjectName,
	"route":             insights.SortAPIRoute,
	"method":            insights.SortHTTPMethod,
}

// Column is a sortable table header.
type Column struct {
	Label, URL, Dir string // Dir: "ascending", "descending" or "" (aria-sort)
	Num             bool
}

// tableSort reads sort and dir, allowing keys; it returns the insights
// sort key, the direction and the header links for cols (value, label).
func tableSort(u *url.URL, allowed []string, cols ...string) (key, dir string, out []Column) {
	q := u.Query()
	s := q.Get("sort")
	found := false
	for _, a := range allowed {
		found = found || a == s
	}
	if !found {
		s = "total"
	}
	dir = q.Get("dir")
	if dir != "asc" {
		dir = "desc"
	}
	for i := 0; i+1 < len(cols); i += 2 {
		c := Column{Label: cols[i+1], Num: cols[i] == "total" || cols[i] == "rate_limited"}
		if cols[i] == "" {
			out = append(out, c)
			continue
		}
		next := "desc"
		if cols[i] == s {
			c.Dir = map[string]string{"asc": "ascending", "desc": "descending"}[dir]
			if dir == "desc" {
				next = "asc"
			}
		} else if cols[i] == "name" || cols[i] == "route" || cols[i] == "method" {
			next = "asc"
		}
		c.URL = withQuery(u, "sort", cols[i], "dir", next)
		out = append(out, c)
	}
	return sortKeys[s], dir, out
}

// allRows asks for every row in one page; the service has read them all
// anyway, and the dashboard's filters (type, rate-limited) apply before
// its own pagination.
func allRows(p *insights.Params) {
	p.Page, p.PerPage = 1, math.MaxInt32
}

type orgPage struct {
	Base
	Org string
	*SeriesView
	Hidden      []Option
	Q, Type, RL string
	Types, RLs  []Option
	Columns     []Column
	Rows        []subjectRow
	Pager       Pager
	APIList     string
}

type subjectRow struct {
	Name, Kind, URL       string
	Total, RateLimited    int64
	Last, LastRateLimited string
}

var subjectKinds = map[string]string{"user": "User", "installation": "App installation", "integration": "App"}

func (h *Handler) insightsOrg(w http.ResponseWriter, r *http.Request, v *viewer) error {
	org, err := h.insightsOrgOf(r, v)
	if err != nil {
		return err
	}
	sc := insights.Scope{Org: strings.ToLower(org)}
	sv, err := h.loadSeries(r, sc, "", "Requests to "+org+" over time")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	p := &orgPage{Base: h.base(r, v, org+" · API insights", "insights"), Org: org, SeriesView: sv,
		Q: q.Get("q"), Type: q.Get("type"), RL: q.Get("rl"), Hidden: hiddenInputs(r.URL, "q", "type", "rl")}
	if p.Type != "user" && p.Type != "app" {
		p.Type = ""
	}
	if p.RL != "limited" {
		p.RL = ""
	}
	p.Types = options(r.URL, "type", p.Type, []string{"", "user", "app"}, map[string]string{"": "All", "user": "Users", "app": "Apps"})
	p.RLs = options(r.URL, "rl", p.RL, []string{"", "limited"}, map[string]string{"": "All requests", "limited": "Rate-limited"})
	key, dir, cols := tableSort(r.URL, []string{"name", "total", "rate_limited", "last", "last_rate_limited"},
		"name", "Actor", "", "Type", "total", "Requests", "rate_limited", "Rate-limited", "last", "Last request", "last_rate_limited", "Last rate-limited")
	p.Columns = cols
	lp, err := sv.Period.params(insights.EndpointSubjects, h.cfg.Now(), "subject_name_substring", p.Q, "sort", key, "direction", dir)
	if err != nil {
		return err
	}
	p.APIList = "/orgs/" + url.PathEscape(sc.Org) + "/insights/api/subject-stats?" + sv.Period.APIQuery("subject_name_substring", p.Q, "sort", key, "direction", dir)
	allRows(lp)
	pg, err := h.cfg.Insights.SubjectStats(r.Context(), sc.Org, lp)
	if err != nil {
		return err
	}
	var rows []subjectRow
	for _, s := range pg.Items {
		if p.Type == "user" && s.SubjectType != "user" || p.Type == "app" && s.SubjectType == "user" {
			continue
		}
		if p.RL == "limited" && s.RateLimitedRequestCount == 0 {
			continue
		}
		row := subjectRow{Name: s.SubjectName, Kind: subjectKinds[s.SubjectType], Total: s.TotalRequestCount,
			RateLimited: s.RateLimitedRequestCount, Last: s.LastRequestTimestamp}
		if s.LastRateLimitedTimestamp != nil {
			row.LastRateLimited = *s.LastRateLimitedTimestamp
		}
		id := strconv.FormatInt(s.SubjectID, 10)
		base := Prefix + "insights/" + url.PathEscape(org)
		switch s.SubjectType {
		case "user":
			row.URL = drill(r.URL, base+"/users/"+id, "name", s.SubjectName)
		case "installation":
			row.URL = drill(r.URL, base+"/actors/installation/"+id, "name", s.SubjectName)
		}
		rows = append(rows, row)
	}
	p.Pager = newPager(r.URL, pageNumber(q), len(rows))
	p.Rows = pageOf(rows, p.Pager)
	h.render(w, r, http.StatusOK, "org", p)
	return nil
}

// drill links to a detail page keeping the period, interval and zone.
func drill(from *url.URL, path string, kv ...string) string {
	q := url.Values{}
	for _, k := range []string{"period", "from", "to", "interval", "tz"} {
		if v := from.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

type userPage struct {
	Base
	Org, OrgURL, Name string
	UserID            int64
	*SeriesView
	Hidden  []Option
	Q       string
	Columns []Column
	Rows    []actorRow
	Pager   Pager
	APIList string
}

type actorRow struct {
	Name, Kind, URL       string
	Total, RateLimited    int64
	Last, LastRateLimited string
}

var actorKinds = map[string]string{
	"classic_pat":               "Classic personal access token",
	"fine_grained_pat":          "Fine-grained personal access token",
	"oauth_app":                 "OAuth app",
	"github_app_user_to_server": "GitHub App (on behalf of the user)",
	"installation":              "GitHub App installation",
}

func (h *Handler) insightsUser(w http.ResponseWriter, r *http.Request, v *viewer) error {
	org, err := h.insightsOrgOf(r, v)
	if err != nil {
		return err
	}
	uid, err := insights.ParseUserID(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	name := q.Get("name")
	if name == "" {
		name = "user " + strconv.FormatInt(uid, 10)
	}
	sc := insights.Scope{Org: strings.ToLower(org), UserID: uid}
	sv, err := h.loadSeries(r, sc, "/users/"+strconv.FormatInt(uid, 10), "Requests of "+name+" over time")
	if err != nil {
		return err
	}
	p := &userPage{Base: h.base(r, v, name+" · "+org+" · API insights", "insights"), Org: org, Name: name, UserID: uid,
		OrgURL: drill(r.URL, Prefix+"insights/"+url.PathEscape(org)), SeriesView: sv, Q: q.Get("q"), Hidden: hiddenInputs(r.URL, "q")}
	key, dir, cols := tableSort(r.URL, []string{"name", "total", "rate_limited", "last", "last_rate_limited"},
		"name", "Token or app", "", "Type", "total", "Requests", "rate_limited", "Rate-limited", "last", "Last request", "last_rate_limited", "Last rate-limited")
	p.Columns = cols
	lp, err := sv.Period.params(insights.EndpointUserStats, h.cfg.Now(), "actor_name_substring", p.Q, "sort", key, "direction", dir)
	if err != nil {
		return err
	}
	p.APIList = "/orgs/" + url.PathEscape(sc.Org) + "/insights/api/user-stats/" + strconv.FormatInt(uid, 10) + "?" +
		sv.Period.APIQuery("actor_name_substring", p.Q, "sort", key, "direction", dir)
	allRows(lp)
	pg, err := h.cfg.Insights.UserStats(r.Context(), sc.Org, uid, lp)
	if err != nil {
		return err
	}
	rows := make([]actorRow, 0, len(pg.Items))
	for _, a := range pg.Items {
		row := actorRow{Name: a.ActorName, Kind: actorKinds[a.ActorType], Total: a.TotalRequestCount,
			RateLimited: a.RateLimitedRequestCount, Last: a.LastRequestTimestamp,
			URL: drill(r.URL, Prefix+"insights/"+url.PathEscape(org)+"/actors/"+a.ActorType+"/"+strconv.FormatInt(a.ActorID, 10),
				"name", a.ActorName, "user", strconv.FormatInt(uid, 10), "user_name", name)}
		if a.LastRateLimitedTimestamp != nil {
			row.LastRateLimited = *a.LastRateLimitedTimestamp
		}
		rows = append(rows, row)
	}
	p.Pager = newPager(r.URL, pageNumber(q), len(rows))
	p.Rows = pageOf(rows, p.Pager)
	h.render(w, r, http.StatusOK, "user", p)
	return nil
}

type actorPage struct {
	Base
	Org, OrgURL, Name, Kind string
	UserName, UserURL       string
	*SeriesView
	Hidden  []Option
	Q       string
	Columns []Column
	Rows    []routeRow
	Pager   Pager
	APIList string
}

type routeRow struct {
	Method, Route         string
	Total, RateLimited    int64
	Last, LastRateLimited string
}

func (h *Handler) insightsActor(w http.ResponseWriter, r *http.Request, v *viewer) error {
	org, err := h.insightsOrgOf(r, v)
	if err != nil {
		return err
	}
	a, err := insights.ParseActor(r.PathValue("actor_type"), r.PathValue("actor_id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	name := q.Get("name")
	if name == "" {
		name = string(a.Type) + " " + strconv.FormatInt(a.ID, 10)
	}
	sc := insights.Scope{Org: strings.ToLower(org), Actor: a}
	apiPath := "/" + string(a.Type) + "/" + strconv.FormatInt(a.ID, 10)
	sv, err := h.loadSeries(r, sc, apiPath, "Requests of "+name+" over time")
	if err != nil {
		return err
	}
	p := &actorPage{Base: h.base(r, v, name+" · "+org+" · API insights", "insights"), Org: org, Name: name,
		Kind: actorKinds[string(a.Type)], OrgURL: drill(r.URL, Prefix+"insights/"+url.PathEscape(org)),
		SeriesView: sv, Q: q.Get("q"), Hidden: hiddenInputs(r.URL, "q")}
	if uid, err := strconv.ParseInt(q.Get("user"), 10, 64); err == nil && uid > 0 {
		p.UserName = q.Get("user_name")
		p.UserURL = drill(r.URL, Prefix+"insights/"+url.PathEscape(org)+"/users/"+strconv.FormatInt(uid, 10), "name", p.UserName)
	}
	key, dir, cols := tableSort(r.URL, []string{"method", "route", "total", "rate_limited", "last", "last_rate_limited"},
		"method", "Method", "route", "Route", "total", "Requests", "rate_limited", "Rate-limited", "last", "Last request", "last_rate_limited", "Last rate-limited")
	p.Columns = cols
	lp, err := sv.Period.params(insights.EndpointRoutes, h.cfg.Now(), "api_route_substring", p.Q, "sort", key, "direction", dir)
	if err != nil {
		return err
	}
	p.APIList = "/orgs/" + url.PathEscape(sc.Org) + "/insights/api/route-stats" + apiPath + "?" +
		sv.Period.APIQuery("api_route_substring", p.Q, "sort", key, "direction", dir)
	allRows(lp)
	pg, err := h.cfg.Insights.RouteStats(r.Context(), sc.Org, a, lp)
	if err != nil {
		return err
	}
	rows := make([]routeRow, 0, len(pg.Items))
	for _, rt := range pg.Items {
		row := routeRow{Method: rt.HTTPMethod, Route: rt.APIRoute, Total: rt.TotalRequestCount,
			RateLimited: rt.RateLimitedRequestCount, Last: rt.LastRequestTimestamp}
		if rt.LastRateLimitedTimestamp != nil {
			row.LastRateLimited = *rt.LastRateLimitedTimestamp
		}
		rows = append(rows, row)
	}
	p.Pager = newPager(r.URL, pageNumber(q), len(rows))
	p.Rows = pageOf(rows, p.Pager)
	h.render(w, r, http.StatusOK, "actor", p)
	return nil
}
