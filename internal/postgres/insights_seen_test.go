package postgres_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/usage"
)

func seenEvent(now time.Time, i int, id string) insights.Event {
	return insights.Event{
		ID: id, Timestamp: now.Add(-time.Duration(i%3) * time.Minute),
		Org: "acme-web", ActorType: usage.ActorClassicPAT, ActorID: int64(1 + i%4), ActorName: "tok",
		UserID: int64(1 + i%2), SubjectType: insights.SubjectUser, SubjectID: int64(1 + i%2), SubjectName: "mona",
		HTTPMethod: "GET", APIRoute: "/rate_limit",
	}
}

// TestInsightsSeenDenseMinutes fills minutes past their whole-minute row
// (128 keys) into shard rows, batch after batch, and checks every id
// counts once: replays, ids repeated within a batch, and new ids mixed
// with old ones.
func TestInsightsSeenDenseMinutes(t *testing.T) {
	db := open(t)
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	cut := insights.Retention{}.Cutoffs(now)
	ingest := func(ids []int, want int) {
		t.Helper()
		evs := make([]insights.Event, len(ids))
		for j, i := range ids {
			evs[j] = seenEvent(now, i, fmt.Sprintf("d-%d", i))
		}
		res, err := db.InsightsIngest(t.Context(), evs, cut)
		if err != nil {
			t.Fatal(err)
		}
		if res.Recorded != want || res.Duplicates != len(ids)-want {
			t.Fatalf("ingest of %d: %+v, want %d recorded", len(ids), res, want)
		}
	}
	span := func(lo, hi int) []int {
		var out []int
		for i := lo; i < hi; i++ {
			out = append(out, i)
		}
		return out
	}
	ingest(span(0, 90), 90)      // whole-minute rows (30 keys a minute)
	ingest(span(90, 600), 510)   // past 128 a minute: shard rows
	ingest(span(0, 600), 0)      // replayed
	ingest(span(550, 1500), 900) // old and new
	ingest(append(span(1500, 1600), span(1500, 1600)...), 100)
	ingest(append(span(1590, 1700), 3), 100)
	c, err := db.InsightsTotals(t.Context(), insights.Scope{Org: "acme-web"}, insights.Segments(insights.Minute.Floor(now.Unix())-3600, insights.Minute.Floor(now.Unix())+60, insights.Day))
	if err != nil || c.Total != 1700 {
		t.Fatalf("totals %+v, %v; want 1700", c, err)
	}
}

// TestMigrationPacksSeen writes ids as builds before migration 0025 did
// (a row per event in insights_seen), migrates, and checks those events
// count as seen and others as new.
func TestMigrationPacksSeen(t *testing.T) {
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
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".sql")
		num, name, _ := strings.Cut(base, "_")
		v, _ := strconv.Atoi(num)
		if v >= 25 {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(b))
		exec(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, v, name)
	}
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	var old, more []insights.Event
	for i := range 400 {
		e := seenEvent(now, i, fmt.Sprintf("o-%d", i))
		if i%4 == 0 {
			more = append(more, e)
			continue
		}
		old = append(old, e)
		k := insights.EventKey(e.ID)
		exec(`INSERT INTO insights_seen (minute, k) VALUES ($1, $2)`, insights.Minute.Floor(e.Timestamp.Unix()), k[:])
	}
	db, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cut := insights.Retention{}.Cutoffs(now)
	res, err := db.InsightsIngest(t.Context(), append(old[:50:50], more...), cut)
	if err != nil || res.Recorded != len(more) || res.Duplicates != 50 {
		t.Fatalf("after migration: %+v, %v; want %d recorded, 50 duplicates", res, err, len(more))
	}
	if res, err := db.InsightsIngest(t.Context(), old, cut); err != nil || res.Recorded != 0 {
		t.Fatalf("old ids: %+v, %v", res, err)
	}
}
