// Package copilotgen generates deterministic, internally consistent
// per-user Copilot activity: the breakdown arrays partition the top-level
// counters, CLI activity stays out of the IDE arrays, acceptances never
// exceed generations. The demo dataset, the tests and bench copilot use it.
package copilotgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ghusage/ghusage/internal/copilot"
)

var (
	ides      = []string{"vscode", "vscode", "vscode", "vscode", "intellij", "intellij", "visualstudio", "neovim", "xcode", "goland"}
	ideVer    = map[string]string{"vscode": "1.104.2", "intellij": "2026.2.1", "visualstudio": "17.14.3", "neovim": "0.11.4", "xcode": "26.0", "goland": "2026.2"}
	plugins   = map[string]string{"vscode": "copilot-chat", "intellij": "copilot-intellij", "visualstudio": "copilot-vs", "neovim": "copilot.vim", "xcode": "copilot-xcode", "goland": "copilot-intellij"}
	languages = []string{"go", "typescript", "python", "java", "markdown", "rust", "yaml", "sql"}
	models    = []string{"gpt-5.4", "claude-sonnet-4.6", "auto", "gemini-2.5-pro"}
	chatModes = []string{"chat_panel_ask_mode", "chat_panel_agent_mode", "chat_panel_edit_mode", "chat_inline"}
	mcps      = []string{"github-mcp-server", "other", "playwright"}
	slashCmds = []string{"/plan", "/explain", "custom"}
	agents    = [][2]string{{"9100001", "Example Agent"}, {"9100002", "Review Bot"}}
)

// Options shapes a user's day.
type Options struct {
	// Adoption in [0, 1] scales how much the user does: higher means more
	// chat and agent use and a later adoption phase.
	Adoption float64
	// Repos are owner/name repositories pull-request activity may be in;
	// none means no pull-request activity.
	Repos []string
	// PremiumRequests adds premium_requests_by_model: each chat prompt is
	// a premium request of its model (auto model selection at a 10 %
	// discount, 0.9), each CLI prompt one of claude-sonnet-4.6. It draws
	// nothing from r, so the rest of the day is the same either way.
	PremiumRequests bool
}

// multipliers are the premium-request multipliers of the models, in tenths.
var multipliers = map[string]int64{"gpt-5.4": 10, "claude-sonnet-4.6": 10, "auto": 9, "gemini-2.5-pro": 10}

// Day returns user's activity on day d, drawn from r.
func Day(r *rand.Rand, userID int64, login string, d copilot.Day, o Options) copilot.Record {
	rec := copilot.Record{Day: d, UserID: userID, UserLogin: login}
	a := &rec.Activity
	ide := ides[int(userID)%len(ides)]
	at := d.Time().Add(time.Duration(8*3600+r.IntN(10*3600)) * time.Second).Format("2006-01-02T15:04:05.000Z")
	// Completions, in one or two languages.
	langs := []string{languages[int(userID)%len(languages)], languages[r.IntN(len(languages))]}
	var total copilot.Counters
	ideTotals := copilot.IDETotals{IDE: ide,
		LastKnownIDEVersion:    &copilot.IDEVersion{IDEVersion: ideVer[ide], SampledAt: &at},
		LastKnownPluginVersion: &copilot.PluginVersion{Plugin: plugins[ide], PluginVersion: "0.31.4", SampledAt: &at}}
	features := map[string]*copilot.FeatureTotals{}
	feature := func(f string) *copilot.FeatureTotals {
		if features[f] == nil {
			features[f] = &copilot.FeatureTotals{Feature: f}
		}
		return features[f]
	}
	langFeature := map[[2]string]*copilot.LanguageFeatureTotals{}
	var lfOrder [][2]string
	addLF := func(lang, f string, c copilot.CodeActivity) {
		k := [2]string{lang, f}
		if langFeature[k] == nil {
			langFeature[k] = &copilot.LanguageFeatureTotals{Language: lang, Feature: f}
			lfOrder = append(lfOrder, k)
		}
		addCode(&langFeature[k].CodeActivity, c)
	}
	for _, lang := range langs {
		gen := int64(5 + r.IntN(40))
		acc := gen * int64(20+r.IntN(20)) / 100
		c := copilot.CodeActivity{CodeGenerationActivityCount: gen, CodeAcceptanceActivityCount: acc,
			LocSuggestedToAddSum: gen * 3, LocAddedSum: acc * 3}
		addCode(&feature("code_completion").CodeActivity, c)
		addLF(lang, "code_completion", c)
	}
	// Chat and agent, more with adoption.
	var mf []copilot.ModelFeatureTotals
	var lm []copilot.LanguageModelTotals
	if r.Float64() < 0.3+0.6*o.Adoption {
		a.UsedChat = true
		mode := chatModes[r.IntN(len(chatModes))]
		if r.Float64() < o.Adoption {
			mode = "chat_panel_agent_mode"
		}
		model := models[r.IntN(len(models))]
		prompts := int64(1 + r.IntN(int(3+20*o.Adoption)))
		gen := prompts + int64(r.IntN(10))
		acc := gen / 3
		c := copilot.Counters{UserInitiatedInteractionCount: prompts, CodeActivity: copilot.CodeActivity{CodeGenerationActivityCount: gen,
			CodeAcceptanceActivityCount: acc, LocSuggestedToAddSum: gen * 6, LocAddedSum: acc * 5}}
		f := feature(mode)
		f.UserInitiatedInteractionCount += c.UserInitiatedInteractionCount
		addCode(&f.CodeActivity, c.CodeActivity)
		addLF(langs[0], mode, c.CodeActivity)
		mf = append(mf, copilot.ModelFeatureTotals{Model: model, Feature: mode, Counters: c})
		lm = append(lm, copilot.LanguageModelTotals{Language: langs[0], Model: model, CodeActivity: c.CodeActivity})
		if mode == "chat_panel_agent_mode" {
			a.UsedAgent = true
			edit := copilot.CodeActivity{CodeGenerationActivityCount: int64(1 + r.IntN(6)), LocAddedSum: int64(10 + r.IntN(120)), LocDeletedSum: int64(r.IntN(30))}
			addCode(&feature("agent_edit").CodeActivity, edit)
			addLF(langs[0], "agent_edit", edit)
			mf = append(mf, copilot.ModelFeatureTotals{Model: model, Feature: "agent_edit", Counters: copilot.Counters{CodeActivity: edit}})
			lm = append(lm, copilot.LanguageModelTotals{Language: langs[0], Model: model, CodeActivity: edit})
		}
	}
	for _, name := range []string{"code_completion", "chat_panel_ask_mode", "chat_panel_agent_mode", "chat_panel_edit_mode", "chat_inline", "agent_edit"} {
		if f := features[name]; f != nil {
			a.TotalsByFeature = append(a.TotalsByFeature, *f)
			total.UserInitiatedInteractionCount += f.UserInitiatedInteractionCount
			addCode(&total.CodeActivity, f.CodeActivity)
		}
	}
	for _, k := range lfOrder {
		a.TotalsByLanguageFeature = append(a.TotalsByLanguageFeature, *langFeature[k])
	}
	a.TotalsByModelFeature, a.TotalsByLanguageModel = mf, lm
	a.Counters = total
	ideTotals.Counters = total
	a.TotalsByIDE = []copilot.IDETotals{ideTotals}
	if a.TotalsByModelFeature == nil {
		a.TotalsByModelFeature = []copilot.ModelFeatureTotals{}
		a.TotalsByLanguageModel = []copilot.LanguageModelTotals{}
	}

	// The CLI, for some users.
	if userID%4 == 0 && r.Float64() < 0.3+0.5*o.Adoption {
		a.UsedCLI = true
		req := int64(2 + r.IntN(20))
		ver := "1.0." + fmt.Sprint(80+r.IntN(10))
		cat := d.Time().Add(20 * time.Hour).Format("2006-01-02T15:04:05.000Z")
		a.TotalsByCLI = &copilot.CLITotals{SessionCount: 1 + int64(r.IntN(3)), RequestCount: req, PromptCount: 1 + req/3,
			TokenUsage:          copilot.TokenUsage{OutputTokensSum: req * 600, PromptTokensSum: req * 3500},
			LastKnownCLIVersion: &copilot.CLIVersion{CLIVersion: ver, SampledAt: &cat}}
		a.TotalsByMCP = []copilot.MCPCount{{MCP: mcps[r.IntN(len(mcps))], InteractionCount: int64(1 + r.IntN(4))}}
		n := int64(1)
		a.DistinctMCPUseCount = &n
		a.TotalsBySlashCmd = []copilot.SlashCmdCount{{SlashCmd: slashCmds[r.IntN(len(slashCmds))], InteractionCount: int64(1 + r.IntN(3))}}
		a.DistinctSlashCmdUseCount = &n
	}
	// Cloud agent and code review.
	if r.Float64() < 0.15*o.Adoption {
		a.UsedCopilotCloudAgent, a.UsedCopilotCodingAgent = true, true
		ag := agents[r.IntN(len(agents))]
		a.TotalsBy3rdPartyAgent = []copilot.ThirdPartyAgent{{AgentID: ag[0], AgentName: ag[1], UserInitiatedInteractionCount: int64(1 + r.IntN(3))}}
		rec.Extra.AgentSessions = map[string]int64{ag[0]: int64(1 + r.IntN(2))}
	}
	switch x := r.Float64(); {
	case x < 0.2*o.Adoption:
		t := true
		a.UsedCopilotCodeReviewActive, a.UsedCopilotCodeReviewPassive = &t, &t
	case x < 0.5*o.Adoption:
		t := true
		a.UsedCopilotCodeReviewPassive = &t
	}
	phase := 0
	switch {
	case o.Adoption > 0.75:
		phase = 3
	case o.Adoption > 0.45:
		phase = 2
	case o.Adoption > 0.15:
		phase = 1
	}
	a.AIAdoptionPhase = copilot.AdoptionPhase{PhaseNumber: phase, Phase: copilot.Phases[phase], Version: "v1"}
	credits := fmt.Sprintf("%d.%02d", r.IntN(8), r.IntN(4)*25)
	num := json.Number(credits)
	a.AICreditsUsed = &num

	// Pull requests.
	if len(o.Repos) > 0 && r.Float64() < 0.25 {
		repo := o.Repos[r.IntN(len(o.Repos))]
		p := copilot.RepoPullRequests{Repo: repo}
		p.TotalCreated = int64(r.IntN(2))
		p.TotalReviewed = int64(r.IntN(3))
		p.TotalMerged = int64(r.IntN(2))
		for i := int64(0); i < p.TotalMerged; i++ {
			p.MergeMinutes = append(p.MergeMinutes, float64(20+r.IntN(600)))
		}
		if a.UsedCopilotCodeReviewActive != nil || a.UsedCopilotCodeReviewPassive != nil {
			p.TotalReviewedByCopilot = p.TotalReviewed
			p.TotalCopilotSuggestions = int64(r.IntN(5))
			p.TotalCopilotAppliedSuggestions = p.TotalCopilotSuggestions / 2
			p.TotalMergedReviewedByCopilot = p.TotalMerged
			p.MergeMinutesCopilotReviewed = append([]float64(nil), p.MergeMinutes...)
			if p.TotalCopilotSuggestions > 0 {
				p.CopilotSuggestionsByCommentType = []copilot.CommentTypeSuggestions{{CommentType: []string{"bug_risk", "security", "style"}[r.IntN(3)],
					TotalCopilotSuggestions: p.TotalCopilotSuggestions, TotalCopilotAppliedSuggestions: p.TotalCopilotAppliedSuggestions}}
			}
		}
		p.TotalSuggestions = p.TotalCopilotSuggestions + int64(r.IntN(3))
		p.TotalAppliedSuggestions = p.TotalCopilotAppliedSuggestions
		rec.Extra.PullRequestsByRepo = []copilot.RepoPullRequests{p}
	}
	if o.PremiumRequests {
		tenths := map[string]int64{}
		var order []string
		use := func(model string, prompts int64) {
			if prompts == 0 {
				return
			}
			if _, ok := tenths[model]; !ok {
				order = append(order, model)
			}
			tenths[model] += prompts * multipliers[model]
		}
		for _, m := range a.TotalsByModelFeature {
			use(m.Model, m.UserInitiatedInteractionCount)
		}
		if a.TotalsByCLI != nil {
			use("claude-sonnet-4.6", a.TotalsByCLI.PromptCount)
		}
		for _, m := range order {
			rec.Extra.PremiumRequestsByModel = append(rec.Extra.PremiumRequestsByModel,
				copilot.ModelPremiumRequests{Model: m, Requests: json.Number(fmt.Sprintf("%d.%d", tenths[m]/10, tenths[m]%10))})
		}
	}
	return rec
}

func addCode(c *copilot.CodeActivity, o copilot.CodeActivity) {
	c.CodeGenerationActivityCount += o.CodeGenerationActivityCount
	c.CodeAcceptanceActivityCount += o.CodeAcceptanceActivityCount
	c.LocSuggestedToAddSum += o.LocSuggestedToAddSum
	c.LocSuggestedToDeleteSum += o.LocSuggestedToDeleteSum
	c.LocAddedSum += o.LocAddedSum
	c.LocDeletedSum += o.LocDeletedSum
}
