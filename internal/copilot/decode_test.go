package copilot

import (
	"strings"
	"testing"

	"github.com/ghusage/ghusage/internal/usage"
)

func TestParseLine(t *testing.T) {
	today, _ := ParseDay("2026-03-14")
	for _, c := range []struct{ line, field string }{
		{`{"day":"2026-03-13","user_id":1,"user_login":"a"}`, "ok"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","enterprise_id":"9","organization_id":"8","etl_id":"green","day_partition":"2026-03-13","entity_id_partition":8}`, "ok"},
		{`{"user_id":1,"user_login":"a"}`, "day"},
		{`{"day":"2026-02-30","user_id":1,"user_login":"a"}`, "day"},
		{`{"day":"2026-03-15","user_id":1,"user_login":"a"}`, "day"},
		{`{"day":"2026-03-13","user_login":"a"}`, "user_id"},
		{`{"day":"2026-03-13","user_id":0,"user_login":"a"}`, "user_id"},
		{`{"day":"2026-03-13","user_id":1.5,"user_login":"a"}`, "user_id"},
		{`{"day":"2026-03-13","user_id":1}`, "user_login"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","loc_added_sum":-1}`, "loc_added_sum"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","totals_by_ide":[{"ide":""}]}`, "totals_by_ide[0].ide"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","surprise":1}`, "surprise"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a"} {}`, ""},
		{`[1]`, ""},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","pull_requests_by_repo":[{"repo":"x","total_merged":1}]}`, "pull_requests_by_repo[0].repo"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","pull_requests_by_repo":[{"repo":"o/x","total_merged":1,"merge_minutes":[1,2]}]}`, "pull_requests_by_repo[0].merge_minutes"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","premium_requests_by_model":[{"model":"gpt-5","requests":12},{"model":"o3","requests":0.333333333}]}`, "ok"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","premium_requests_by_model":[{"model":"gpt-5","requests":-1}]}`, "premium_requests_by_model[0].requests"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","premium_requests_by_model":[{"model":"gpt-5","requests":"12"}]}`, "premium_requests_by_model[0].requests"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","premium_requests_by_model":[{"model":"gpt-5","requests":1e3}]}`, "premium_requests_by_model[0].requests"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","premium_requests_by_model":[{"model":"gpt-5","requests":0.1234567891}]}`, "premium_requests_by_model[0].requests"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","premium_requests_by_model":[{"model":"gpt-5"}]}`, "premium_requests_by_model[0].requests"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","premium_requests_by_model":[{"requests":1}]}`, "premium_requests_by_model[0].model"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","premium_requests_by_model":[{"model":"gpt-5","requests":1},{"model":"gpt-5","requests":2}]}`, "premium_requests_by_model[1].model"},
		{`{"day":"2026-03-13","user_id":1,"user_login":"a","premium_requests_by_model":[{"model":"gpt-5","requests":1,"cost":2}]}`, "cost"},
	} {
		r, le := ParseLine([]byte(c.line), today)
		switch {
		case c.field == "ok" && le != nil:
			t.Errorf("%s: %v", c.line, le)
		case c.field == "ok":
			if r.Activity.TotalsByIDE == nil || r.Activity.AIAdoptionPhase.Phase != "No Cohort" {
				t.Errorf("%s: not normalized: %+v", c.line, r.Activity)
			}
		case le == nil:
			t.Errorf("%s: accepted, want an error naming %q", c.line, c.field)
		case le.Field != c.field:
			t.Errorf("%s: field %q (%s), want %q", c.line, le.Field, le.Message, c.field)
		}
	}
}

// A line MarshalLine writes parses back to the same stored form.
func TestMarshalLineRoundTrip(t *testing.T) {
	today, _ := ParseDay("2026-03-14")
	in := `{"day":"2026-03-13","user_id":7,"user_login":"mona","user_initiated_interaction_count":3,"totals_by_3rd_party_agent":[{"agent_id":"9","agent_name":"A","user_initiated_interaction_count":1,"session_count":2}],"pull_requests_by_repo":[{"repo":"o/r","total_merged":1,"merge_minutes":[30]}],"premium_requests_by_model":[{"model":"gpt-5","requests":2.5}]}`
	r, le := ParseLine([]byte(in), today)
	if le != nil {
		t.Fatal(le)
	}
	if p := r.Extra.PremiumRequestsByModel; len(p) != 1 || p[0].Model != "gpt-5" || p[0].Requests != "2.5" {
		t.Fatalf("premium requests not kept in the extra data: %+v", r.Extra)
	}
	if r.Extra.AgentSessions["9"] != 2 || r.Activity.TotalsBy3rdPartyAgent[0].SessionCount != nil {
		t.Fatalf("session counts not moved to the extra data: %+v", r.Extra)
	}
	line, err := r.MarshalLine()
	if err != nil {
		t.Fatal(err)
	}
	r2, le := ParseLine(line, today)
	if le != nil {
		t.Fatal(le)
	}
	a, _ := r.Stored()
	b, _ := r2.Stored()
	if string(a.Line) != string(b.Line) || string(a.Extra) != string(b.Extra) {
		t.Fatalf("round trip changed the record:\n%s\n%s", a.Line, b.Line)
	}
}

func TestDecodeAllIsAllOrNothing(t *testing.T) {
	today, _ := ParseDay("2026-03-14")
	good := `{"day":"2026-03-13","user_id":1,"user_login":"a","user_initiated_interaction_count":1}`
	recs, err := DecodeAll(strings.NewReader(good+"\n\n"+strings.Replace(good, ":1}", ":2}", 1)+"\n"), today)
	if err != nil || len(recs) != 1 || recs[0].Activity.UserInitiatedInteractionCount != 2 || recs[0].Line != 3 {
		t.Fatalf("a later line for the same user and day must replace the earlier: %+v %v", recs, err)
	}
	_, err = DecodeAll(strings.NewReader(good+"\n{bad\n"), today)
	ue, ok := err.(*usage.Error)
	if !ok || ue.Kind != usage.KindInvalid || len(ue.Fields) != 1 || ue.Fields[0].Field != "line 2" {
		t.Fatalf("bad line 2: %#v", err)
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"day":"2026-03-13","user_id":1,"user_login":"a","totals_by_cli":{"request_count":2}}`))
	f.Add([]byte(`{"day":"2026-03-13","user_id":1,"user_login":"a","ai_adoption_phase":{"phase_number":9}}`))
	today, _ := ParseDay("2026-03-14")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, le := ParseLine(b, today)
		if le == nil {
			if _, err := r.Stored(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
