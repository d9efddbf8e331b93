package postgres_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/usage"
)

// mergeModel is what insights_merge must return: the entries of a and b
// (five bigints each: ref, total, rate limited, last, last rate limited),
// one per ref in ref order, counts added and times the latest.
func mergeModel(a, b []int64) []int64 {
	byRef := map[int64][4]int64{}
	for _, l := range [][]int64{a, b} {
		for i := 0; i+5 <= len(l); i += 5 {
			e := byRef[l[i]]
			e[0] += l[i+1]
			e[1] += l[i+2]
			e[2] = max(e[2], l[i+3])
			e[3] = max(e[3], l[i+4])
			byRef[l[i]] = e
		}
	}
	out := []int64{}
	for _, ref := range slices.Sorted(maps.Keys(byRef)) {
		e := byRef[ref]
		out = append(out, ref, e[0], e[1], e[2], e[3])
	}
	return out
}

func randomList(r *rand.Rand, n, refs int) []int64 {
	var l []int64
	for range n {
		l = append(l, 1+r.Int64N(int64(refs)), r.Int64N(1000), r.Int64N(10), r.Int64N(1e9), r.Int64N(1e9))
	}
	return l
}

func TestInsightsMergeMatchesModel(t *testing.T) {
	dsn := pgtest.DSN(t)
	db, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())

	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		a, b []int64
	}{
		{"both empty", []int64{}, []int64{}},
		{"empty and one", []int64{}, []int64{7, 1, 0, 5, 0}},
		{"one and empty", []int64{7, 1, 1, 5, 6}, []int64{}},
		{"same ref", []int64{7, 1, 0, 5, 0}, []int64{7, 2, 1, 3, 9}},
		{"disjoint, interleaved", []int64{1, 1, 0, 1, 0, 5, 2, 0, 2, 0}, []int64{3, 4, 1, 4, 4}},
		{"duplicates within a list", []int64{2, 1, 0, 1, 0, 2, 1, 0, 3, 0}, []int64{2, 1, 1, 2, 2}},
		{"random small", randomList(r, 40, 30), randomList(r, 30, 30)},
		// Long enough for PostgreSQL to store the list compressed out of line.
		{"random long", randomList(r, 3000, 5000), randomList(r, 200, 5000)},
	}
	// Stored in a table, as the roll-ups are, so a long list is TOASTed.
	if _, err := conn.Exec(t.Context(), `CREATE TEMP TABLE merge_case (a bigint[], b bigint[])`); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := conn.Exec(t.Context(), `TRUNCATE merge_case`); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(t.Context(), `INSERT INTO merge_case VALUES ($1, $2)`, c.a, c.b); err != nil {
				t.Fatal(err)
			}
			var got []int64
			if err := conn.QueryRow(t.Context(), `SELECT insights_merge(a, b) FROM merge_case`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if want := mergeModel(c.a, c.b); !slices.Equal(got, want) {
				t.Errorf("insights_merge: %d values, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
			}
		})
	}
	var null []int64
	if err := conn.QueryRow(t.Context(), `SELECT insights_merge(NULL, '{3,1,0,1,0}')`).Scan(&null); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(null, []int64{3, 1, 0, 1, 0}) {
		t.Errorf("insights_merge(NULL, list) = %v, want the list", null)
	}
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// BenchmarkInsightsIngestManySubjects ingests the small batches the
// recorder flushes (200 events) into an organization whose day already has
// 5,000 subjects, so every batch merges into long packed lists.
func BenchmarkInsightsIngestManySubjects(b *testing.B) {
	dsn := pgtest.DSN(b)
	db, err := postgres.Open(b.Context(), dsn, postgres.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	cut := insights.DefaultRetention.Cutoffs(now)
	ev := func(i, subject int) insights.Event {
		return insights.Event{ID: fmt.Sprintf("e-%d", i), Timestamp: now.Add(-time.Duration(i%50) * time.Second),
			Org: "big", ActorType: usage.ActorClassicPAT, ActorID: int64(1 + subject), ActorName: fmt.Sprintf("a%d", subject),
			UserID: int64(1 + subject), SubjectType: insights.SubjectUser, SubjectID: int64(1 + subject), SubjectName: fmt.Sprintf("u%d", subject),
			HTTPMethod: "GET", APIRoute: "/x"}
	}
	var evs []insights.Event
	for i := range 5000 {
		evs = append(evs, ev(i, i))
	}
	if _, err := db.InsightsIngest(b.Context(), evs, cut); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		evs = evs[:0]
		for i := range 200 {
			evs = append(evs, ev(10_000+n*200+i, (n*200+i)*7%5000))
		}
		if _, err := db.InsightsIngest(b.Context(), evs, cut); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*200)/b.Elapsed().Seconds(), "events/s")
}
