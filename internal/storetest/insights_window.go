package storetest

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// testInsightsDedupWindow checks that an event is counted once however
// often it is sent, across the retention job forgetting ids: while its id
// is remembered a re-sent event is a duplicate, and once the job may have
// forgotten it (its minute is before the window) the event is refused
// with a 422 naming its timestamp, never counted again. The clock moves
// across the window's edge minute by minute, pruning at every step as a
// restart would.
func testInsightsDedupWindow(t *testing.T, s insights.Store) {
	ctx := t.Context()
	clock := insightsNow
	svc := &insights.Service{Store: s, Now: func() time.Time { return clock },
		Retention: insights.Retention{Dedup: time.Hour}}
	e := insights.Event{ID: "window-1", Timestamp: insightsNow.Add(-58*time.Minute - 30*time.Second), Org: "acme-web",
		ActorType: usage.ActorClassicPAT, ActorID: 1, ActorName: "tok", SubjectType: insights.SubjectUser, SubjectID: 1,
		SubjectName: "u", HTTPMethod: "GET", APIRoute: "/user"}
	var body bytes.Buffer
	json.NewEncoder(&body).Encode(e)
	recorded, refused := 0, 0
	for step := 0; step < 4; step++ {
		if _, err := svc.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		events, err := svc.DecodeAll(ctx, bytes.NewReader(body.Bytes()), 10)
		if err != nil {
			if ue, ok := err.(*usage.Error); !ok || ue.Kind != usage.KindInvalid || ue.Fields[0].Field != "line 1: timestamp" {
				t.Fatalf("step %d: %v, want a 422 naming line 1: timestamp", step, err)
			}
			refused++
		} else {
			res, err := svc.Ingest(ctx, events)
			must(t, "Ingest", err)
			recorded += res.Recorded
		}
		clock = clock.Add(time.Minute)
	}
	p, err := insights.ParseParams(map[string][]string{"min_timestamp": {insightsNow.Add(-2 * time.Hour).Format(time.RFC3339)}}, insights.EndpointSummary, clock)
	must(t, "ParseParams", err)
	sum, err := svc.Summary(ctx, insights.Scope{Org: "acme-web"}, p)
	must(t, "Summary", err)
	if recorded != 1 || refused == 0 || sum.TotalRequestCount != 1 {
		t.Fatalf("sent 4 times across the window's edge: recorded %d, refused %d, summary %d; want recorded once, then refused", recorded, refused, sum.TotalRequestCount)
	}
}
