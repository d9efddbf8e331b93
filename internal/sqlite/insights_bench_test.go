package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// BenchmarkInsightsIngest measures ingesting batches of 50,000 events with
// ids (one org, a long tail of routes, users spread over the batch).
func BenchmarkInsightsIngest(b *testing.B) {
	db := openTemp(b)
	now := time.Now()
	const size = 50_000
	batch := make([]insights.Event, size)
	cut := insights.DefaultRetention.Cutoffs(now)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range batch {
			k := n*size + i
			user := int64(1000 + k%50)
			batch[i] = insights.Event{ID: fmt.Sprintf("b-%d", k), Timestamp: now.Add(-time.Duration(k%(30*86400)) * time.Second),
				Org: "acme-web", ActorType: usage.ActorClassicPAT, ActorID: int64(1 + k%20), ActorName: "tok",
				UserID: user, UserLogin: "u", SubjectType: "user", SubjectID: user, SubjectName: "u",
				HTTPMethod: "GET", APIRoute: fmt.Sprintf("/r/%d", k%40)}
		}
		if _, err := db.InsightsIngest(context.Background(), batch, cut); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
}
