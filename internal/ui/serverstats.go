package ui

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/usage"
)

// statsAccounts are the enterprises and organizations whose server
// statistics the actor may read through the API (serverstats.Account's
// Authorize, as GET /enterprise-installation/{account}/server-statistics).
func (h *Handler) statsAccounts(ctx context.Context, a *usage.Actor) ([]serverstats.Account, error) {
	ents, err := h.cfg.Store.ListEnterprises(ctx)
	if err != nil {
		return nil, err
	}
	orgs, err := h.cfg.Store.ListOrganizations(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out []serverstats.Account
	for _, e := range ents {
		if acct := (serverstats.Account{Enterprise: e}); acct.Authorize(a) == nil {
			out = append(out, acct)
		}
	}
	for _, o := range orgs {
		if acct := (serverstats.Account{Org: o}); acct.Authorize(a) == nil {
			out = append(out, acct)
		}
	}
	return out, nil
}

// history reads the account's snapshots in w through the service, decoded
// from the item documents the API writes.
func (h *Handler) history(ctx context.Context, account string, w serverstats.Window) ([]serverstats.Snapshot, error) {
	raws, err := h.cfg.ServerStats.History(ctx, account, w)
	if err != nil {
		return nil, err
	}
	out := make([]serverstats.Snapshot, 0, len(raws))
	for _, raw := range raws {
		s, err := serverstats.UnmarshalStored(raw, nil, account)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Stats windows offered, in days.
var statsWindows = []string{"30", "90", "365"}

type statsIndexPage struct {
	Base
	Accounts []statsAccountLink
	// Current is the site administrator's /enterprise/stats: the latest
	// snapshot of every server, summed; nil for anyone else (the API
	// answers them 404).
	Current *statsCurrent
}

type statsAccountLink struct {
	Name, Kind, URL string
	Servers         int // servers with a snapshot in the last 365 days
}

type statsCurrent struct {
	Servers int
	Groups  []tileGroup
}

func (h *Handler) serverStatsIndex(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.cfg.ServerStats == nil {
		return errNotFound
	}
	accts, err := h.statsAccounts(r.Context(), v.actor)
	if err != nil {
		return err
	}
	p := &statsIndexPage{Base: h.base(r, v, "Server statistics", "serverstats")}
	year, err := serverstats.ParseWindow(url.Values{}, h.cfg.Now()) // the API's default: 365 days to today
	if err != nil {
		return err
	}
	for _, a := range accts {
		kind := "Organization"
		if a.Enterprise != nil {
			kind = "Enterprise"
		}
		snaps, err := h.history(r.Context(), a.Login(), year)
		if err != nil {
			return err
		}
		servers := map[string]bool{}
		for _, s := range snaps {
			servers[s.ServerID] = true
		}
		p.Accounts = append(p.Accounts, statsAccountLink{Name: a.Login(), Kind: kind, Servers: len(servers),
			URL: Prefix + "server-stats/" + url.PathEscape(a.Login())})
	}
	slices.SortStableFunc(p.Accounts, func(a, b statsAccountLink) int { return b.Servers - a.Servers })
	if serverstats.AuthorizeSiteAdmin(v.actor) == nil {
		cur, err := h.cfg.ServerStats.Current(r.Context(), "")
		if err != nil {
			return err
		}
		p.Current = &statsCurrent{Servers: cur.Servers, Groups: tileGroups(&cur.Stats)}
	}
	h.render(w, r, http.StatusOK, "serverstats-index", p)
	return nil
}

type statsPage struct {
	Base
	Account       string
	Window        serverstats.Window
	Windows       []Option
	Servers       []statsServer
	Trends        []statsTrend
	Days          int
	History       []statsHistoryRow
	APIURL        string
	SnapshotCount int
}

type statsServer struct {
	ID, Host, Version, Latest string
	Snapshots                 int
	Groups                    []tileGroup
	Extra                     []tileRow // dormant users, Actions, packages
}

type statsTrend struct {
	Title  string
	Chart  template.HTML
	Legend []lineSeries
}

type statsHistoryRow struct {
	Day, Server, Version              string
	Users, Repos, Pulls, Issues, Orgs int64
}

// tileGroup is one /enterprise/stats group of a snapshot.
type tileGroup struct {
	Name string
	Rows []tileRow
}

type tileRow struct {
	Label string
	Value string
}

// tileGroups lists the groups of s in the order of /enterprise/stats/all,
// each figure labelled from its JSON name (total_pull_request_comments:
// "Total pull request comments"); absent groups are left out.
func tileGroups(s *serverstats.GHEStats) []tileGroup {
	if s == nil {
		return nil
	}
	order := []string{"repos", "users", "orgs", "pulls", "issues", "milestones", "hooks", "pages", "gists", "comments"}
	v := reflect.ValueOf(s).Elem()
	byName := map[string]tileGroup{}
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.IsNil() {
			continue
		}
		name := strings.Split(v.Type().Field(i).Tag.Get("json"), ",")[0]
		g := tileGroup{Name: name}
		e := f.Elem()
		for j := 0; j < e.NumField(); j++ {
			label := strings.Split(e.Type().Field(j).Tag.Get("json"), ",")[0]
			label = strings.ReplaceAll(label, "_", " ")
			label = strings.ToUpper(label[:1]) + label[1:]
			g.Rows = append(g.Rows, tileRow{label, grouped(e.Field(j).Int())})
		}
		byName[name] = g
	}
	var out []tileGroup
	for _, n := range order {
		if g, ok := byName[n]; ok {
			out = append(out, g)
		}
	}
	return out
}

func (h *Handler) serverStatsAccount(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.cfg.ServerStats == nil {
		return errNotFound
	}
	ctx := r.Context()
	acct, err := serverstats.ResolveAccount(ctx, h.cfg.Store, r.PathValue("account"))
	if err != nil {
		return err
	}
	if err := acct.Authorize(v.actor); err != nil {
		return err
	}
	days := r.URL.Query().Get("days")
	if !slices.Contains(statsWindows, days) {
		days = "90"
	}
	n, _ := strconv.Atoi(days)
	today := serverstats.DayOf(h.cfg.Now())
	// The API's own window parser, over the same query the API would get.
	q := url.Values{"date_start": {string(today.AddDays(1 - n))}, "date_end": {string(today)}}
	win, err := serverstats.ParseWindow(q, h.cfg.Now())
	if err != nil {
		return err
	}
	snaps, err := h.history(ctx, acct.Login(), win)
	if err != nil {
		return err
	}
	p := &statsPage{Base: h.base(r, v, acct.Login()+" · Server statistics", "serverstats"), Account: acct.Login(), Window: win,
		Windows: options(r.URL, "days", days, statsWindows, map[string]string{"30": "30 days", "90": "90 days", "365": "365 days"}),
		APIURL:  "/enterprise-installation/" + url.PathEscape(acct.Login()) + "/server-statistics?" + q.Encode(), SnapshotCount: len(snaps)}

	// Per server: its latest snapshot's tiles; per day: the trend values.
	var dayList []string
	for d := win.Start; d <= win.End; d = d.AddDays(1) {
		dayList = append(dayList, string(d))
	}
	p.Days = len(dayList)
	dayIndex := map[string]int{}
	for i, d := range dayList {
		dayIndex[d] = i
	}
	servers := map[string]*statsServer{}
	var order []string
	metrics := []struct {
		title string
		get   func(*serverstats.GHEStats) *int64
	}{
		{"Users", func(g *serverstats.GHEStats) *int64 {
			if g.Users == nil {
				return nil
			}
			return &g.Users.TotalUsers
		}},
		{"Repositories", func(g *serverstats.GHEStats) *int64 {
			if g.Repos == nil {
				return nil
			}
			return &g.Repos.TotalRepos
		}},
		{"Pull requests", func(g *serverstats.GHEStats) *int64 {
			if g.Pulls == nil {
				return nil
			}
			return &g.Pulls.TotalPulls
		}},
		{"Issues", func(g *serverstats.GHEStats) *int64 {
			if g.Issues == nil {
				return nil
			}
			return &g.Issues.TotalIssues
		}},
	}
	values := map[string][][]*int64{} // server → metric → day
	for i := range snaps {
		s := &snaps[i]
		srv := servers[s.ServerID]
		if srv == nil {
			srv = &statsServer{ID: s.ServerID}
			servers[s.ServerID] = srv
			order = append(order, s.ServerID)
			values[s.ServerID] = make([][]*int64, len(metrics))
			for i := range metrics {
				values[s.ServerID][i] = make([]*int64, len(dayList))
			}
		}
		srv.Snapshots++
		// History is ascending by day: the last one seen is the latest.
		srv.Host, srv.Version, srv.Latest = s.HostName, s.GHESVersion, s.CollectionDate.UTC().Format(time.RFC3339)
		srv.Groups = tileGroups(s.GHEStats)
		srv.Extra = snapshotExtras(s)
		row := statsHistoryRow{Day: string(s.Day()), Server: s.HostName, Version: s.GHESVersion}
		if row.Server == "" {
			row.Server = s.ServerID
		}
		if g := s.GHEStats; g != nil {
			if i, ok := dayIndex[string(s.Day())]; ok {
				for m, mt := range metrics {
					if x := mt.get(g); x != nil {
						val := *x
						values[s.ServerID][m][i] = &val
					}
				}
			}
			if g.Users != nil {
				row.Users = g.Users.TotalUsers
			}
			if g.Repos != nil {
				row.Repos = g.Repos.TotalRepos
			}
			if g.Pulls != nil {
				row.Pulls = g.Pulls.TotalPulls
			}
			if g.Issues != nil {
				row.Issues = g.Issues.TotalIssues
			}
			if g.Orgs != nil {
				row.Orgs = g.Orgs.TotalOrgs
			}
		}
		p.History = append(p.History, row)
	}
	slices.Reverse(p.History) // newest first
	for _, id := range order {
		p.Servers = append(p.Servers, *servers[id])
	}
	for m, mt := range metrics {
		var series []lineSeries
		for i, id := range order {
			name := servers[id].Host
			if name == "" {
				name = id
			}
			series = append(series, lineSeries{Name: name, Color: palette[i%len(palette)], Values: values[id][m]})
		}
		p.Trends = append(p.Trends, statsTrend{Title: mt.title, Legend: series,
			Chart: lineChart(mt.title+" per server, daily", dayList, series)})
	}
	h.render(w, r, http.StatusOK, "serverstats", p)
	return nil
}

// snapshotExtras are the figures outside ghe_stats worth a tile row.
func snapshotExtras(s *serverstats.Snapshot) []tileRow {
	var out []tileRow
	if d := s.DormantUsers; d != nil && d.TotalDormantUsers != nil {
		label := "Dormant users"
		if d.DormancyThreshold != "" {
			label += " (" + d.DormancyThreshold + ")"
		}
		out = append(out, tileRow{label, grouped(*d.TotalDormantUsers)})
	}
	if a := s.ActionsStats; a != nil && a.NumberOfReposUsingActions != nil {
		val := grouped(*a.NumberOfReposUsingActions)
		if a.PercentageOfReposUsingActions != "" {
			val += " (" + a.PercentageOfReposUsingActions + "%)"
		}
		out = append(out, tileRow{"Repositories using Actions", val})
	}
	if pk := s.PackagesStats; pk != nil {
		var eco []string
		for _, e := range pk.Ecosystems {
			if e.Enabled == "" || e.Enabled == "TRUE" {
				eco = append(eco, e.Name)
			}
		}
		if len(eco) > 0 {
			out = append(out, tileRow{"Package ecosystems enabled", strings.Join(eco, ", ")})
		}
	}
	if c := s.GitHubConnect; c != nil && len(c.FeaturesEnabled) > 0 {
		out = append(out, tileRow{"GitHub Connect", strings.Join(c.FeaturesEnabled, ", ")})
	}
	return out
}
