package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// TestInsightsDetailMigration puts a store's hour detail back where
// schema 19 kept it (a detail column of the actor and user hour rows),
// reopens it, and checks migration 20 moves every hour's detail to the
// detail tables: series, totals and groups answer exactly as before, at
// every level and on ranges with ragged minute edges (which read the
// detail).
func TestInsightsDetailMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ghusage.db")
	db, err := Open(ctx, path, Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Minute)
	var events []insights.Event
	for i := 0; i < 4000; i++ {
		user := int64(100 + i%3)
		events = append(events, insights.Event{
			ID: fmt.Sprintf("m-%d", i), Timestamp: now.Add(-time.Duration(i*61) * time.Second),
			Org: "acme-web", ActorType: usage.ActorClassicPAT, ActorID: int64(1 + i%2), ActorName: "tok",
			UserID: user, UserLogin: "u", SubjectType: insights.SubjectUser, SubjectID: user, SubjectName: "u",
			HTTPMethod: "GET", APIRoute: fmt.Sprintf("/r/%d", i%7), RateLimited: i%13 == 0,
		})
	}
	if _, err := db.InsightsIngest(ctx, events, insights.DefaultRetention.Cutoffs(now)); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		Series []insights.BucketCounts
		Totals insights.Counts
		Groups map[int64]insights.Counts
	}
	scopes := []insights.Scope{
		{Org: "acme-web", UserID: 101},
		{Org: "acme-web", Actor: insights.ActorRef{Type: usage.ActorClassicPAT, ID: 2}},
	}
	end := now.Unix() + 60
	answers := func(db *DB) []answer {
		var out []answer
		for _, sc := range scopes {
			for _, r := range [][2]int64{{end - 2*86400 - 17*60, end}, {end - 7*60, end}, {end - 2*3600 - 13*60, end - 3*60}} {
				for _, max := range []insights.Level{insights.Minute, insights.FiveMinutes, insights.Hour, insights.Day} {
					segs := insights.Segments(insights.Minute.Floor(r[0]), r[1], max)
					var a answer
					var err error
					if a.Series, err = db.InsightsSeries(ctx, sc, segs); err != nil {
						t.Fatal(err)
					}
					if a.Totals, err = db.InsightsTotals(ctx, sc, segs); err != nil {
						t.Fatal(err)
					}
					var g insights.Groups
					if err := db.InsightsGroups(ctx, sc, segs, &g); err != nil {
						t.Fatal(err)
					}
					a.Groups = map[int64]insights.Counts{}
					for i, ref := range g.Refs {
						a.Groups[ref] = g.Counts[i]
					}
					out = append(out, a)
				}
			}
		}
		return out
	}
	want := answers(db)
	count := func(db *DB, table string) (n int) {
		if err := db.reader.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	details := count(db, "insights_d_actor") + count(db, "insights_d_user")
	if details == 0 {
		t.Fatal("no hour detail written")
	}
	for _, q := range []string{
		"ALTER TABLE insights_r_actor ADD COLUMN detail BLOB",
		"UPDATE insights_r_actor SET detail = (SELECT d.detail FROM insights_d_actor d WHERE d.org = insights_r_actor.org AND d.actor = insights_r_actor.actor AND d.bucket = insights_r_actor.bucket) WHERE lvl = 2",
		"DROP TABLE insights_d_actor",
		"ALTER TABLE insights_r_user ADD COLUMN detail BLOB",
		"UPDATE insights_r_user SET detail = (SELECT d.detail FROM insights_d_user d WHERE d.org = insights_r_user.org AND d.user_id = insights_r_user.user_id AND d.bucket = insights_r_user.bucket) WHERE lvl = 2",
		"DROP TABLE insights_d_user",
		"DELETE FROM schema_migrations WHERE version >= 20",
	} {
		if _, err := db.writer.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	db, err = Open(ctx, path, Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := count(db, "insights_d_actor") + count(db, "insights_d_user"); got != details {
		t.Errorf("%d hours of detail after the migration, want %d", got, details)
	}
	if got := answers(db); !reflect.DeepEqual(got, want) {
		t.Errorf("answers changed by the migration")
	}
}
