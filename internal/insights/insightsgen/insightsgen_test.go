package insightsgen_test

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/insights/insightsgen"
)

// The NDJSON a benchmark ingests and the events its baseline loads are the
// same events: AppendJSON(i), decoded, is Event(i).
func TestAppendJSONIsEvent(t *testing.T) {
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	g := insightsgen.New(7, 5000, end.Add(-30*24*time.Hour), end, "acme-data")
	var body []byte
	for i := range g.N {
		body = g.AppendJSON(body, i)
	}
	got, err := insights.DecodeAll(bytes.NewReader(body), end, g.N)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != g.N {
		t.Fatalf("decoded %d events, want %d", len(got), g.N)
	}
	limited := 0
	for i := range got {
		want := g.Event(i)
		want.Normalize()
		if got[i] != want {
			t.Fatalf("event %d: NDJSON decodes to %+v, Event gives %+v", i, got[i], want)
		}
		if i > 0 && got[i].Timestamp.Before(got[i-1].Timestamp) {
			t.Fatalf("event %d is earlier than event %d", i, i-1)
		}
		if got[i].RateLimited {
			limited++
		}
	}
	if limited == 0 || limited > g.N/20 {
		t.Errorf("%d of %d events rate limited, want about 1%%", limited, g.N)
	}
}

// AppendJSON writes event i field by field as Event gives it, timestamp in
// RFC 3339.
func TestAppendJSONBytes(t *testing.T) {
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	g := insightsgen.New(3, 100_000, end.Add(-30*24*time.Hour), end, "acme-data")
	for i := 0; i < g.N; i += 7 {
		e := g.Event(i)
		want := []byte(`{"id":"` + e.ID + `","timestamp":"` + e.Timestamp.Format(time.RFC3339) + `","org":"` + e.Org +
			`","actor_type":"` + string(e.ActorType) + `","actor_id":` + strconv.FormatInt(e.ActorID, 10) +
			`,"actor_name":"` + e.ActorName + `","oauth_application_id":` + strconv.FormatInt(e.OAuthApplicationID, 10) +
			`,"integration_id":` + strconv.FormatInt(e.IntegrationID, 10) + `,"user_id":` + strconv.FormatInt(e.UserID, 10) +
			`,"user_login":"` + e.UserLogin + `","subject_type":"` + e.SubjectType + `","subject_id":` + strconv.FormatInt(e.SubjectID, 10) +
			`,"subject_name":"` + e.SubjectName + `","http_method":"` + e.HTTPMethod + `","api_route":"` + e.APIRoute +
			`","rate_limited":` + strconv.FormatBool(e.RateLimited) + "}\n")
		if got := g.AppendJSON(nil, i); !bytes.Equal(got, want) {
			t.Fatalf("event %d:\n%s\nwant\n%s", i, got, want)
		}
	}
}
