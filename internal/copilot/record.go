package copilot

import "encoding/json"

// CodeActivity are the six code counters every breakdown element carries.
type CodeActivity struct {
	CodeGenerationActivityCount int64 `json:"code_generation_activity_count"`
	CodeAcceptanceActivityCount int64 `json:"code_acceptance_activity_count"`
	LocSuggestedToAddSum        int64 `json:"loc_suggested_to_add_sum"`
	LocSuggestedToDeleteSum     int64 `json:"loc_suggested_to_delete_sum"`
	LocAddedSum                 int64 `json:"loc_added_sum"`
	LocDeletedSum               int64 `json:"loc_deleted_sum"`
}

func (c *CodeActivity) add(o CodeActivity) {
	c.CodeGenerationActivityCount += o.CodeGenerationActivityCount
	c.CodeAcceptanceActivityCount += o.CodeAcceptanceActivityCount
	c.LocSuggestedToAddSum += o.LocSuggestedToAddSum
	c.LocSuggestedToDeleteSum += o.LocSuggestedToDeleteSum
	c.LocAddedSum += o.LocAddedSum
	c.LocDeletedSum += o.LocDeletedSum
}

func (c CodeActivity) negative() string {
	switch {
	case c.CodeGenerationActivityCount < 0:
		return "code_generation_activity_count"
	case c.CodeAcceptanceActivityCount < 0:
		return "code_acceptance_activity_count"
	case c.LocSuggestedToAddSum < 0:
		return "loc_suggested_to_add_sum"
	case c.LocSuggestedToDeleteSum < 0:
		return "loc_suggested_to_delete_sum"
	case c.LocAddedSum < 0:
		return "loc_added_sum"
	case c.LocDeletedSum < 0:
		return "loc_deleted_sum"
	}
	return ""
}

// Counters are the seven top-level activity counters.
type Counters struct {
	UserInitiatedInteractionCount int64 `json:"user_initiated_interaction_count"`
	CodeActivity
}

func (c *Counters) add(o Counters) {
	c.UserInitiatedInteractionCount += o.UserInitiatedInteractionCount
	c.CodeActivity.add(o.CodeActivity)
}

func (c Counters) negative() string {
	if c.UserInitiatedInteractionCount < 0 {
		return "user_initiated_interaction_count"
	}
	return c.CodeActivity.negative()
}

// IDEVersion is last_known_ide_version.
type IDEVersion struct {
	IDEVersion string  `json:"ide_version"`
	SampledAt  *string `json:"sampled_at"`
}

// PluginVersion is last_known_plugin_version.
type PluginVersion struct {
	Plugin        string  `json:"plugin"`
	PluginVersion string  `json:"plugin_version"`
	SampledAt     *string `json:"sampled_at"`
}

// IDETotals is an element of totals_by_ide. The versions appear in
// per-user reports only.
type IDETotals struct {
	IDE string `json:"ide"`
	Counters
	LastKnownIDEVersion    *IDEVersion    `json:"last_known_ide_version,omitempty"`
	LastKnownPluginVersion *PluginVersion `json:"last_known_plugin_version,omitempty"`
}

// FeatureTotals is an element of totals_by_feature.
type FeatureTotals struct {
	Feature string `json:"feature"`
	Counters
}

// LanguageFeatureTotals is an element of totals_by_language_feature.
type LanguageFeatureTotals struct {
	Language string `json:"language"`
	Feature  string `json:"feature"`
	CodeActivity
}

// LanguageModelTotals is an element of totals_by_language_model.
type LanguageModelTotals struct {
	Language string `json:"language"`
	Model    string `json:"model"`
	CodeActivity
}

// ModelFeatureTotals is an element of totals_by_model_feature.
type ModelFeatureTotals struct {
	Model   string `json:"model"`
	Feature string `json:"feature"`
	Counters
}

// TokenUsage is the token_usage object of the CLI and app totals.
// AvgTokensPerRequest is null when there were no requests.
type TokenUsage struct {
	OutputTokensSum     int64    `json:"output_tokens_sum"`
	PromptTokensSum     int64    `json:"prompt_tokens_sum"`
	AvgTokensPerRequest *float64 `json:"avg_tokens_per_request"`
}

// CLIVersion is last_known_cli_version.
type CLIVersion struct {
	CLIVersion string  `json:"cli_version"`
	SampledAt  *string `json:"sampled_at"`
}

// CLITotals is totals_by_cli; LastKnownCLIVersion is per-user only.
type CLITotals struct {
	SessionCount        int64       `json:"session_count"`
	RequestCount        int64       `json:"request_count"`
	PromptCount         int64       `json:"prompt_count"`
	TokenUsage          TokenUsage  `json:"token_usage"`
	LastKnownCLIVersion *CLIVersion `json:"last_known_cli_version,omitempty"`
}

// AppTotals is totals_by_copilot_app.
type AppTotals struct {
	SessionCount int64      `json:"session_count"`
	RequestCount int64      `json:"request_count"`
	PromptCount  int64      `json:"prompt_count"`
	TokenUsage   TokenUsage `json:"token_usage"`
}

// VSCodeAgentTotals is totals_by_vscode_agent.
type VSCodeAgentTotals struct {
	SessionCount      int64 `json:"session_count"`
	TotalUserMessages int64 `json:"total_user_messages"`
}

// ThirdPartyAgent is an element of totals_by_3rd_party_agent; SessionCount
// appears in aggregate reports only.
type ThirdPartyAgent struct {
	AgentID                       string `json:"agent_id"`
	AgentName                     string `json:"agent_name"`
	UserInitiatedInteractionCount int64  `json:"user_initiated_interaction_count"`
	SessionCount                  *int64 `json:"session_count,omitempty"`
}

// Named counts of the CLI customisation arrays.
type (
	SkillCount struct {
		Skill            string `json:"skill"`
		InteractionCount int64  `json:"interaction_count"`
	}
	CustomAgentCount struct {
		CustomAgent      string `json:"custom_agent"`
		InteractionCount int64  `json:"interaction_count"`
	}
	MCPCount struct {
		MCP              string `json:"mcp"`
		InteractionCount int64  `json:"interaction_count"`
	}
	SlashCmdCount struct {
		SlashCmd         string `json:"slash_cmd"`
		InteractionCount int64  `json:"interaction_count"`
	}
	PluginCount struct {
		Plugin           string `json:"plugin"`
		InteractionCount int64  `json:"interaction_count"`
	}
)

// AdoptionPhase is a user's ai_adoption_phase.
type AdoptionPhase struct {
	PhaseNumber int    `json:"phase_number"`
	Phase       string `json:"phase"`
	Version     string `json:"version"`
}

// Phases are the adoption phase names by number.
var Phases = []string{"No Cohort", "Phase 1", "Phase 2", "Phase 3"}

// Activity is one user's Copilot activity on one day: the fields of a
// users-1-day line after user_login, in the research's order.
type Activity struct {
	Counters
	AICreditsUsed *json.Number `json:"ai_credits_used,omitempty"`

	UsedAgent                    bool  `json:"used_agent"`
	UsedChat                     bool  `json:"used_chat"`
	UsedCLI                      bool  `json:"used_cli"`
	UsedCopilotCodingAgent       bool  `json:"used_copilot_coding_agent"`
	UsedCopilotCloudAgent        bool  `json:"used_copilot_cloud_agent"`
	UsedCopilotCodeReviewActive  *bool `json:"used_copilot_code_review_active"`
	UsedCopilotCodeReviewPassive *bool `json:"used_copilot_code_review_passive"`
	UsedCopilotApp               *bool `json:"used_copilot_app,omitempty"`
	UsedVSCodeAgent              *bool `json:"used_vscode_agent,omitempty"`

	AIAdoptionPhase AdoptionPhase `json:"ai_adoption_phase"`

	TotalsByIDE             []IDETotals             `json:"totals_by_ide"`
	TotalsByFeature         []FeatureTotals         `json:"totals_by_feature"`
	TotalsByLanguageFeature []LanguageFeatureTotals `json:"totals_by_language_feature"`
	TotalsByLanguageModel   []LanguageModelTotals   `json:"totals_by_language_model"`
	TotalsByModelFeature    []ModelFeatureTotals    `json:"totals_by_model_feature"`

	TotalsByCLI           *CLITotals         `json:"totals_by_cli,omitempty"`
	TotalsByCopilotApp    *AppTotals         `json:"totals_by_copilot_app,omitempty"`
	TotalsByVSCodeAgent   *VSCodeAgentTotals `json:"totals_by_vscode_agent,omitempty"`
	TotalsBy3rdPartyAgent []ThirdPartyAgent  `json:"totals_by_3rd_party_agent,omitempty"`

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
}

// CommentTypeSuggestions is an element of copilot_suggestions_by_comment_type.
type CommentTypeSuggestions struct {
	CommentType                    string `json:"comment_type"`
	TotalCopilotSuggestions        int64  `json:"total_copilot_suggestions"`
	TotalCopilotAppliedSuggestions int64  `json:"total_copilot_applied_suggestions"`
}

// PRCounts are the integer counters of a pull_requests object.
type PRCounts struct {
	TotalCreated                   int64 `json:"total_created"`
	TotalReviewed                  int64 `json:"total_reviewed"`
	TotalMerged                    int64 `json:"total_merged"`
	TotalSuggestions               int64 `json:"total_suggestions"`
	TotalAppliedSuggestions        int64 `json:"total_applied_suggestions"`
	TotalCreatedByCopilot          int64 `json:"total_created_by_copilot"`
	TotalReviewedByCopilot         int64 `json:"total_reviewed_by_copilot"`
	TotalMergedCreatedByCopilot    int64 `json:"total_merged_created_by_copilot"`
	TotalMergedReviewedByCopilot   int64 `json:"total_merged_reviewed_by_copilot"`
	TotalCopilotSuggestions        int64 `json:"total_copilot_suggestions"`
	TotalCopilotAppliedSuggestions int64 `json:"total_copilot_applied_suggestions"`
}

func (c *PRCounts) add(o PRCounts) {
	c.TotalCreated += o.TotalCreated
	c.TotalReviewed += o.TotalReviewed
	c.TotalMerged += o.TotalMerged
	c.TotalSuggestions += o.TotalSuggestions
	c.TotalAppliedSuggestions += o.TotalAppliedSuggestions
	c.TotalCreatedByCopilot += o.TotalCreatedByCopilot
	c.TotalReviewedByCopilot += o.TotalReviewedByCopilot
	c.TotalMergedCreatedByCopilot += o.TotalMergedCreatedByCopilot
	c.TotalMergedReviewedByCopilot += o.TotalMergedReviewedByCopilot
	c.TotalCopilotSuggestions += o.TotalCopilotSuggestions
	c.TotalCopilotAppliedSuggestions += o.TotalCopilotAppliedSuggestions
}

// RepoPullRequests is ghusage's ingestion extension carrying one user's
// pull-request activity in one repository that day (pull_requests_by_repo
// on an ingested line). Per-user report lines never show it (GitHub's
// per-user records carry no pull_requests); it feeds the aggregate
// pull_requests objects, the adoption-phase averages and repos-1-day.
// MergeMinutes lists, for each pull request merged that day, the minutes
// from creation to merge, so medians are exact over any scope.
type RepoPullRequests struct {
	Repo string `json:"repo"` // owner/name, as ingested
	PRCounts
	MergeMinutes                    []float64                `json:"merge_minutes,omitempty"`
	MergeMinutesCopilotAuthored     []float64                `json:"merge_minutes_copilot_authored,omitempty"`
	MergeMinutesCopilotReviewed     []float64                `json:"merge_minutes_copilot_reviewed,omitempty"`
	CopilotSuggestionsByCommentType []CommentTypeSuggestions `json:"copilot_suggestions_by_comment_type,omitempty"`

	// Resolved at ingestion from the accounts store.
	RepoID         int64  `json:"repo_id,omitempty"`
	RepoOwnerName  string `json:"repo_owner_name,omitempty"`
	RepoName       string `json:"repo_name,omitempty"`
	RepoVisibility string `json:"repo_visibility,omitempty"`
}

// Extra is what an ingested line carries beyond its report line: data only
// aggregates use.
type Extra struct {
	PullRequestsByRepo []RepoPullRequests `json:"pull_requests_by_repo,omitempty"`
	// AgentSessions are the session counts of the line's 3rd-party agents,
	// by agent_id (GitHub shows session_count on aggregates only).
	AgentSessions map[string]int64 `json:"agent_sessions,omitempty"`
	// PremiumRequestsByModel is the user's premium requests that day per
	// model (ingested as premium_requests_by_model): what the billing
	// ledger's copilot_premium_request usage is derived from when
	// --copilot-billing is on.
	PremiumRequestsByModel []ModelPremiumRequests `json:"premium_requests_by_model,omitempty"`
}

// ModelPremiumRequests is an element of premium_requests_by_model,
// ghusage's ingestion extension (GitHub's report lines carry no premium
// requests): the premium requests one user made with one model on the
// line's day. Requests is an exact decimal with at most 9 decimal places
// (a model's multiplier makes one request count 0.33 or 10).
type ModelPremiumRequests struct {
	Model    string      `json:"model"`
	Requests json.Number `json:"requests"`
}

// MaxModelLength is the longest model name premium_requests_by_model takes
// (the billing ledger's limit on a record's model).
const MaxModelLength = 255

// Record is one stored user-day: the identity fields, the report line's
// activity (Line: the JSON object of Activity) and the extra data.
type Record struct {
	Line      int // the line it was read from, for error messages
	Day       Day
	UserID    int64
	UserLogin string
	Activity  Activity
	Extra     Extra
}

// Flags are the kinds of activity the active-user counts distinguish.
type Flags uint16

const (
	FlagActive Flags = 1 << iota // any activity that day (a users-1-day line)
	FlagChat
	FlagAgent
	FlagCLI
	FlagCloudAgent
	FlagCodeReviewActive
	FlagCodeReviewPassive
	FlagVSCodeAgent
	FlagApp
	numFlags = iota
)

// Flags derives the activity kinds of a.
func (a *Activity) Flags() Flags {
	f := FlagActive
	set := func(b bool, x Flags) {
		if b {
			f |= x
		}
	}
	set(a.UsedChat, FlagChat)
	set(a.UsedAgent, FlagAgent)
	set(a.UsedCLI, FlagCLI)
	set(a.UsedCopilotCloudAgent || a.UsedCopilotCodingAgent, FlagCloudAgent)
	set(a.UsedCopilotCodeReviewActive != nil && *a.UsedCopilotCodeReviewActive, FlagCodeReviewActive)
	set(a.UsedCopilotCodeReviewPassive != nil && *a.UsedCopilotCodeReviewPassive, FlagCodeReviewPassive)
	set(a.UsedVSCodeAgent != nil && *a.UsedVSCodeAgent, FlagVSCodeAgent)
	set(a.UsedCopilotApp != nil && *a.UsedCopilotApp, FlagApp)
	return f
}
