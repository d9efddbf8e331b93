package copilot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Limits of one ingest batch, and the largest user id stores must key.
const (
	MaxUserID     = 1<<34 - 1
	MaxLineBytes  = 1 << 20
	MaxBatch      = 50_000
	MaxLineErrors = 20
	// MaxDecodedBytes bounds what a gzip-compressed batch may expand to.
	MaxDecodedBytes = 512 << 20
)

// LineError is an invalid line: its 1-based number, the field at fault
// ("" when the line is not a JSON object) and why.
type LineError struct {
	Line    int
	Field   string
	Message string
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Message)
}

// ingestLine is an ingested line: a users-1-day (or users-28-day) line,
// whose scope and housekeeping fields are accepted and ignored, plus
// ghusage's pull_requests_by_repo extension.
type ingestLine struct {
	Day       *string `json:"day"`
	UserID    *int64  `json:"user_id"`
	UserLogin *string `json:"user_login"`

	EnterpriseID      json.RawMessage `json:"enterprise_id,omitempty"`
	OrganizationID    json.RawMessage `json:"organization_id,omitempty"`
	EtlID             json.RawMessage `json:"etl_id,omitempty"`
	DayPartition      json.RawMessage `json:"day_partition,omitempty"`
	EntityIDPartition json.RawMessage `json:"entity_id_partition,omitempty"`
	ReportStartDay    json.RawMessage `json:"report_start_day,omitempty"`
	ReportEndDay      json.RawMessage `json:"report_end_day,omitempty"`

	Activity
	PullRequestsByRepo     []RepoPullRequests `json:"pull_requests_by_repo,omitempty"`
	PremiumRequestsByModel []wirePremium      `json:"premium_requests_by_model,omitempty"`
}

// wirePremium is an ingested premium_requests_by_model element; requests
// is kept as its literal so a JSON string is refused and the decimal is
// checked exactly.
type wirePremium struct {
	Model    *string         `json:"model"`
	Requests json.RawMessage `json:"requests"`
}

// ParseLine decodes and validates one line. today is the newest day a
// line may be for.
func ParseLine(b []byte, today Day) (Record, *LineError) {
	var in ingestLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return Record{}, jsonError(err)
	}
	if dec.More() {
		return Record{}, &LineError{Message: "more than one JSON value on the line"}
	}
	var r Record
	switch {
	case in.Day == nil:
		return r, &LineError{Field: "day", Message: "missing"}
	case in.UserID == nil:
		return r, &LineError{Field: "user_id", Message: "missing"}
	case *in.UserID <= 0 || *in.UserID > MaxUserID:
		return r, &LineError{Field: "user_id", Message: fmt.Sprintf("must be an integer from 1 to %d", int64(MaxUserID))}
	case in.UserLogin == nil || strings.TrimSpace(*in.UserLogin) == "":
		return r, &LineError{Field: "user_login", Message: "missing"}
	}
	d, err := ParseDay(*in.Day)
	if err != nil {
		return r, &LineError{Field: "day", Message: err.Error()}
	}
	if d > today {
		return r, &LineError{Field: "day", Message: fmt.Sprintf("%s is in the future (today is %s UTC)", d, today)}
	}
	r.Day, r.UserID, r.UserLogin = d, *in.UserID, *in.UserLogin
	r.Activity = in.Activity
	if fe := normalize(&r.Activity, &r.Extra); fe != nil {
		return r, fe
	}
	for i := range in.PullRequestsByRepo {
		p := &in.PullRequestsByRepo[i]
		field := fmt.Sprintf("pull_requests_by_repo[%d]", i)
		owner, name, ok := strings.Cut(p.Repo, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return r, &LineError{Field: field + ".repo", Message: "must be owner/name"}
		}
		if f := p.PRCounts.negative(); f != "" {
			return r, &LineError{Field: field + "." + f, Message: "must not be negative"}
		}
		for _, l := range []struct {
			name string
			v    []float64
			max  int64
		}{{"merge_minutes", p.MergeMinutes, p.TotalMerged}, {"merge_minutes_copilot_authored", p.MergeMinutesCopilotAuthored, p.TotalMergedCreatedByCopilot},
			{"merge_minutes_copilot_reviewed", p.MergeMinutesCopilotReviewed, p.TotalMergedReviewedByCopilot}} {
			if len(l.v) > 0 && int64(len(l.v)) != l.max {
				return r, &LineError{Field: field + "." + l.name, Message: fmt.Sprintf("has %d entries; it lists one per merged pull request (%d)", len(l.v), l.max)}
			}
			for _, m := range l.v {
				if m < 0 || math.IsNaN(m) || math.IsInf(m, 0) {
					return r, &LineError{Field: field + "." + l.name, Message: "minutes must be non-negative numbers"}
				}
			}
		}
		p.RepoID, p.RepoOwnerName, p.RepoName, p.RepoVisibility = 0, "", "", ""
	}
	r.Extra.PullRequestsByRepo = in.PullRequestsByRepo
	for i, p := range in.PremiumRequestsByModel {
		field := fmt.Sprintf("premium_requests_by_model[%d]", i)
		if p.Model == nil {
			return r, &LineError{Field: field + ".model", Message: "missing"}
		}
		if len(p.Requests) == 0 || string(p.Requests) == "null" {
			return r, &LineError{Field: field + ".requests", Message: "missing"}
		}
		r.Extra.PremiumRequestsByModel = append(r.Extra.PremiumRequestsByModel, ModelPremiumRequests{Model: *p.Model, Requests: json.Number(p.Requests)})
	}
	if fe := checkPremium(r.Extra.PremiumRequestsByModel); fe != nil {
		return r, fe
	}
	return r, nil
}

// checkPremium validates premium_requests_by_model: a model named once,
// at most MaxModelLength bytes, and requests a non-negative decimal with
// at most 9 decimal places (no exponent), exactly what the billing ledger
// can record.
func checkPremium(ps []ModelPremiumRequests) *LineError {
	seen := map[string]bool{}
	for i, p := range ps {
		field := fmt.Sprintf("premium_requests_by_model[%d]", i)
		switch {
		case strings.TrimSpace(p.Model) == "":
			return &LineError{Field: field + ".model", Message: "missing"}
		case len(p.Model) > MaxModelLength:
			return &LineError{Field: field + ".model", Message: fmt.Sprintf("is longer than %d bytes", MaxModelLength)}
		case seen[p.Model]:
			return &LineError{Field: field + ".model", Message: fmt.Sprintf("%q is listed twice; give each model once", p.Model)}
		case !plainDecimal(string(p.Requests)):
			return &LineError{Field: field + ".requests", Message: "must be a non-negative decimal number with at most 9 decimal places (e.g. 12 or 0.33), not " + string(p.Requests)}
		}
		seen[p.Model] = true
	}
	return nil
}

// plainDecimal reports whether s is digits with an optional fraction of
// 1 to 9 digits, at most 10 integer digits.
func plainDecimal(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 10 || (dot && (frac == "" || len(frac) > 9)) {
		return false
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false
			}
		}
	}
	return true
}

func (c PRCounts) negative() string {
	b, _ := json.Marshal(c)
	var m map[string]int64
	json.Unmarshal(b, &m)
	for k, v := range m {
		if v < 0 {
			return k
		}
	}
	return ""
}

func jsonError(err error) *LineError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		f := te.Field
		if f == "" {
			return &LineError{Message: "not a JSON object"}
		}
		return &LineError{Field: f, Message: fmt.Sprintf("must be %s, not a JSON %s", jsonType(te.Type.Kind().String()), te.Value)}
	case errors.As(err, &se):
		return &LineError{Message: "not valid JSON: " + se.Error()}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &LineError{Field: strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), Message: "unknown field"}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &LineError{Message: "not a complete JSON object"}
	}
	return &LineError{Message: err.Error()}
}

func jsonType(kind string) string {
	switch kind {
	case "int", "int32", "int64":
		return "an integer"
	case "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "of another type"
}

// normalize checks an activity and brings it to its stored form: arrays
// present, the adoption phase defaulted, coding and cloud agent equal,
// 3rd-party session counts moved to the extra data.
func normalize(a *Activity, x *Extra) *LineError {
	if f := a.Counters.negative(); f != "" {
		return &LineError{Field: f, Message: "must not be negative"}
	}
	if a.AICreditsUsed != nil {
		v, err := a.AICreditsUsed.Float64()
		if err != nil || v < 0 {
			return &LineError{Field: "ai_credits_used", Message: "must be a non-negative number"}
		}
	}
	a.UsedCopilotCodingAgent = a.UsedCopilotCodingAgent || a.UsedCopilotCloudAgent
	a.UsedCopilotCloudAgent = a.UsedCopilotCodingAgent
	p := &a.AIAdoptionPhase
	if p.Phase == "" && p.PhaseNumber == 0 {
		p.Phase = Phases[0]
	}
	if p.Version == "" {
		p.Version = "v1"
	}
	if p.PhaseNumber < 0 || p.PhaseNumber >= len(Phases) || Phases[p.PhaseNumber] != p.Phase {
		return &LineError{Field: "ai_adoption_phase", Message: fmt.Sprintf("phase_number %d and phase %q do not match one of %q", p.PhaseNumber, p.Phase, Phases)}
	}
	if a.TotalsByIDE == nil {
		a.TotalsByIDE = []IDETotals{}
	}
	if a.TotalsByFeature == nil {
		a.TotalsByFeature = []FeatureTotals{}
	}
	if a.TotalsByLanguageFeature == nil {
		a.TotalsByLanguageFeature = []LanguageFeatureTotals{}
	}
	if a.TotalsByLanguageModel == nil {
		a.TotalsByLanguageModel = []LanguageModelTotals{}
	}
	if a.TotalsByModelFeature == nil {
		a.TotalsByModelFeature = []ModelFeatureTotals{}
	}
	for i, e := range a.TotalsByIDE {
		if fe := dims(fmt.Sprintf("totals_by_ide[%d]", i), e.Counters.negative(), "ide", e.IDE); fe != nil {
			return fe
		}
		if e.LastKnownIDEVersion != nil {
			if fe := sampled(fmt.Sprintf("totals_by_ide[%d].last_known_ide_version.sampled_at", i), e.LastKnownIDEVersion.SampledAt); fe != nil {
				return fe
			}
		}
		if e.LastKnownPluginVersion != nil {
			if fe := sampled(fmt.Sprintf("totals_by_ide[%d].last_known_plugin_version.sampled_at", i), e.LastKnownPluginVersion.SampledAt); fe != nil {
				return fe
			}
		}
	}
	for i, e := range a.TotalsByFeature {
		if fe := dims(fmt.Sprintf("totals_by_feature[%d]", i), e.Counters.negative(), "feature", e.Feature); fe != nil {
			return fe
		}
	}
	for i, e := range a.TotalsByLanguageFeature {
		if fe := dims(fmt.Sprintf("totals_by_language_feature[%d]", i), e.CodeActivity.negative(), "language", e.Language, "feature", e.Feature); fe != nil {
			return fe
		}
	}
	for i, e := range a.TotalsByLanguageModel {
		if fe := dims(fmt.Sprintf("totals_by_language_model[%d]", i), e.CodeActivity.negative(), "language", e.Language, "model", e.Model); fe != nil {
			return fe
		}
	}
	for i, e := range a.TotalsByModelFeature {
		if fe := dims(fmt.Sprintf("totals_by_model_feature[%d]", i), e.Counters.negative(), "model", e.Model, "feature", e.Feature); fe != nil {
			return fe
		}
	}
	if c := a.TotalsByCLI; c != nil {
		if c.SessionCount < 0 || c.RequestCount < 0 || c.PromptCount < 0 || c.TokenUsage.OutputTokensSum < 0 || c.TokenUsage.PromptTokensSum < 0 {
			return &LineError{Field: "totals_by_cli", Message: "counts must not be negative"}
		}
		c.TokenUsage.AvgTokensPerRequest = avgTokens(c.TokenUsage, c.RequestCount)
		if c.LastKnownCLIVersion == nil {
			c.LastKnownCLIVersion = &CLIVersion{CLIVersion: "unknown"}
		}
		if fe := sampled("totals_by_cli.last_known_cli_version.sampled_at", c.LastKnownCLIVersion.SampledAt); fe != nil {
			return fe
		}
	}
	if c := a.TotalsByCopilotApp; c != nil {
		if c.SessionCount < 0 || c.RequestCount < 0 || c.PromptCount < 0 || c.TokenUsage.OutputTokensSum < 0 || c.TokenUsage.PromptTokensSum < 0 {
			return &LineError{Field: "totals_by_copilot_app", Message: "counts must not be negative"}
		}
		c.TokenUsage.AvgTokensPerRequest = avgTokens(c.TokenUsage, c.RequestCount)
	}
	if c := a.TotalsByVSCodeAgent; c != nil && (c.SessionCount < 0 || c.TotalUserMessages < 0) {
		return &LineError{Field: "totals_by_vscode_agent", Message: "counts must not be negative"}
	}
	for i := range a.TotalsBy3rdPartyAgent {
		e := &a.TotalsBy3rdPartyAgent[i]
		if e.AgentID == "" {
			return &LineError{Field: fmt.Sprintf("totals_by_3rd_party_agent[%d].agent_id", i), Message: "missing"}
		}
		if e.UserInitiatedInteractionCount < 0 || (e.SessionCount != nil && *e.SessionCount < 0) {
			return &LineError{Field: fmt.Sprintf("totals_by_3rd_party_agent[%d]", i), Message: "counts must not be negative"}
		}
		if e.SessionCount != nil {
			if x.AgentSessions == nil {
				x.AgentSessions = map[string]int64{}
			}
			x.AgentSessions[e.AgentID] += *e.SessionCount
			e.SessionCount = nil
		}
	}
	if len(a.TotalsBySkill) > 5 || len(a.TotalsByCustomAgent) > 5 || len(a.TotalsByMCP) > 5 || len(a.TotalsBySlashCmd) > 5 || len(a.TotalsByPlugin) > 5 {
		return &LineError{Field: "totals_by_skill", Message: "the CLI customisation arrays hold at most 5 entries each"}
	}
	return nil
}

func avgTokens(t TokenUsage, requests int64) *float64 {
	if requests == 0 {
		return nil
	}
	v := math.Round(float64(t.OutputTokensSum+t.PromptTokensSum)/float64(requests)*100) / 100
	return &v
}

func dims(prefix, negative string, kv ...string) *LineError {
	if negative != "" {
		return &LineError{Field: prefix + "." + negative, Message: "must not be negative"}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			return &LineError{Field: prefix + "." + kv[i], Message: "missing"}
		}
	}
	return nil
}

func sampled(field string, s *string) *LineError {
	if s == nil {
		return nil
	}
	if _, err := time.Parse(time.RFC3339Nano, *s); err != nil {
		return &LineError{Field: field, Message: "must be an RFC 3339 timestamp"}
	}
	return nil
}

// DecodeAll reads every line of r (NDJSON, gzip accepted), up to MaxBatch
// records. When any line is invalid it returns a 422 listing up to
// MaxLineErrors lines and no records: a batch is accepted whole or not at
// all. A later line for the same user and day replaces an earlier one.
func DecodeAll(r io.Reader, today Day) ([]Record, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, lineErrors([]*LineError{{Line: 1, Message: "not valid gzip: " + err.Error()}}, 1)
		}
		br = bufio.NewReaderSize(usage.CapDecoded(zr, MaxDecodedBytes), 64<<10)
	}
	var (
		recs  []Record
		bad   []*LineError
		nbad  int
		line  int
		index = map[[2]int64]int{}
		buf   []byte
	)
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf[:0], chunk...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(buf) > MaxLineBytes {
				return nil, lineErrors([]*LineError{{Line: line + 1, Message: fmt.Sprintf("longer than %d bytes", MaxLineBytes)}}, 1)
			}
			chunk, err = br.ReadSlice('\n')
			buf = append(buf, chunk...)
		}
		if err != nil && err != io.EOF {
			var ue *usage.Error
			if errors.As(err, &ue) {
				return nil, err
			}
			// 400, but a body over the route's limit (a cause it
			// carries, as *http.MaxBytesError) is answered 413
			e := usage.Errorf(usage.KindBadRequest, "reading the body: %v", err)
			e.Err = err
			return nil, e
		}
		if len(buf) > 0 {
			line++
			if text := bytes.TrimSpace(buf); len(text) > 0 {
				rec, le := ParseLine(text, today)
				if le != nil {
					le.Line = line
					nbad++
					if len(bad) < MaxLineErrors {
						bad = append(bad, le)
					}
				} else if nbad == 0 {
					rec.Line = line
					key := [2]int64{rec.UserID, int64(rec.Day)}
					if i, ok := index[key]; ok {
						recs[i] = rec
					} else {
						if len(recs) >= MaxBatch {
							return nil, &usage.Error{Kind: usage.KindTooLarge,
								Message: fmt.Sprintf("A batch may hold at most %d lines; split the file into smaller batches", MaxBatch)}
						}
						index[key] = len(recs)
						recs = append(recs, rec)
					}
				}
			}
		}
		if err == io.EOF {
			break
		}
	}
	if nbad > 0 {
		return nil, lineErrors(bad, nbad)
	}
	return recs, nil
}

func lineErrors(bad []*LineError, total int) *usage.Error {
	e := &usage.Error{Kind: usage.KindInvalid,
		Message: fmt.Sprintf("Validation Failed: %d invalid line(s); nothing in this batch was recorded", total)}
	for _, le := range bad {
		field := fmt.Sprintf("line %d", le.Line)
		if le.Field != "" {
			field += ": " + le.Field
		}
		e.Fields = append(e.Fields, usage.FieldError{Resource: "CopilotUsage", Field: field, Code: "invalid", Message: le.Error()})
	}
	return e
}

// MarshalLine returns r as an ingestion line: what ParseLine reads back
// into r (the extension pull_requests_by_repo and 3rd-party session counts
// included), without a trailing newline.
func (r *Record) MarshalLine() ([]byte, error) {
	day, id, login := r.Day.String(), r.UserID, r.UserLogin
	in := ingestLine{Day: &day, UserID: &id, UserLogin: &login, Activity: r.Activity, PullRequestsByRepo: r.Extra.PullRequestsByRepo}
	for _, p := range r.Extra.PremiumRequestsByModel {
		in.PremiumRequestsByModel = append(in.PremiumRequestsByModel, wirePremium{Model: &p.Model, Requests: json.RawMessage(p.Requests)})
	}
	if len(r.Extra.AgentSessions) > 0 {
		in.TotalsBy3rdPartyAgent = make([]ThirdPartyAgent, len(r.Activity.TotalsBy3rdPartyAgent))
		for i, e := range r.Activity.TotalsBy3rdPartyAgent {
			if n, ok := r.Extra.AgentSessions[e.AgentID]; ok {
				e.SessionCount = &n
			}
			in.TotalsBy3rdPartyAgent[i] = e
		}
	}
	return json.Marshal(&in)
}
