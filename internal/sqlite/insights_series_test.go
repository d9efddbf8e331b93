package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// referenceSeries computes a series from the events themselves: for each
// segment, every bucket of its level holding requests of the scope.
func referenceSeries(events []insights.Event, s insights.Scope, segs []insights.Segment) []insights.BucketCounts {
	var out []insights.BucketCounts
	for _, g := range segs {
		sums := map[int64]*insights.BucketCounts{}
		for _, e := range events {
			ts := e.Timestamp.Unix()
			if e.Org != s.Org || ts < g.Start || ts >= g.End ||
				(s.UserID != 0 && e.UserID != s.UserID) ||
				(s.Actor.ID != 0 && (e.ActorType != s.Actor.Type || e.ActorID != s.Actor.ID)) {
				continue
			}
			b := g.Level.Floor(ts)
			c := sums[b]
			if c == nil {
				c = &insights.BucketCounts{Level: g.Level, Bucket: b}
				sums[b] = c
			}
			c.Total++
			if e.RateLimited {
				c.RateLimited++
			}
		}
		for _, c := range sums {
			out = append(out, *c)
		}
	}
	return out
}

// TestInsightsSeriesMatchesReference checks InsightsSeries returns the
// rows (level, bucket, counts) the events make, for every scope (the
// actor and user ones read minutes from their five-minute rows, see
// lvlMinuteDetail) and for ranges that need one to seven segments of every
// level.
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
				want := referenceSeries(events, sc, segs)
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

// TestInsightsRowsBeforeFold reads a database holding actor and user rows
// of the layouts before hour rows held their minutes (minute rows at lvl
// 0 and five-minute rows at lvl 1; or five-minute rows of minute entries
// at lvlMinuteDetail), to which newer batches added minutes to the hour
// rows of the same buckets: series, totals and groups of every scope count
// both, each event once.
func TestInsightsRowsBeforeFold(t *testing.T) {
	for _, layout := range []string{"lvl 0 and 1", "lvl 4"} {
		t.Run(layout, func(t *testing.T) { testRowsBefore(t, layout == "lvl 4") })
	}
}

func testRowsBefore(t *testing.T, lvl4 bool) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "ghusage.db"), Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Minute)
	cut := insights.DefaultRetention.Cutoffs(now)
	gen := func(prefix string, n, step int) []insights.Event {
		var out []insights.Event
		for i := 0; i < n; i++ {
			user := int64(100 + i%3)
			out = append(out, insights.Event{
				ID: fmt.Sprintf("%s-%d", prefix, i), Timestamp: now.Add(-time.Duration(i*step) * time.Second),
				Org: "acme-web", ActorType: usage.ActorClassicPAT, ActorID: int64(1 + i%2), ActorName: "tok",
				UserID: user, UserLogin: "u", SubjectType: insights.SubjectUser, SubjectID: user, SubjectName: "u",
				HTTPMethod: "GET", APIRoute: fmt.Sprintf("/r/%d", i%5), RateLimited: i%11 == 0,
			})
		}
		return out
	}
	old, late := gen("old", 3000, 53), gen("new", 2000, 79)
	// the old batch, written as the store did before
	roll := insights.AggregatePackedWith(old, cut, insights.PackOptions{FoldMinutes: lvl4})
	var refs *refBatch
	err = db.write(ctx, func(tx *sql.Tx) error {
		var err error
		if refs, err = db.intern(ctx, tx, roll); err != nil {
			return err
		}
		rows := buildRows(roll, refs)
		for _, rs := range [][]*packedRow{rows.actors, rows.users} {
			for _, r := range rs {
				if lvl4 && r.key[2] == int64(insights.FiveMinutes) {
					r.key[2] = lvlMinuteDetail
				}
			}
		}
		return writeRollup(ctx, db.txStmts(tx), rows)
	})
	if err != nil {
		t.Fatal(err)
	}
	db.publishRefs(refs)
	var legacy int
	q := "SELECT count(*) FROM insights_r_actor WHERE lvl IN (0, 1)"
	if lvl4 {
		q = "SELECT count(*) FROM insights_r_actor WHERE lvl = 4"
	}
	if err := db.reader.QueryRow(q).Scan(&legacy); err != nil || legacy == 0 {
		t.Fatalf("%d rows of the old layout, %v", legacy, err)
	}
	if _, err := db.InsightsIngest(ctx, late, cut); err != nil {
		t.Fatal(err)
	}
	var merged int
	if err := db.reader.QueryRow("SELECT count(*) FROM insights_r_actor WHERE lvl = 2 AND minutes IS NOT NULL").Scan(&merged); err != nil || merged == 0 {
		t.Fatalf("%d hour rows with minutes, %v", merged, err)
	}
	events := append(old, late...)
	scopes := []insights.Scope{
		{Org: "acme-web"},
		{Org: "acme-web", UserID: 101},
		{Org: "acme-web", Actor: insights.ActorRef{Type: usage.ActorClassicPAT, ID: 2}},
	}
	end := now.Unix() + 60
	for _, sc := range scopes {
		for _, r := range [][2]int64{{end - 3*86400 - 17*60, end}, {end - 7*60, end}, {end - 2*3600 - 13*60, end - 3*60}} {
			for _, max := range []insights.Level{insights.Minute, insights.FiveMinutes, insights.Hour, insights.Day} {
				segs := insights.Segments(insights.Minute.Floor(r[0]), r[1], max)
				got, err := db.InsightsSeries(ctx, sc, segs)
				if err != nil {
					t.Fatal(err)
				}
				want := referenceSeries(events, sc, segs)
				cmpRows := func(x, y insights.BucketCounts) int { return int(x.Bucket - y.Bucket) }
				slices.SortFunc(got, cmpRows)
				slices.SortFunc(want, cmpRows)
				if !slices.Equal(got, want) {
					t.Fatalf("series %+v %v: %d rows, want %d\ngot  %v\nwant %v", sc, segs, len(got), len(want), got, want)
				}
				var wantTotal insights.Counts
				for _, b := range want {
					wantTotal.Total += b.Total
					wantTotal.RateLimited += b.RateLimited
				}
				tot, err := db.InsightsTotals(ctx, sc, segs)
				if err != nil {
					t.Fatal(err)
				}
				if tot.Total != wantTotal.Total || tot.RateLimited != wantTotal.RateLimited {
					t.Errorf("totals %+v %v = %d/%d, want %d/%d", sc, segs, tot.Total, tot.RateLimited, wantTotal.Total, wantTotal.RateLimited)
				}
				var g insights.Groups
				if err := db.InsightsGroups(ctx, sc, segs, &g); err != nil {
					t.Fatal(err)
				}
				var sum insights.Counts
				for _, c := range g.Counts {
					sum.Total += c.Total
					sum.RateLimited += c.RateLimited
				}
				if sum.Total != wantTotal.Total || sum.RateLimited != wantTotal.RateLimited {
					t.Errorf("groups %+v %v sum to %d/%d, want %d/%d", sc, segs, sum.Total, sum.RateLimited, wantTotal.Total, wantTotal.RateLimited)
				}
			}
		}
	}
}

// TestInsightsPruneHourMinutes checks retention empties the minutes of the
// hour rows wholly older than the minute cutoff, keeps the others (those
// of the five minutes the cutoff falls in too), and leaves the answers the
// cutoffs still allow exact.
func TestInsightsPruneHourMinutes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "ghusage.db"), Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(5 * time.Minute).Add(2 * time.Minute) // the cutoffs inside five minutes
	var events []insights.Event
	for i := 0; i < 3000; i++ {
		events = append(events, insights.Event{
			ID: fmt.Sprintf("p-%d", i), Timestamp: now.Add(-time.Duration(i*83) * time.Second),
			Org: "acme-web", ActorType: usage.ActorClassicPAT, ActorID: 1, ActorName: "tok",
			UserID: 7, UserLogin: "u", SubjectType: insights.SubjectUser, SubjectID: 7, SubjectName: "u",
			HTTPMethod: "GET", APIRoute: fmt.Sprintf("/r/%d", i%5), RateLimited: i%11 == 0,
		})
	}
	keep := insights.DefaultRetention
	keep.Minute = 24 * time.Hour
	cut := keep.Cutoffs(now)
	// written while every minute was still kept, then pruned
	if _, err := db.InsightsIngest(ctx, events, insights.Retention{}.Cutoffs(now)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.InsightsPrune(ctx, cut); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"insights_r_actor", "insights_r_user"} {
		var old, kept int
		if err := db.reader.QueryRow("SELECT count(*) FILTER (WHERE bucket + 3600 <= ?), count(*) FILTER (WHERE bucket + 3600 > ?) FROM "+table+
			" WHERE lvl = 2 AND minutes IS NOT NULL", cut.Level[insights.Minute], cut.Level[insights.Minute]).Scan(&old, &kept); err != nil {
			t.Fatal(err)
		}
		if old != 0 || kept == 0 {
			t.Errorf("%s: %d hour rows with minutes before the cutoff, %d after", table, old, kept)
		}
	}
	for _, table := range []string{"insights_d_actor", "insights_d_user"} {
		var old, kept int
		if err := db.reader.QueryRow("SELECT count(*) FILTER (WHERE bucket + 3600 <= ?), count(*) FILTER (WHERE bucket + 3600 > ?) FROM "+table,
			cut.Level[insights.Minute], cut.Level[insights.Minute]).Scan(&old, &kept); err != nil {
			t.Fatal(err)
		}
		if old != 0 || kept == 0 {
			t.Errorf("%s: %d hours of detail before the cutoff, %d after", table, old, kept)
		}
	}
	for _, sc := range []insights.Scope{{Org: "acme-web", UserID: 7}, {Org: "acme-web", Actor: insights.ActorRef{Type: usage.ActorClassicPAT, ID: 1}}} {
		segs := insights.Segments(cut.Level[insights.FiveMinutes], now.Unix()+60, insights.FiveMinutes)
		got, err := db.InsightsSeries(ctx, sc, segs)
		if err != nil {
			t.Fatal(err)
		}
		want := referenceSeries(events, sc, segs)
		cmpRows := func(x, y insights.BucketCounts) int { return int(x.Bucket - y.Bucket) }
		slices.SortFunc(got, cmpRows)
		slices.SortFunc(want, cmpRows)
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Fatalf("series %+v after prune: %d rows, want %d", sc, len(got), len(want))
		}
	}
}

// TestInsightsDedupSparseAndDense re-sends batches whose minutes are dense
// (read with one range scan of insights_seen) and sparse (one lookup per
// minute), alone and mixed with new events: every event counts once.
func TestInsightsDedupSparseAndDense(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "ghusage.db"), Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Minute)
	cut := insights.DefaultRetention.Cutoffs(now)
	gen := func(prefix string, n int, step time.Duration) []insights.Event {
		var out []insights.Event
		for i := 0; i < n; i++ {
			out = append(out, insights.Event{
				ID: fmt.Sprintf("%s-%d", prefix, i), Timestamp: now.Add(-time.Duration(i) * step),
				Org: "acme-web", ActorType: usage.ActorClassicPAT, ActorID: 1, ActorName: "tok",
				SubjectType: insights.SubjectUser, SubjectID: 7, SubjectName: "u", HTTPMethod: "GET", APIRoute: "/r",
			})
		}
		return out
	}
	dense, sparse := gen("d", 3000, 7*time.Second), gen("s", 40, 97*time.Minute)
	for _, c := range []struct {
		name      string
		batch     []insights.Event
		recorded  int
		duplicate int
	}{
		{"dense", dense, 3000, 0},
		{"dense again", dense, 0, 3000},
		{"sparse", sparse, 40, 0},
		{"sparse again", sparse, 0, 40},
		{"mixed", append(append(gen("m", 10, 131*time.Minute), sparse[:5]...), dense[:5]...), 10, 10},
	} {
		res, err := db.InsightsIngest(ctx, c.batch, cut)
		if err != nil {
			t.Fatal(err)
		}
		if res.Recorded != c.recorded || res.Duplicates != c.duplicate {
			t.Errorf("%s: %+v, want %d recorded, %d duplicates", c.name, res, c.recorded, c.duplicate)
		}
	}
	tot, err := db.InsightsTotals(ctx, insights.Scope{Org: "acme-web"}, insights.Segments(insights.Day.Floor(now.Unix())-40*86400, now.Unix()+60, insights.Day))
	if err != nil || tot.Total != 3050 {
		t.Errorf("total %d, %v; want 3050", tot.Total, err)
	}
}
