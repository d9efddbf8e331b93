package insightsgen_test

import (
	"bytes"
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
