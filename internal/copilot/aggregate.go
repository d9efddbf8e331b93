package copilot

import (
	"cmp"
	"maps"
	"math"
	"slices"
)

// ActiveCounts are an aggregate's active-user counts: distinct users.
type ActiveCounts struct {
	DailyActiveUsers            int64  `json:"daily_active_users"`
	WeeklyActiveUsers           int64  `json:"weekly_active_users"`
	MonthlyActiveUsers          int64  `json:"monthly_active_users"`
	MonthlyActiveChatUsers      int64  `json:"monthly_active_chat_users"`
	MonthlyActiveAgentUsers     int64  `json:"monthly_active_agent_users"`
	DailyActiveCLIUsers         *int64 `json:"daily_active_cli_users,omitempty"`
	DailyActiveVSCodeAgentUsers *int64 `json:"daily_active_vscode_agent_users,omitempty"`
	// Seen only in third-party lists of GitHub's fields (research §4.3,
	// weakly confirmed); computed like the daily ones, omitted when zero.
	WeeklyActiveCLIUsers                 *int64 `json:"weekly_active_cli_users,omitempty"`
	MonthlyActiveCLIUsers                *int64 `json:"monthly_active_cli_users,omitempty"`
	DailyActiveCopilotAppUsers           *int64 `json:"daily_active_copilot_app_users,omitempty"`
	WeeklyActiveCopilotAppUsers          *int64 `json:"weekly_active_copilot_app_users,omitempty"`
	MonthlyActiveCopilotAppUsers         *int64 `json:"monthly_active_copilot_app_users,omitempty"`
	WeeklyActiveVSCodeAgentUsers         *int64 `json:"weekly_active_vscode_agent_users,omitempty"`
	MonthlyActiveVSCodeAgentUsers        *int64 `json:"monthly_active_vscode_agent_users,omitempty"`
	DailyActiveCopilotCloudAgentUsers    int64  `json:"daily_active_copilot_cloud_agent_users"`
	WeeklyActiveCopilotCloudAgentUsers   int64  `json:"weekly_active_copilot_cloud_agent_users"`
	MonthlyActiveCopilotCloudAgentUsers  int64  `json:"monthly_active_copilot_cloud_agent_users"`
	DailyActiveCopilotCodeReviewUsers    int64  `json:"daily_active_copilot_code_review_users"`
	WeeklyActiveCopilotCodeReviewUsers   int64  `json:"weekly_active_copilot_code_review_users"`
	MonthlyActiveCopilotCodeReviewUsers  int64  `json:"monthly_active_copilot_code_review_users"`
	DailyPassiveCopilotCodeReviewUsers   int64  `json:"daily_passive_copilot_code_review_users"`
	WeeklyPassiveCopilotCodeReviewUsers  int64  `json:"weekly_passive_copilot_code_review_users"`
	MonthlyPassiveCopilotCodeReviewUsers int64  `json:"monthly_passive_copilot_code_review_users"`
}

// countActive adds one user's last-activity days to c for the day d.
// Code review: a user active in a window is not also counted passive in it.
func (c *ActiveCounts) countActive(u *ActiveUser, d Day) {
	in := func(f Flags, days Day) bool {
		i := 0
		for f > 1 {
			f >>= 1
			i++
		}
		last := u.Last[i]
		return last != 0 && last <= d && last > d-days
	}
	inc := func(p *int64, ok bool) {
		if ok {
			*p++
		}
	}
	inc(&c.DailyActiveUsers, in(FlagActive, 1))
	inc(&c.WeeklyActiveUsers, in(FlagActive, 7))
	inc(&c.MonthlyActiveUsers, in(FlagActive, 28))
	inc(&c.MonthlyActiveChatUsers, in(FlagChat, 28))
	inc(&c.MonthlyActiveAgentUsers, in(FlagAgent, 28))
	// Optional counts: omitted (nil) until a user counts.
	opt := func(p **int64, ok bool) {
		if ok {
			if *p == nil {
				*p = new(int64)
			}
			**p++
		}
	}
	opt(&c.DailyActiveCLIUsers, in(FlagCLI, 1))
	opt(&c.WeeklyActiveCLIUsers, in(FlagCLI, 7))
	opt(&c.MonthlyActiveCLIUsers, in(FlagCLI, 28))
	opt(&c.DailyActiveVSCodeAgentUsers, in(FlagVSCodeAgent, 1))
	opt(&c.WeeklyActiveVSCodeAgentUsers, in(FlagVSCodeAgent, 7))
	opt(&c.MonthlyActiveVSCodeAgentUsers, in(FlagVSCodeAgent, 28))
	opt(&c.DailyActiveCopilotAppUsers, in(FlagApp, 1))
	opt(&c.WeeklyActiveCopilotAppUsers, in(FlagApp, 7))
	opt(&c.MonthlyActiveCopilotAppUsers, in(FlagApp, 28))
	inc(&c.DailyActiveCopilotCloudAgentUsers, in(FlagCloudAgent, 1))
	inc(&c.WeeklyActiveCopilotCloudAgentUsers, in(FlagCloudAgent, 7))
	inc(&c.MonthlyActiveCopilotCloudAgentUsers, in(FlagCloudAgent, 28))
	for _, w := range []struct {
		days            Day
		active, passive *int64
	}{{1, &c.DailyActiveCopilotCodeReviewUsers, &c.DailyPassiveCopilotCodeReviewUsers},
		{7, &c.WeeklyActiveCopilotCodeReviewUsers, &c.WeeklyPassiveCopilotCodeReviewUsers},
		{28, &c.MonthlyActiveCopilotCodeReviewUsers, &c.MonthlyPassiveCopilotCodeReviewUsers}} {
		a := in(FlagCodeReviewActive, w.days)
		inc(w.active, a)
		inc(w.passive, !a && in(FlagCodeReviewPassive, w.days))
	}
}

// PullRequests is an aggregate's or repository's pull_requests object.
type PullRequests struct {
	PRCounts
	MedianMinutesToMerge                *float64                 `json:"median_minutes_to_merge"`
	MedianMinutesToMergeCopilotAuthored *float64                 `json:"median_minutes_to_merge_copilot_authored"`
	MedianMinutesToMergeCopilotReviewed *float64                 `json:"median_minutes_to_merge_copilot_reviewed"`
	CopilotSuggestionsByCommentType     []CommentTypeSuggestions `json:"copilot_suggestions_by_comment_type"`
}

// PhaseTotals is an element of totals_by_ai_adoption_phase.
type PhaseTotals struct {
	Phase                               string  `json:"phase"`
	PhaseNumber                         int     `json:"phase_number"`
	TotalEngagedUsers                   int64   `json:"total_engaged_users"`
	AvgUserInitiatedInteractions        float64 `json:"avg_user_initiated_interactions"`
	AvgCodeGenerationActivities         float64 `json:"avg_code_generation_activities"`
	AvgCodeAcceptanceActivities         float64 `json:"avg_code_acceptance_activities"`
	AvgLocAdded                         float64 `json:"avg_loc_added"`
	AvgLocDeleted                       float64 `json:"avg_loc_deleted"`
	AvgPullRequestsReviewed             float64 `json:"avg_pull_requests_reviewed"`
	AvgPullRequestsCreated              float64 `json:"avg_pull_requests_created"`
	AvgPullRequestsMerged               float64 `json:"avg_pull_requests_merged"`
	AvgPullRequestsMedianMinutesToMerge float64 `json:"avg_pull_requests_median_minutes_to_merge"`
}

// Aggregate is a 1-day aggregate record (enterprise-1-day,
// organization-1-day, and each day_totals entry of the 28-day reports).
type Aggregate struct {
	Day            string `json:"day"`
	EnterpriseID   string `json:"enterprise_id"`
	OrganizationID string `json:"organization_id,omitempty"`
	ActiveCounts
	Counters
	TotalsByIDE             []IDETotals             `json:"totals_by_ide"`
	TotalsByFeature         []FeatureTotals         `json:"totals_by_feature"`
	TotalsByLanguageFeature []LanguageFeatureTotals `json:"totals_by_language_feature"`
	TotalsByLanguageModel   []LanguageModelTotals   `json:"totals_by_language_model"`
	TotalsByModelFeature    []ModelFeatureTotals    `json:"totals_by_model_feature"`
	TotalsByCLI             *CLITotals              `json:"totals_by_cli,omitempty"`
	TotalsByCopilotApp      *AppTotals              `json:"totals_by_copilot_app,omitempty"`
	TotalsByVSCodeAgent     *VSCodeAgentTotals      `json:"totals_by_vscode_agent,omitempty"`
	TotalsBy3rdPartyAgent   []ThirdPartyAgent       `json:"totals_by_3rd_party_agent,omitempty"`
	TotalsByAIAdoptionPhase []PhaseTotals           `json:"totals_by_ai_adoption_phase,omitempty"`

	TotalsBySkill               []SkillCount       `json:"totals_by_skill,omitempty"`
	DistinctSkillUseCount       *int64             `json:"distinct_skill_use_count,omitempty"`
	TotalsByCustomAgent         []CustomAgentCount `json:"totals_by_custom_agent,omitempty"`
	DistinctCustomAgentUseCount *int64             `json:"distinct_custom_agent_use_count,omitempty"`
	TotalsByMCP                 []MCPCount         `json:"totals_by_mcp,omitempty"`
	DistinctMCPUseCount         *int64             `json:"distinct_mcp_use_count,omitempty"`
	TotalsBySlashCmd            []SlashCmdCount    `json:"totals_by_slash_cmd,omitempty"`
	DistinctSlashCmdUseCount    *int64             `json:"distinct_slash_cmd_use_count,omitempty"`
	TotalsByPlugin              []PluginCount      `json:"totals_by_plugin,omitempty"`
	DistinctPluginUseCount      *int64             `json:"distinct_plugin_use_count,omitempty"`

	PullRequests PullRequests `json:"pull_requests"`

	EtlID             string `json:"etl_id"`
	DayPartition      string `json:"day_partition"`
	EntityIDPartition int64  `json:"entity_id_partition"`
}

// RepoDay is a repos-1-day record.
type RepoDay struct {
	Day                    string       `json:"day"`
	EnterpriseID           string       `json:"enterprise_id"`
	OrganizationID         string       `json:"organization_id"`
	RepoID                 int64        `json:"repo_id"`
	RepoOwnerName          string       `json:"repo_owner_name"`
	RepoName               string       `json:"repo_name"`
	RepoVisibility         string       `json:"repo_visibility"`
	PullRequests           PullRequests `json:"pull_requests"`
	PullRequestReviewTimes []struct{}   `json:"pull_request_review_times"`
}

// EtlID is the etl_id of every record ghusage writes.
const EtlID = "ghusage"

// prAcc accumulates pull-request activity.
type prAcc struct {
	PRCounts
	merge, mergeAuthored, mergeReviewed []float64
	comments                            map[string]*CommentTypeSuggestions
}

func (p *prAcc) add(r *RepoPullRequests) {
	p.PRCounts.add(r.PRCounts)
	p.merge = append(p.merge, r.MergeMinutes...)
	p.mergeAuthored = append(p.mergeAuthored, r.MergeMinutesCopilotAuthored...)
	p.mergeReviewed = append(p.mergeReviewed, r.MergeMinutesCopilotReviewed...)
	for _, c := range r.CopilotSuggestionsByCommentType {
		if p.comments == nil {
			p.comments = map[string]*CommentTypeSuggestions{}
		}
		e := p.comments[c.CommentType]
		if e == nil {
			e = &CommentTypeSuggestions{CommentType: c.CommentType}
			p.comments[c.CommentType] = e
		}
		e.TotalCopilotSuggestions += c.TotalCopilotSuggestions
		e.TotalCopilotAppliedSuggestions += c.TotalCopilotAppliedSuggestions
	}
}

func (p *prAcc) result() PullRequests {
	out := PullRequests{PRCounts: p.PRCounts, MedianMinutesToMerge: median(p.merge),
		MedianMinutesToMergeCopilotAuthored: median(p.mergeAuthored), MedianMinutesToMergeCopilotReviewed: median(p.mergeReviewed),
		CopilotSuggestionsByCommentType: []CommentTypeSuggestions{}}
	for _, k := range slices.Sorted(maps.Keys(p.comments)) {
		out.CopilotSuggestionsByCommentType = append(out.CopilotSuggestionsByCommentType, *p.comments[k])
	}
	return out
}

// median of v, nil when empty; v is sorted in place.
func median(v []float64) *float64 {
	if len(v) == 0 {
		return nil
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	m = math.Round(m*100) / 100
	return &m
}

type phaseAcc struct {
	users                           int64
	uii, gen, acc, added, deleted   int64
	prReviewed, prCreated, prMerged int64
	medianSum                       float64
}

type pair struct{ a, b string }

// aggregator sums users' activity into an Aggregate; its memory grows with
// the number of distinct dimension values (IDEs, languages, models,
// agents), not with the number of users.
type aggregator struct {
	users         int64
	counters      Counters
	ide           map[string]*IDETotals
	feature       map[string]*FeatureTotals
	langFeature   map[pair]*LanguageFeatureTotals
	langModel     map[pair]*LanguageModelTotals
	modelFeature  map[pair]*ModelFeatureTotals
	cli           *CLITotals
	app           *AppTotals
	vscode        *VSCodeAgentTotals
	agents        map[string]*ThirdPartyAgent
	skill, custom map[string]int64
	mcp, slash    map[string]int64
	plugin        map[string]int64
	phases        [4]phaseAcc
	pr            prAcc
}

func newAggregator() *aggregator {
	return &aggregator{ide: map[string]*IDETotals{}, feature: map[string]*FeatureTotals{},
		langFeature: map[pair]*LanguageFeatureTotals{}, langModel: map[pair]*LanguageModelTotals{},
		modelFeature: map[pair]*ModelFeatureTotals{}, agents: map[string]*ThirdPartyAgent{},
		skill: map[string]int64{}, custom: map[string]int64{}, mcp: map[string]int64{}, slash: map[string]int64{}, plugin: map[string]int64{},
		pr: prAcc{comments: map[string]*CommentTypeSuggestions{}}}
}

func getOr[K comparable, V any](m map[K]*V, k K, mk func() *V) *V {
	v := m[k]
	if v == nil {
		v = mk()
		m[k] = v
	}
	return v
}

func (g *aggregator) add(a *Activity, x *Extra) {
	g.users++
	g.counters.add(a.Counters)
	for _, e := range a.TotalsByIDE {
		getOr(g.ide, e.IDE, func() *IDETotals { return &IDETotals{IDE: e.IDE} }).Counters.add(e.Counters)
	}
	for _, e := range a.TotalsByFeature {
		getOr(g.feature, e.Feature, func() *FeatureTotals { return &FeatureTotals{Feature: e.Feature} }).Counters.add(e.Counters)
	}
	for _, e := range a.TotalsByLanguageFeature {
		getOr(g.langFeature, pair{e.Language, e.Feature}, func() *LanguageFeatureTotals {
			return &LanguageFeatureTotals{Language: e.Language, Feature: e.Feature}
		}).CodeActivity.add(e.CodeActivity)
	}
	for _, e := range a.TotalsByLanguageModel {
		getOr(g.langModel, pair{e.Language, e.Model}, func() *LanguageModelTotals {
			return &LanguageModelTotals{Language: e.Language, Model: e.Model}
		}).CodeActivity.add(e.CodeActivity)
	}
	for _, e := range a.TotalsByModelFeature {
		getOr(g.modelFeature, pair{e.Model, e.Feature}, func() *ModelFeatureTotals {
			return &ModelFeatureTotals{Model: e.Model, Feature: e.Feature}
		}).Counters.add(e.Counters)
	}
	if c := a.TotalsByCLI; c != nil {
		if g.cli == nil {
			g.cli = &CLITotals{}
		}
		g.cli.SessionCount += c.SessionCount
		g.cli.RequestCount += c.RequestCount
		g.cli.PromptCount += c.PromptCount
		g.cli.TokenUsage.OutputTokensSum += c.TokenUsage.OutputTokensSum
		g.cli.TokenUsage.PromptTokensSum += c.TokenUsage.PromptTokensSum
	}
	if c := a.TotalsByCopilotApp; c != nil {
		if g.app == nil {
			g.app = &AppTotals{}
		}
		g.app.SessionCount += c.SessionCount
		g.app.RequestCount += c.RequestCount
		g.app.PromptCount += c.PromptCount
		g.app.TokenUsage.OutputTokensSum += c.TokenUsage.OutputTokensSum
		g.app.TokenUsage.PromptTokensSum += c.TokenUsage.PromptTokensSum
	}
	if c := a.TotalsByVSCodeAgent; c != nil {
		if g.vscode == nil {
			g.vscode = &VSCodeAgentTotals{}
		}
		g.vscode.SessionCount += c.SessionCount
		g.vscode.TotalUserMessages += c.TotalUserMessages
	}
	for _, e := range a.TotalsBy3rdPartyAgent {
		t := getOr(g.agents, e.AgentID, func() *ThirdPartyAgent { return &ThirdPartyAgent{AgentID: e.AgentID, SessionCount: new(int64)} })
		t.AgentName = e.AgentName
		t.UserInitiatedInteractionCount += e.UserInitiatedInteractionCount
		*t.SessionCount += x.AgentSessions[e.AgentID]
	}
	for _, e := range a.TotalsBySkill {
		g.skill[e.Skill] += e.InteractionCount
	}
	for _, e := range a.TotalsByCustomAgent {
		g.custom[e.CustomAgent] += e.InteractionCount
	}
	for _, e := range a.TotalsByMCP {
		g.mcp[e.MCP] += e.InteractionCount
	}
	for _, e := range a.TotalsBySlashCmd {
		g.slash[e.SlashCmd] += e.InteractionCount
	}
	for _, e := range a.TotalsByPlugin {
		g.plugin[e.Plugin] += e.InteractionCount
	}
	var mine prAcc
	for i := range x.PullRequestsByRepo {
		mine.add(&x.PullRequestsByRepo[i])
	}
	ph := &g.phases[a.AIAdoptionPhase.PhaseNumber]
	ph.users++
	ph.uii += a.UserInitiatedInteractionCount
	ph.gen += a.CodeGenerationActivityCount
	ph.acc += a.CodeAcceptanceActivityCount
	ph.added += a.LocAddedSum
	ph.deleted += a.LocDeletedSum
	ph.prReviewed += mine.TotalReviewed
	ph.prCreated += mine.TotalCreated
	ph.prMerged += mine.TotalMerged
	if m := median(slices.Clone(mine.merge)); m != nil {
		ph.medianSum += *m
	}
	g.pr.PRCounts.add(mine.PRCounts)
	g.pr.merge = append(g.pr.merge, mine.merge...)
	g.pr.mergeAuthored = append(g.pr.mergeAuthored, mine.mergeAuthored...)
	g.pr.mergeReviewed = append(g.pr.mergeReviewed, mine.mergeReviewed...)
	for _, c := range mine.comments {
		e := getOr(g.pr.comments, c.CommentType, func() *CommentTypeSuggestions { return &CommentTypeSuggestions{CommentType: c.CommentType} })
		e.TotalCopilotSuggestions += c.TotalCopilotSuggestions
		e.TotalCopilotAppliedSuggestions += c.TotalCopilotAppliedSuggestions
	}
}

func sortedValues[K cmp.Ordered, V any](m map[K]*V) []V {
	out := make([]V, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, *m[k])
	}
	return out
}

func sortedPairs[V any](m map[pair]*V) []V {
	keys := slices.SortedFunc(maps.Keys(m), func(x, y pair) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
	out := make([]V, 0, len(keys))
	for _, k := range keys {
		out = append(out, *m[k])
	}
	return out
}

// top5 returns the five names with the most interactions (ties by name)
// and the number of distinct names.
func top5[T any](m map[string]int64, mk func(string, int64) T) ([]T, *int64) {
	if len(m) == 0 {
		return nil, nil
	}
	keys := slices.SortedFunc(maps.Keys(m), func(x, y string) int { return cmp.Or(cmp.Compare(m[y], m[x]), cmp.Compare(x, y)) })
	n := int64(len(keys))
	var out []T
	for _, k := range keys[:min(5, len(keys))] {
		out = append(out, mk(k, m[k]))
	}
	return out, &n
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// result finishes the aggregate of a scope for a day.
func (g *aggregator) result(day Day, ent, org string, partition int64, active ActiveCounts) *Aggregate {
	a := &Aggregate{Day: day.String(), EnterpriseID: ent, OrganizationID: org, ActiveCounts: active, Counters: g.counters,
		TotalsByIDE: sortedValues(g.ide), TotalsByFeature: sortedValues(g.feature),
		TotalsByLanguageFeature: sortedPairs(g.langFeature), TotalsByLanguageModel: sortedPairs(g.langModel),
		TotalsByModelFeature: sortedPairs(g.modelFeature), TotalsByCopilotApp: g.app, TotalsByVSCodeAgent: g.vscode,
		PullRequests: g.pr.result(), EtlID: EtlID, DayPartition: day.String(), EntityIDPartition: partition}
	if g.cli != nil {
		c := *g.cli
		c.TokenUsage.AvgTokensPerRequest = avgTokens(c.TokenUsage, c.RequestCount)
		a.TotalsByCLI = &c
	}
	if a.TotalsByCopilotApp != nil {
		c := *a.TotalsByCopilotApp
		c.TokenUsage.AvgTokensPerRequest = avgTokens(c.TokenUsage, c.RequestCount)
		a.TotalsByCopilotApp = &c
	}
	if len(g.agents) > 0 {
		a.TotalsBy3rdPartyAgent = sortedValues(g.agents)
	}
	for n, p := range g.phases {
		if p.users == 0 {
			continue
		}
		u := float64(p.users)
		a.TotalsByAIAdoptionPhase = append(a.TotalsByAIAdoptionPhase, PhaseTotals{Phase: Phases[n], PhaseNumber: n, TotalEngagedUsers: p.users,
			AvgUserInitiatedInteractions: round2(float64(p.uii) / u), AvgCodeGenerationActivities: round2(float64(p.gen) / u),
			AvgCodeAcceptanceActivities: round2(float64(p.acc) / u), AvgLocAdded: round2(float64(p.added) / u),
			AvgLocDeleted: round2(float64(p.deleted) / u), AvgPullRequestsReviewed: round2(float64(p.prReviewed) / u),
			AvgPullRequestsCreated: round2(float64(p.prCreated) / u), AvgPullRequestsMerged: round2(float64(p.prMerged) / u),
			AvgPullRequestsMedianMinutesToMerge: round2(p.medianSum / u)})
	}
	a.TotalsBySkill, a.DistinctSkillUseCount = top5(g.skill, func(k string, v int64) SkillCount { return SkillCount{k, v} })
	a.TotalsByCustomAgent, a.DistinctCustomAgentUseCount = top5(g.custom, func(k string, v int64) CustomAgentCount { return CustomAgentCount{k, v} })
	a.TotalsByMCP, a.DistinctMCPUseCount = top5(g.mcp, func(k string, v int64) MCPCount { return MCPCount{k, v} })
	a.TotalsBySlashCmd, a.DistinctSlashCmdUseCount = top5(g.slash, func(k string, v int64) SlashCmdCount { return SlashCmdCount{k, v} })
	a.TotalsByPlugin, a.DistinctPluginUseCount = top5(g.plugin, func(k string, v int64) PluginCount { return PluginCount{k, v} })
	return a
}
