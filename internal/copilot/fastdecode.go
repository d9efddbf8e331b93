package copilot

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// decodeForAggregate decodes the fields of a stored activity line that the
// aggregates read (the counters, the breakdown arrays without the IDE
// versions, the CLI, app, VS Code agent and 3rd-party agent totals, the
// CLI customisations, the adoption phase number) into a, skipping the
// rest. It is a reflection-free reader of JSON objects: half of a day's
// build was encoding/json decoding each line. On anything it does not
// expect (escapes in a string it keeps, keys not in lower-case ASCII) it
// returns an error, and the caller falls back to json.Unmarshal; a test
// and a fuzz test check that both give the same aggregates. Unlike
// encoding/json it does not check the types of the fields it skips:
// stored lines are json.Marshal's output of an Activity.
func decodeForAggregate(b []byte, a *Activity) error {
	s := jsonReader{b: b}
	s.object(func(key []byte) {
		switch string(key) {
		case "user_initiated_interaction_count":
			a.UserInitiatedInteractionCount = s.int()
		case "code_generation_activity_count", "code_acceptance_activity_count", "loc_suggested_to_add_sum",
			"loc_suggested_to_delete_sum", "loc_added_sum", "loc_deleted_sum":
			s.codeField(key, &a.CodeActivity)
		case "ai_adoption_phase":
			s.object(func(k []byte) {
				if string(k) == "phase_number" {
					a.AIAdoptionPhase.PhaseNumber = int(s.int())
				} else {
					s.skip()
				}
			})
		case "totals_by_ide":
			a.TotalsByIDE = a.TotalsByIDE[:0]
			s.array(func() {
				var e IDETotals
				s.object(func(k []byte) {
					if string(k) == "ide" {
						e.IDE = s.str()
					} else if !s.countersField(k, &e.Counters) {
						s.skip()
					}
				})
				a.TotalsByIDE = append(a.TotalsByIDE, e)
			})
		case "totals_by_feature":
			a.TotalsByFeature = a.TotalsByFeature[:0]
			s.array(func() {
				var e FeatureTotals
				s.object(func(k []byte) {
					if string(k) == "feature" {
						e.Feature = s.str()
					} else if !s.countersField(k, &e.Counters) {
						s.skip()
					}
				})
				a.TotalsByFeature = append(a.TotalsByFeature, e)
			})
		case "totals_by_language_feature":
			a.TotalsByLanguageFeature = a.TotalsByLanguageFeature[:0]
			s.array(func() {
				var e LanguageFeatureTotals
				s.object(func(k []byte) {
					switch string(k) {
					case "language":
						e.Language = s.str()
					case "feature":
						e.Feature = s.str()
					default:
						if !s.codeField(k, &e.CodeActivity) {
							s.skip()
						}
					}
				})
				a.TotalsByLanguageFeature = append(a.TotalsByLanguageFeature, e)
			})
		case "totals_by_language_model":
			a.TotalsByLanguageModel = a.TotalsByLanguageModel[:0]
			s.array(func() {
				var e LanguageModelTotals
				s.object(func(k []byte) {
					switch string(k) {
					case "language":
						e.Language = s.str()
					case "model":
						e.Model = s.str()
					default:
						if !s.codeField(k, &e.CodeActivity) {
							s.skip()
						}
					}
				})
				a.TotalsByLanguageModel = append(a.TotalsByLanguageModel, e)
			})
		case "totals_by_model_feature":
			a.TotalsByModelFeature = a.TotalsByModelFeature[:0]
			s.array(func() {
				var e ModelFeatureTotals
				s.object(func(k []byte) {
					switch string(k) {
					case "model":
						e.Model = s.str()
					case "feature":
						e.Feature = s.str()
					default:
						if !s.countersField(k, &e.Counters) {
							s.skip()
						}
					}
				})
				a.TotalsByModelFeature = append(a.TotalsByModelFeature, e)
			})
		case "totals_by_cli":
			if s.null() {
				a.TotalsByCLI = nil
				return
			}
			c := cmpOrNew(a.TotalsByCLI)
			s.object(func(k []byte) {
				if !s.sessionField(k, &c.SessionCount, &c.RequestCount, &c.PromptCount, &c.TokenUsage) {
					s.skip()
				}
			})
			a.TotalsByCLI = c
		case "totals_by_copilot_app":
			if s.null() {
				a.TotalsByCopilotApp = nil
				return
			}
			c := cmpOrNew(a.TotalsByCopilotApp)
			s.object(func(k []byte) {
				if !s.sessionField(k, &c.SessionCount, &c.RequestCount, &c.PromptCount, &c.TokenUsage) {
					s.skip()
				}
			})
			a.TotalsByCopilotApp = c
		case "totals_by_vscode_agent":
			if s.null() {
				a.TotalsByVSCodeAgent = nil
				return
			}
			c := cmpOrNew(a.TotalsByVSCodeAgent)
			s.object(func(k []byte) {
				switch string(k) {
				case "session_count":
					c.SessionCount = s.int()
				case "total_user_messages":
					c.TotalUserMessages = s.int()
				default:
					s.skip()
				}
			})
			a.TotalsByVSCodeAgent = c
		case "totals_by_3rd_party_agent":
			a.TotalsBy3rdPartyAgent = a.TotalsBy3rdPartyAgent[:0]
			s.array(func() {
				var e ThirdPartyAgent
				s.object(func(k []byte) {
					switch string(k) {
					case "agent_id":
						e.AgentID = s.str()
					case "agent_name":
						e.AgentName = s.str()
					case "user_initiated_interaction_count":
						e.UserInitiatedInteractionCount = s.int()
					default:
						s.skip()
					}
				})
				a.TotalsBy3rdPartyAgent = append(a.TotalsBy3rdPartyAgent, e)
			})
		case "totals_by_skill":
			a.TotalsBySkill = a.TotalsBySkill[:0]
			s.named("skill", func(n string, c int64) { a.TotalsBySkill = append(a.TotalsBySkill, SkillCount{n, c}) })
		case "totals_by_custom_agent":
			a.TotalsByCustomAgent = a.TotalsByCustomAgent[:0]
			s.named("custom_agent", func(n string, c int64) { a.TotalsByCustomAgent = append(a.TotalsByCustomAgent, CustomAgentCount{n, c}) })
		case "totals_by_mcp":
			a.TotalsByMCP = a.TotalsByMCP[:0]
			s.named("mcp", func(n string, c int64) { a.TotalsByMCP = append(a.TotalsByMCP, MCPCount{n, c}) })
		case "totals_by_slash_cmd":
			a.TotalsBySlashCmd = a.TotalsBySlashCmd[:0]
			s.named("slash_cmd", func(n string, c int64) { a.TotalsBySlashCmd = append(a.TotalsBySlashCmd, SlashCmdCount{n, c}) })
		case "totals_by_plugin":
			a.TotalsByPlugin = a.TotalsByPlugin[:0]
			s.named("plugin", func(n string, c int64) { a.TotalsByPlugin = append(a.TotalsByPlugin, PluginCount{n, c}) })
		default:
			s.skip()
		}
	})
	s.ws()
	if s.err == nil && s.i != len(s.b) {
		s.fail()
	}
	if s.err == nil && (a.AIAdoptionPhase.PhaseNumber < 0 || a.AIAdoptionPhase.PhaseNumber >= len(Phases)) {
		s.fail()
	}
	return s.err
}

// resetForAggregate empties a for decodeForAggregate, keeping the arrays'
// storage for the next line.
func (a *Activity) resetForAggregate() {
	*a = Activity{TotalsByIDE: a.TotalsByIDE[:0], TotalsByFeature: a.TotalsByFeature[:0],
		TotalsByLanguageFeature: a.TotalsByLanguageFeature[:0], TotalsByLanguageModel: a.TotalsByLanguageModel[:0],
		TotalsByModelFeature: a.TotalsByModelFeature[:0], TotalsBy3rdPartyAgent: a.TotalsBy3rdPartyAgent[:0],
		TotalsBySkill: a.TotalsBySkill[:0], TotalsByCustomAgent: a.TotalsByCustomAgent[:0], TotalsByMCP: a.TotalsByMCP[:0],
		TotalsBySlashCmd: a.TotalsBySlashCmd[:0], TotalsByPlugin: a.TotalsByPlugin[:0]}
}

// cmpOrNew returns p, or a new T when p is nil (encoding/json decodes a
// repeated object key into the object it decoded before).
func cmpOrNew[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}

var errFastDecode = errors.New("copilot: unexpected JSON for the fast decoder")

// jsonReader reads JSON values from b at i; after the first error every
// call returns at once and err stays set.
type jsonReader struct {
	b   []byte
	i   int
	err error
}

func (s *jsonReader) fail() {
	if s.err == nil {
		s.err = errFastDecode
	}
	s.i = len(s.b)
}

func (s *jsonReader) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// expect consumes byte c after white space.
func (s *jsonReader) expect(c byte) bool {
	s.ws()
	if s.err != nil || s.i >= len(s.b) || s.b[s.i] != c {
		s.fail()
		return false
	}
	s.i++
	return true
}

// peek returns the next byte after white space (0 at the end).
func (s *jsonReader) peek() byte {
	s.ws()
	if s.err != nil || s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// null consumes a null and reports whether there was one.
func (s *jsonReader) null() bool {
	if s.peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// object reads an object, calling fn for each key with the reader at its
// value; fn must consume the value.
func (s *jsonReader) object(fn func(key []byte)) {
	if !s.expect('{') {
		return
	}
	if s.peek() == '}' {
		s.i++
		return
	}
	for s.err == nil {
		key := s.rawString()
		for _, c := range key {
			// encoding/json matches keys case-insensitively; the stored
			// keys are lower-case ASCII, so leave anything else to it.
			if c >= 0x80 || 'A' <= c && c <= 'Z' {
				s.fail()
			}
		}
		if !s.expect(':') {
			return
		}
		fn(key)
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return
		default:
			s.fail()
		}
	}
}

// array reads an array (null reads as empty), calling fn at each element.
func (s *jsonReader) array(fn func()) {
	if s.null() {
		return
	}
	if !s.expect('[') {
		return
	}
	if s.peek() == ']' {
		s.i++
		return
	}
	for s.err == nil {
		fn()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return
		default:
			s.fail()
		}
	}
}

// rawString reads a string without escapes and returns its bytes; a
// string with escapes is left to encoding/json (fail).
func (s *jsonReader) rawString() []byte {
	if !s.expect('"') {
		return nil
	}
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			if !utf8.Valid(s.b[start : s.i-1]) {
				s.fail() // encoding/json replaces invalid bytes
				return nil
			}
			return s.b[start : s.i-1]
		case c == '\\' || c < 0x20:
			s.fail()
			return nil
		}
		s.i++
	}
	s.fail()
	return nil
}

func (s *jsonReader) str() string { return string(s.rawString()) }

// int reads a JSON integer: -?(0|[1-9][0-9]*).
func (s *jsonReader) int() int64 {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == digits || (s.b[digits] == '0' && s.i-digits > 1) {
		s.fail()
		return 0
	}
	v, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	if err != nil {
		s.fail()
	}
	return v
}

// skip skips any value.
func (s *jsonReader) skip() {
	switch c := s.peek(); {
	case c == '{':
		s.object(func([]byte) { s.skip() })
	case c == '[':
		s.array(s.skip)
	case c == '"':
		start, escaped := s.i, false
		s.i++
		for s.i < len(s.b) {
			switch b := s.b[s.i]; {
			case b == '\\':
				escaped = true
				s.i += 2
				continue
			case b < 0x20:
				s.fail()
				return
			case b == '"':
				s.i++
				if escaped && !json.Valid(s.b[start:s.i]) {
					s.fail()
				}
				return
			}
			s.i++
		}
		s.fail()
	case c == 't' || c == 'f' || c == 'n' || c == '-' || c >= '0' && c <= '9':
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if !json.Valid(s.b[start:s.i]) {
					s.fail()
				}
				return
			}
			s.i++
		}
		s.fail()
	default:
		s.fail()
	}
}

// codeField reads one of the six code counters into c.
func (s *jsonReader) codeField(key []byte, c *CodeActivity) bool {
	switch string(key) {
	case "code_generation_activity_count":
		c.CodeGenerationActivityCount = s.int()
	case "code_acceptance_activity_count":
		c.CodeAcceptanceActivityCount = s.int()
	case "loc_suggested_to_add_sum":
		c.LocSuggestedToAddSum = s.int()
	case "loc_suggested_to_delete_sum":
		c.LocSuggestedToDeleteSum = s.int()
	case "loc_added_sum":
		c.LocAddedSum = s.int()
	case "loc_deleted_sum":
		c.LocDeletedSum = s.int()
	default:
		return false
	}
	return true
}

// countersField reads one of the seven counters into c.
func (s *jsonReader) countersField(key []byte, c *Counters) bool {
	if string(key) == "user_initiated_interaction_count" {
		c.UserInitiatedInteractionCount = s.int()
		return true
	}
	return s.codeField(key, &c.CodeActivity)
}

// sessionField reads a field of the CLI or app totals.
func (s *jsonReader) sessionField(key []byte, sessions, requests, prompts *int64, t *TokenUsage) bool {
	switch string(key) {
	case "session_count":
		*sessions = s.int()
	case "request_count":
		*requests = s.int()
	case "prompt_count":
		*prompts = s.int()
	case "token_usage":
		s.object(func(k []byte) {
			switch string(k) {
			case "output_tokens_sum":
				t.OutputTokensSum = s.int()
			case "prompt_tokens_sum":
				t.PromptTokensSum = s.int()
			default:
				s.skip()
			}
		})
	default:
		return false
	}
	return true
}

// named reads an array of {name: string, interaction_count: int}.
func (s *jsonReader) named(name string, add func(string, int64)) {
	s.array(func() {
		var n string
		var c int64
		s.object(func(k []byte) {
			switch string(k) {
			case name:
				n = s.str()
			case "interaction_count":
				c = s.int()
			default:
				s.skip()
			}
		})
		add(n, c)
	})
}
