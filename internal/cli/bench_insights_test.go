package cli

import (
	"strings"
	"testing"
)

// TestBenchInsightsRuns runs the insights benchmark on a small dataset
// spread over more days than the default deduplication window, as the
// documented command does: every event must be ingested and every
// endpoint queried.
func TestBenchInsightsRuns(t *testing.T) {
	out, err := runCLI(t, "bench", "insights", "--events", "3000", "--days", "30", "--batch", "1000", "--queries", "2", "--bench-dir", t.TempDir())
	if err != nil || !strings.Contains(out, "events/s") || !strings.Contains(out, "time-stats/actor") {
		t.Fatalf("bench insights: %v\n%s", err, out)
	}
}
