package copilot_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/copilot/copilotgen"
)

// The fast decoder gives the aggregates encoding/json gives, on generated
// lines of every kind and on lines it must leave to encoding/json
// (escapes), which it then does.
func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var lines [][]byte
	for i := range 3000 {
		r := copilotgen.Day(rng, int64(i+1), "u", copilot.Day(20000+i%30), copilotgen.Options{Adoption: float64(i%11) / 10, Repos: []string{"o/r"}})
		sr, err := r.Stored()
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, sr.Line)
	}
	// Hand-written lines: spacing, nulls, unknown fields, escapes.
	lines = append(lines,
		[]byte(` { "user_initiated_interaction_count" : 3 , "totals_by_cli" : null, "surprise": {"a":[1,2.5,"x\"y",true,null]},
		  "totals_by_ide": [ {"ide":"vscode","loc_added_sum":4,"last_known_ide_version":{"ide_version":"1","sampled_at":null}} ],
		  "ai_adoption_phase": {"phase_number": 2, "phase": "Phase 2", "version": "v1"} } `),
		[]byte(`{"totals_by_feature":[{"feature":"code\u005fcompletion","code_generation_activity_count":2}]}`),
		[]byte(`{"totals_by_mcp":[{"mcp":"github-mcp-server","interaction_count":3}],"totals_by_skill":[],"totals_by_3rd_party_agent":[{"agent_id":"9","agent_name":"A \"quoted\"","user_initiated_interaction_count":1}]}`),
	)
	fast, ok, err := copilot.AggregateLines(lines, true)
	if err != nil {
		t.Fatal(err)
	}
	slow, _, err := copilot.AggregateLines(lines, false)
	if err != nil {
		t.Fatal(err)
	}
	if string(fast) != string(slow) {
		t.Fatalf("aggregates differ:\nfast %s\njson %s", fast, slow)
	}
	if ok != len(lines)-2 {
		t.Fatalf("the fast decoder read %d of %d lines; want all but the two with escapes", ok, len(lines))
	}
	if !strings.Contains(string(fast), `"feature":"code_completion"`) {
		t.Fatalf("no code_completion in %s", fast)
	}
	// Per line too: each line alone aggregates the same either way.
	for i, l := range lines {
		f, _, _ := copilot.AggregateLines([][]byte{l}, true)
		s, _, _ := copilot.AggregateLines([][]byte{l}, false)
		if string(f) != string(s) {
			t.Fatalf("line %d differs:\n%s\nfast %s\njson %s", i, l, f, s)
		}
	}
}

// The fast decoder never panics, and what it and encoding/json both read
// aggregates alike.
func FuzzFastDecode(f *testing.F) {
	f.Add([]byte(`{"totals_by_ide":[{"ide":"x","loc_added_sum":1}],"ai_adoption_phase":{"phase_number":1}}`))
	f.Add([]byte(`{"a":[}`))
	f.Add([]byte(`{"ai_adoption_phase":{"phase_number":9}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var a copilot.Activity
		if copilot.DecodeForAggregate(b, &a) == nil && json.Valid(b) {
			// What both accept, they aggregate alike (the fast decoder
			// does not check the types of fields it skips).
			slow, _, err := copilot.AggregateLines([][]byte{b}, false)
			if err != nil {
				return
			}
			fast, _, _ := copilot.AggregateLines([][]byte{b}, true)
			if string(fast) != string(slow) {
				t.Fatalf("%q: fast %s json %s", b, fast, slow)
			}
		}
	})
}
