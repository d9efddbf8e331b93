package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// referenceSeries reads a series the plain way: one UNION ALL branch per
// segment, with the level of each row read from the table.
func referenceSeries(t *testing.T, db *DB, s insights.Scope, segs []insights.Segment) []insights.BucketCounts {
	t.Helper()
	ctx := context.Background()
	tb, prefix, args, ok, err := db.scopeSQL(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if !ok || len(segs) == 0 {
		return nil
	}
	q, args := segmentSQL("lvl, bucket, total, rl", tb.name, prefix, args, segs)
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []insights.BucketCounts
	for rows.Next() {
		var b insights.BucketCounts
		if err := rows.Scan(&b.Level, &b.Bucket, &b.Total, &b.RateLimited); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInsightsSeriesMatchesReference checks InsightsSeries returns the same
// rows (level, bucket, counts) as the plain per-segment query, for every
// scope and for ranges that need one to seven segments of every level.
func TestInsightsSeriesMatchesReference(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "ghusage.db"), Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Minute)
	var events []insights.Event
	for i := 0; i < 6000; i++ {
		user := int64(100 + i%3)
		events = append(events, insights.Event{
			ID: fmt.Sprintf("s-%d", i), Timestamp: now.Add(-time.Duration(i*7) * time.Minute),
			Org: "acme-web", ActorType: usage.ActorClassicPAT, ActorID: int64(1 + i%2), ActorName: "tok",
			UserID: user, UserLogin: "u", SubjectType: insights.SubjectUser, SubjectID: user, SubjectName: "u",
			HTTPMethod: "GET", APIRoute: fmt.Sprintf("/r/%d", i%5), RateLimited: i%11 == 0,
		})
	}
	if _, err := db.InsightsIngest(ctx, events, insights.DefaultRetention.Cutoffs(now)); err != nil {
		t.Fatal(err)
	}
	scopes := []insights.Scope{
		{Org: "acme-web"},
		{Org: "acme-web", UserID: 101},
		{Org: "acme-web", Actor: insights.ActorRef{Type: usage.ActorClassicPAT, ID: 2}},
		{Org: "acme-web", UserID: 999}, // no such user
		{Org: "acme-web", Actor: insights.ActorRef{Type: usage.ActorOAuthApp, ID: 1}}, // no such actor
		{Org: "no-such-org"},
	}
	end := now.Unix() + 60
	ranges := [][2]int64{
		{end - 30*86400 - 17*60, end}, // every level, both edges ragged
		{end - 3*86400, end - 86400},  // whole days and hours
		{end - 7*60, end},             // minutes only
		{end - 2*3600 - 13*60, end - 3*60},
	}
	checked := 0
	for _, sc := range scopes {
		for _, r := range ranges {
			for _, max := range []insights.Level{insights.Minute, insights.FiveMinutes, insights.Hour, insights.Day} {
				a := insights.Minute.Floor(r[0])
				segs := insights.Segments(a, r[1], max)
				got, err := db.InsightsSeries(ctx, sc, segs)
				if err != nil {
					t.Fatal(err)
				}
				want := referenceSeries(t, db, sc, segs)
				cmpRows := func(x, y insights.BucketCounts) int {
					if x.Bucket != y.Bucket {
						return int(x.Bucket - y.Bucket)
					}
					return int(x.Level) - int(y.Level)
				}
				slices.SortFunc(got, cmpRows)
				slices.SortFunc(want, cmpRows)
				if !slices.Equal(got, want) {
					t.Fatalf("scope %+v, segments %v: %d rows, want %d rows\ngot  %v\nwant %v", sc, segs, len(got), len(want), got, want)
				}
				checked += len(got)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no rows compared; the test data should give some")
	}
}
