package insights

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestFormatTimestampMatchesTimePackage checks the hand-written formatter
// against time.Format(time.RFC3339) on every edge it has (epoch, leap
// days, century and 400-year rules, the last second of 9999, times it
// leaves to the time package) and on random times.
func TestFormatTimestampMatchesTimePackage(t *testing.T) {
	check := func(u int64) {
		t.Helper()
		want := time.Unix(u, 0).UTC().Format(time.RFC3339)
		if got := FormatTimestamp(u); got != want {
			t.Fatalf("FormatTimestamp(%d) = %q, want %q", u, got, want)
		}
		if got := string(AppendTimestamp([]byte("x"), u)); got != "x"+want {
			t.Fatalf("AppendTimestamp(x, %d) = %q, want %q", u, got, "x"+want)
		}
	}
	for _, d := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1972, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 0, time.UTC),
		time.Date(2000, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC),
		time.Date(2100, 2, 28, 23, 59, 59, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2400, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(12345, 6, 7, 8, 9, 10, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		for _, off := range []int64{-86400, -1, 0, 1, 59, 60, 3599, 3600, 86399, 86400} {
			check(d.Unix() + off)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		check(r.Int64N(maxFastTimestamp + 1e9))
	}
	for day := int64(0); day < 3*146097; day++ { // every day of 1,200 years
		check(day*86400 + day%86400)
	}
}

func TestSeriesStats(t *testing.T) {
	s := Series{First: 1_700_000_100, Increment: 300, Counts: []SeriesCounts{{3, 1}, {0, 0}, {7, 0}}}
	got := s.Stats()
	want := []TimeStat{
		{"2023-11-14T22:15:00Z", 3, 1},
		{"2023-11-14T22:20:00Z", 0, 0},
		{"2023-11-14T22:25:00Z", 7, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("Stats() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Stats()[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if empty := (&Series{First: 0, Increment: 60}).Stats(); empty == nil || len(empty) != 0 {
		t.Fatalf("Stats() of an empty series = %#v, want an empty, non-nil slice", empty)
	}
}
