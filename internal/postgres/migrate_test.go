package postgres_test

import (
	"cmp"
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/usage"
)

// TestMigrationPacksRollups writes roll-ups in the layout of migration
// 0003 (one row per route, subject and user actor), migrates to the packed
// layout, and checks every query answers what a store that ingested the
// same events in the packed layout answers.
func TestMigrationPacksRollups(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	cut := insights.Retention{}.Cutoffs(now)
	var events []insights.Event
	for i := range 3000 {
		e := insights.Event{
			ID: fmt.Sprintf("m-%d", i), Timestamp: now.Add(-time.Duration(i*97) * time.Second),
			Org: []string{"acme-web", "octo"}[i%7/6], ActorType: []usage.ActorType{usage.ActorClassicPAT, usage.ActorInstallation, usage.ActorOAuthApp}[i%3],
			ActorID: int64(1 + i%11), ActorName: fmt.Sprintf("actor-%d-%d", i%11, i/1000), OAuthApplicationID: int64(i % 3 / 2 * 40),
			SubjectType: insights.SubjectUser, SubjectID: int64(1 + i%13), SubjectName: fmt.Sprintf("user-%d", i%13),
			HTTPMethod: []string{"GET", "POST"}[i%5/4], APIRoute: fmt.Sprintf("/r/%d", i%17), RateLimited: i%9 == 0,
		}
		if e.ActorType == usage.ActorInstallation {
			e.SubjectType, e.SubjectID, e.SubjectName, e.IntegrationID = insights.SubjectInstallation, e.ActorID, e.ActorName, 77
		} else {
			e.UserID = e.SubjectID
		}
		events = append(events, e)
	}

	// The old layout, written as the 0003 writer did.
	dsn := pgtest.DSN(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(t.Context(), q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
	for v, name := range []string{"0001_accounts", "0002_job_leases", "0003_insights"} {
		b, err := os.ReadFile("migrations/" + name + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		exec(string(b))
		exec(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, v+1, name[5:])
	}
	roll := insights.Aggregate(events, cut)
	copyRows := func(table string, cols []string, rows [][]any) {
		t.Helper()
		if _, err := conn.CopyFrom(t.Context(), pgx.Identifier{table}, cols, pgx.CopyFromRows(rows)); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
	}
	var rows [][]any
	for k, v := range roll.ActorInfo {
		rows = append(rows, []any{string(k.Type), k.ID, v.Name, v.OAuthApplicationID, v.IntegrationID, v.Seen})
	}
	copyRows("insights_actors", []string{"actor_type", "actor_id", "actor_name", "oauth_application_id", "integration_id", "seen"}, rows)
	rows = nil
	for k, v := range roll.SubjectInfo {
		rows = append(rows, []any{k.Type, k.ID, v.Name, v.Seen})
	}
	copyRows("insights_subjects", []string{"subject_type", "subject_id", "subject_name", "seen"}, rows)
	rows = nil
	for k, c := range roll.Orgs {
		rows = append(rows, []any{k.Org, int16(k.Level), k.Bucket, c.Total, c.RateLimited})
	}
	copyRows("insights_r_org", []string{"org", "lvl", "bucket", "total", "rl"}, rows)
	rows = nil
	for k, c := range roll.Actors {
		rows = append(rows, []any{k.Org, string(k.Actor.Type), k.Actor.ID, int16(k.Level), k.Bucket, c.Total, c.RateLimited})
	}
	copyRows("insights_r_actor", []string{"org", "actor_type", "actor_id", "lvl", "bucket", "total", "rl"}, rows)
	counts := []string{"total", "rl", "last", "last_rl"}
	rows = nil
	for k, c := range roll.Users {
		rows = append(rows, []any{k.Org, k.UserID, int16(k.Level), k.Bucket, string(k.Actor.Type), k.Actor.ID, c.Total, c.RateLimited, c.Last, c.LastRateLimited})
	}
	copyRows("insights_r_user", append([]string{"org", "user_id", "lvl", "bucket", "actor_type", "actor_id"}, counts...), rows)
	rows = nil
	for k, c := range roll.Routes {
		rows = append(rows, []any{k.Org, string(k.Actor.Type), k.Actor.ID, int16(k.Level), k.Bucket, k.Route.Method, k.Route.Route, c.Total, c.RateLimited, c.Last, c.LastRateLimited})
	}
	copyRows("insights_r_route", append([]string{"org", "actor_type", "actor_id", "lvl", "bucket", "http_method", "api_route"}, counts...), rows)
	rows = nil
	for k, c := range roll.Subjects {
		rows = append(rows, []any{k.Org, int16(k.Level), k.Bucket, k.Subject.Type, k.Subject.ID, c.Total, c.RateLimited, c.Last, c.LastRateLimited})
	}
	copyRows("insights_r_subject", append([]string{"org", "lvl", "bucket", "subject_type", "subject_id"}, counts...), rows)

	migrated, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer migrated.Close()
	fresh := open(t)
	if _, err := fresh.InsightsIngest(t.Context(), events, cut); err != nil {
		t.Fatal(err)
	}
	// New events after the migration land in the converted rows.
	more := []insights.Event{events[0], events[1], events[5]}
	for i := range more {
		more[i].ID += "-again"
	}
	for _, db := range []*postgres.DB{migrated, fresh} {
		if _, err := db.InsightsIngest(t.Context(), more, cut); err != nil {
			t.Fatal(err)
		}
	}

	clear(answered)
	defer func() {
		// every query was compared on some data, not only on empty answers
		for _, what := range []string{"totals", "series", "subjects", "user actors", "actor routes"} {
			if answered[what] < 4 {
				t.Errorf("%s: only %d answers were not empty", what, answered[what])
			}
		}
	}()
	end := insights.Minute.Floor(now.Unix()) + 60
	ranges := [][2]int64{{end - 4*86400, end}, {insights.Minute.Floor(now.Unix()) - 3*86400 + 7*60, end - 13*60}, {end - 3600, end}}
	for _, org := range []string{"acme-web", "octo"} {
		for _, rg := range ranges {
			segs := insights.Segments(rg[0], rg[1], insights.Day)
			scopes := []insights.Scope{{Org: org}, {Org: org, UserID: 2}, {Org: org, Actor: insights.ActorRef{Type: usage.ActorClassicPAT, ID: 4}},
				{Org: org, Actor: insights.ActorRef{Type: usage.ActorInstallation, ID: 2}}}
			for _, s := range scopes {
				same(t, "totals", s, func(db *postgres.DB) (any, error) { return db.InsightsTotals(t.Context(), s, segs) }, migrated, fresh)
				same(t, "series", s, func(db *postgres.DB) (any, error) {
					b, err := db.InsightsSeries(t.Context(), s, segs)
					slices.SortFunc(b, func(x, y insights.BucketCounts) int {
						return cmp.Or(cmp.Compare(x.Level, y.Level), cmp.Compare(x.Bucket, y.Bucket))
					})
					return b, err
				}, migrated, fresh)
			}
			same(t, "subjects", org, func(db *postgres.DB) (any, error) {
				r, err := insights.AllSubjects(t.Context(), db, org, segs)
				slices.SortFunc(r, func(x, y insights.SubjectRow) int {
					return cmp.Or(cmp.Compare(x.Type, y.Type), cmp.Compare(x.ID, y.ID))
				})
				return r, err
			}, migrated, fresh)
			for user := int64(1); user <= 4; user++ {
				same(t, "user actors", user, func(db *postgres.DB) (any, error) {
					r, err := insights.AllUserActors(t.Context(), db, org, user, segs)
					slices.SortFunc(r, func(x, y insights.ActorRow) int { return cmp.Or(cmp.Compare(x.Type, y.Type), cmp.Compare(x.ID, y.ID)) })
					return r, err
				}, migrated, fresh)
			}
			for _, a := range scopes[2:] {
				same(t, "actor routes", a.Actor, func(db *postgres.DB) (any, error) {
					r, err := insights.AllActorRoutes(t.Context(), db, org, a.Actor, segs)
					slices.SortFunc(r, func(x, y insights.RouteRow) int {
						return cmp.Or(cmp.Compare(x.Route, y.Route), cmp.Compare(x.Method, y.Method))
					})
					return r, err
				}, migrated, fresh)
			}
		}
	}
}

// same fails t when q answers differently on the two stores, or fails; it
// counts the answers that were not empty in answered[what].
func same(t *testing.T, what string, arg any, q func(*postgres.DB) (any, error), a, b *postgres.DB) {
	t.Helper()
	x, err := q(a)
	if err != nil {
		t.Fatalf("%s %v (migrated): %v", what, arg, err)
	}
	y, err := q(b)
	if err != nil {
		t.Fatalf("%s %v (fresh): %v", what, arg, err)
	}
	if !reflect.DeepEqual(x, y) {
		t.Errorf("%s %v:\nmigrated %+v\nfresh    %+v", what, arg, x, y)
	}
	if v := reflect.ValueOf(x); !(v.Kind() == reflect.Slice && v.Len() == 0 || v.Kind() == reflect.Struct && v.IsZero()) {
		answered[what]++
	}
}

var answered = map[string]int{}
