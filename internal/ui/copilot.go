package ui

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/usage"
)

type copilotAccount struct {
	Kind, Name, URL string
}

// copilotAccounts are the enterprises and organizations whose Copilot
// usage metrics the actor may read, by the report routes' own rules
// (cfg.CopilotAccount: access and the usage-metrics policy).
func (h *Handler) copilotAccounts(ctx context.Context, a *usage.Actor) ([]copilotAccount, error) {
	ents, err := h.cfg.Store.ListEnterprises(ctx)
	if err != nil {
		return nil, err
	}
	orgs, err := h.cfg.Store.ListOrganizations(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out []copilotAccount
	try := func(kind, name string) error {
		if _, _, _, err := h.cfg.CopilotAccount(ctx, a, kind, name); err != nil {
			if k := usage.ErrorKind(err); k == usage.KindNotFound || k == usage.KindForbidden {
				return nil
			}
			return err
		}
		out = append(out, copilotAccount{kind, name, Prefix + "copilot/" + kind + "/" + url.PathEscape(name)})
		return nil
	}
	for _, e := range ents {
		if err := try("enterprise", e.Slug); err != nil {
			return nil, err
		}
	}
	for _, o := range orgs {
		if err := try("org", o.Login); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type copilotIndexPage struct {
	Base
	Accounts []copilotAccount
}

func (h *Handler) copilotIndex(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.cfg.Copilot == nil {
		return errNotFound
	}
	accts, err := h.copilotAccounts(r.Context(), v.actor)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "copilot-index", &copilotIndexPage{Base: h.base(r, v, "Copilot", "copilot"), Accounts: accts})
	return nil
}

// copilotPresets are the window presets, in days ending yesterday (the
// newest closed day); a custom range is from/to in the URL.
var copilotPresets = []string{"28", "90", "180", "365"}

// MaxCopilotRangeDays is the widest range a Copilot page shows.
const MaxCopilotRangeDays = 366

type copilotPage struct {
	Base
	Kind, Name       string
	Windows          []Option
	Custom           bool
	From, To         string
	Span             int // days in the range
	Days             int // days with a report
	Latest           *copilotDay
	AcceptanceRate   string
	Generations      int64
	Acceptances      int64
	Interactions     int64
	CLISessions      int64
	CLIRequests      int64
	CLIPrompts       int64
	AppSessions      int64
	AppRequests      int64
	AgentSessions    int64 // VS Code agent sessions
	AgentMessages    int64
	ActiveChart      template.HTML
	CodeChart        template.HTML
	AgentChart       template.HTML
	ActiveLegend     []lineSeries
	CodeLegend       []lineSeries
	AgentLegend      []lineSeries
	Languages, IDEs  []copilotRow
	Models, Features []copilotRow
	Agents           []agentRow
	Hidden           []Option
	Seats, NeverUsed int
	Inactive         int
	Idle             []idleSeat
	APIURL           string
	SeatsAPI         string
}

// copilotDay is the part of a day's aggregate (copilot.Aggregate, the
// object of the 1-day report file) the page shows: decoding only these
// fields skips the per-model-feature, adoption-phase, customisation and
// pull-request arrays, the bulk of a document.
type copilotDay struct {
	Day string `json:"day"`
	copilot.ActiveCounts
	copilot.Counters
	TotalsByIDE             []copilot.IDETotals             `json:"totals_by_ide"`
	TotalsByFeature         []copilot.FeatureTotals         `json:"totals_by_feature"`
	TotalsByLanguageFeature []copilot.LanguageFeatureTotals `json:"totals_by_language_feature"`
	TotalsByLanguageModel   []copilot.LanguageModelTotals   `json:"totals_by_language_model"`
	TotalsByCLI             *copilot.CLITotals              `json:"totals_by_cli"`
	TotalsByCopilotApp      *copilot.AppTotals              `json:"totals_by_copilot_app"`
	TotalsByVSCodeAgent     *copilot.VSCodeAgentTotals      `json:"totals_by_vscode_agent"`
	TotalsBy3rdPartyAgent   []copilot.ThirdPartyAgent       `json:"totals_by_3rd_party_agent"`
}

// agentRow is a third-party agent's use over the range.
type agentRow struct {
	Name                   string
	Interactions, Sessions int64
}

// copilotRange reads the page's range: from and to (YYYY-MM-DD, UTC,
// inclusive), or days (a preset ending yesterday), 28 days by default. A
// malformed day, a day not closed yet, a reversed range or one over
// MaxCopilotRangeDays is a 422 naming the parameter.
func copilotRange(q url.Values, today copilot.Day) (first, last copilot.Day, preset string, err error) {
	last = today - 1
	if q.Get("from") == "" && q.Get("to") == "" {
		preset = q.Get("days")
		if !slices.Contains(copilotPresets, preset) {
			preset = "28"
		}
		n, _ := strconv.Atoi(preset)
		return last - copilot.Day(n-1), last, preset, nil
	}
	if v := q.Get("to"); v != "" {
		if last, err = copilot.ParseDay(v); err != nil {
			return 0, 0, "", invalidParam("to", err.Error())
		}
		if last >= today {
			return 0, 0, "", invalidParam("to", fmt.Sprintf("%s is not a closed day yet; the newest daily report is for %s (UTC)", last, today-1))
		}
	}
	first = last - (copilot.WindowDays - 1)
	if v := q.Get("from"); v != "" {
		if first, err = copilot.ParseDay(v); err != nil {
			return 0, 0, "", invalidParam("from", err.Error())
		}
	}
	if first > last {
		return 0, 0, "", invalidParam("from", fmt.Sprintf("%s is after to (%s)", first, last))
	}
	if n := int(last-first) + 1; n > MaxCopilotRangeDays {
		return 0, 0, "", invalidParam("from", fmt.Sprintf("the range from %s to %s covers %d days; at most %d are shown at once", first, last, n, MaxCopilotRangeDays))
	}
	return first, last, "", nil
}

type copilotRow struct {
	Name                                   string
	Interactions, Generations, Acceptances int64
	Rate                                   string
}

type idleSeat struct {
	Login, Org, Last, Editor string
	Never                    bool
}

func acceptance(acc, gen int64) string {
	if gen == 0 {
		return "—"
	}
	return strconv.FormatFloat(float64(acc)*100/float64(gen), 'f', 1, 64) + "%"
}

func (h *Handler) copilotAccountPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.cfg.Copilot == nil {
		return errNotFound
	}
	kind, name := r.PathValue("kind"), r.PathValue("name")
	sc, ent, org, err := h.cfg.CopilotAccount(r.Context(), v.actor, kind, name)
	if err != nil {
		return err
	}
	svc := h.cfg.Copilot
	first, last, preset, err := copilotRange(r.URL.Query(), svc.Today())
	if err != nil {
		return err
	}
	n := int(last-first) + 1
	p := &copilotPage{Base: h.base(r, v, name+" · Copilot", "copilot"), Kind: kind, Name: name,
		From: first.String(), To: last.String(), Span: n, Custom: preset == ""}
	for _, d := range copilotPresets {
		p.Windows = append(p.Windows, Option{Value: d, Label: d + " days", URL: withQuery(r.URL, "days", d, "from", "", "to", ""), Selected: d == preset})
	}
	p.Hidden = hiddenInputs(r.URL, "days", "from", "to")
	p.APIURL = "/orgs/" + url.PathEscape(name) + "/copilot/metrics/reports/organization-1-day?day=" + last.String()
	p.SeatsAPI = "/orgs/" + url.PathEscape(name) + "/copilot/billing/seats"
	if ent != nil {
		p.APIURL = "/enterprises/" + url.PathEscape(name) + "/copilot/metrics/reports/enterprise-1-day?day=" + last.String()
		p.SeatsAPI = "/enterprises/" + url.PathEscape(name) + "/copilot/billing/seats"
	}

	// One 1-day aggregate per day, as the report routes serve them.
	var labels []string
	dau, wau, mau, gens, accs := make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]*int64, n)
	cli, cloud, agentMAU := make([]*int64, n), make([]*int64, n), make([]*int64, n)
	langs, ides, models, features := map[string]*copilotRow{}, map[string]*copilotRow{}, map[string]*copilotRow{}, map[string]*copilotRow{}
	agents := map[string]*agentRow{}
	row := func(m map[string]*copilotRow, k string) *copilotRow {
		if m[k] == nil {
			m[k] = &copilotRow{Name: k}
		}
		return m[k]
	}
	for i := 0; i < n; i++ {
		d := first + copilot.Day(i)
		labels = append(labels, d.String())
		rep, err := svc.Report(r.Context(), sc, copilot.KindAggregate1, d)
		if usage.IsNotFound(err) || err == nil && (len(rep.Body) == 0 || rep.Rows == 0 || len(rep.Files) == 0) {
			// No report that day, as the 1-day route answers 404 (a day
			// without an active user has none): unknown, not zero.
			continue
		}
		if err != nil {
			return err
		}
		var a copilotDay
		if err := json.Unmarshal(rep.Body, &a); err != nil {
			return err
		}
		p.Days++
		p.Latest = &a
		dau[i], wau[i], mau[i] = ptr(a.DailyActiveUsers), ptr(a.WeeklyActiveUsers), ptr(a.MonthlyActiveUsers)
		gens[i], accs[i] = ptr(a.CodeGenerationActivityCount), ptr(a.CodeAcceptanceActivityCount)
		cli[i] = ptr(0)
		if a.DailyActiveCLIUsers != nil {
			cli[i] = ptr(*a.DailyActiveCLIUsers)
		}
		cloud[i], agentMAU[i] = ptr(a.DailyActiveCopilotCloudAgentUsers), ptr(a.MonthlyActiveAgentUsers)
		p.Generations += a.CodeGenerationActivityCount
		p.Acceptances += a.CodeAcceptanceActivityCount
		p.Interactions += a.UserInitiatedInteractionCount
		if a.TotalsByCLI != nil {
			p.CLISessions += a.TotalsByCLI.SessionCount
			p.CLIRequests += a.TotalsByCLI.RequestCount
			p.CLIPrompts += a.TotalsByCLI.PromptCount
		}
		if a.TotalsByCopilotApp != nil {
			p.AppSessions += a.TotalsByCopilotApp.SessionCount
			p.AppRequests += a.TotalsByCopilotApp.RequestCount
		}
		if a.TotalsByVSCodeAgent != nil {
			p.AgentSessions += a.TotalsByVSCodeAgent.SessionCount
			p.AgentMessages += a.TotalsByVSCodeAgent.TotalUserMessages
		}
		for _, t := range a.TotalsBy3rdPartyAgent {
			k := cmpOr(t.AgentName, t.AgentID)
			if agents[k] == nil {
				agents[k] = &agentRow{Name: k}
			}
			agents[k].Interactions += t.UserInitiatedInteractionCount
			if t.SessionCount != nil {
				agents[k].Sessions += *t.SessionCount
			}
		}
		for _, t := range a.TotalsByFeature {
			l := row(features, t.Feature)
			l.Interactions += t.UserInitiatedInteractionCount
			l.Generations += t.CodeGenerationActivityCount
			l.Acceptances += t.CodeAcceptanceActivityCount
		}
		for _, t := range a.TotalsByLanguageFeature {
			l := row(langs, t.Language)
			l.Generations += t.CodeGenerationActivityCount
			l.Acceptances += t.CodeAcceptanceActivityCount
		}
		for _, t := range a.TotalsByIDE {
			l := row(ides, t.IDE)
			l.Interactions += t.UserInitiatedInteractionCount
			l.Generations += t.CodeGenerationActivityCount
			l.Acceptances += t.CodeAcceptanceActivityCount
		}
		for _, t := range a.TotalsByLanguageModel {
			l := row(models, t.Model)
			l.Generations += t.CodeGenerationActivityCount
			l.Acceptances += t.CodeAcceptanceActivityCount
		}
	}
	p.AcceptanceRate = acceptance(p.Acceptances, p.Generations)
	p.ActiveLegend = []lineSeries{{Name: "Daily active", Color: palette[0], Values: dau}, {Name: "Weekly active", Color: palette[1], Values: wau},
		{Name: "Monthly active (28 days)", Color: palette[2], Values: mau}}
	p.ActiveChart = lineChart("Active Copilot users per day", labels, p.ActiveLegend)
	p.CodeLegend = []lineSeries{{Name: "Code generations", Color: palette[0], Values: gens}, {Name: "Acceptances", Color: palette[2], Values: accs}}
	p.CodeChart = lineChart("Code generations and acceptances per day", labels, p.CodeLegend)
	sorted := func(m map[string]*copilotRow) []copilotRow {
		out := make([]copilotRow, 0, len(m))
		for _, r := range m {
			r.Rate = acceptance(r.Acceptances, r.Generations)
			out = append(out, *r)
		}
		slices.SortFunc(out, func(a, b copilotRow) int {
			return cmp.Or(cmp.Compare(b.Generations+b.Interactions, a.Generations+a.Interactions), cmp.Compare(a.Name, b.Name))
		})
		return out
	}
	p.Languages, p.IDEs, p.Models, p.Features = sorted(langs), sorted(ides), sorted(models), sorted(features)
	for _, a := range agents {
		p.Agents = append(p.Agents, *a)
	}
	slices.SortFunc(p.Agents, func(a, b agentRow) int {
		return cmp.Or(cmp.Compare(b.Interactions, a.Interactions), cmp.Compare(a.Name, b.Name))
	})
	p.AgentLegend = []lineSeries{{Name: "Daily CLI users", Color: palette[0], Values: cli}, {Name: "Daily cloud agent users", Color: palette[1], Values: cloud},
		{Name: "Monthly agent users", Color: palette[2], Values: agentMAU}}
	p.AgentChart = lineChart("Agent and CLI users per day", labels, p.AgentLegend)

	// Licence holders who never used Copilot or not in the last 7 days,
	// from the seats the seat API lists.
	seats, err := svc.Seats(r.Context(), ent, org)
	if err != nil {
		return err
	}
	now := h.cfg.Now()
	p.Seats = len(seats)
	for _, s := range seats {
		is := idleSeat{}
		if s.User != nil {
			is.Login = s.User.Login
		}
		if s.Org != nil {
			is.Org = s.Org.Login
		}
		switch {
		case s.Last == nil:
			p.NeverUsed++
			is.Never = true
		case now.Sub(s.Last.At) > 7*24*time.Hour:
			p.Inactive++
			is.Last, is.Editor = s.Last.At.UTC().Format(time.RFC3339), s.Last.Editor
		default:
			continue
		}
		p.Idle = append(p.Idle, is)
	}
	slices.SortFunc(p.Idle, func(a, b idleSeat) int {
		return cmp.Or(cmp.Compare(a.Last, b.Last), cmp.Compare(a.Login, b.Login))
	})
	h.render(w, r, http.StatusOK, "copilot", p)
	return nil
}

func ptr(v int64) *int64 { return &v }
