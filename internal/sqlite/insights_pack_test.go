package sqlite

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ghusage/ghusage/internal/insights"
)

// TestMergeLists checks insights_merge adds the counts of refs in both
// lists and keeps the others, as decoding, summing and encoding would.
func TestMergeLists(t *testing.T) {
	const bucket = 1_700_000_000
	a := []entry{{1, insights.Counts{Total: 2, Last: bucket + 5}}, {4, insights.Counts{Total: 1, RateLimited: 1, Last: bucket + 9, LastRateLimited: bucket + 9}}}
	b := []entry{{2, insights.Counts{Total: 7, Last: bucket + 1}}, {4, insights.Counts{Total: 3, Last: bucket + 30}}, {9, insights.Counts{Total: 1, Last: bucket}}}
	got, err := mergeLists(encodeEntries(nil, a, bucket), encodeEntries(nil, b, bucket), bucket)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]insights.Counts{
		1: {Total: 2, Last: bucket + 5},
		2: {Total: 7, Last: bucket + 1},
		4: {Total: 4, RateLimited: 1, Last: bucket + 30, LastRateLimited: bucket + 9},
		9: {Total: 1, Last: bucket},
	}
	n := 0
	if err := decodeEntries(got, bucket, func(ref int64, c insights.Counts) {
		n++
		if want[ref] != c {
			t.Errorf("ref %d: %+v, want %+v", ref, c, want[ref])
		}
	}); err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Errorf("%d entries, want %d", n, len(want))
	}
	if _, err := mergeLists([]byte{0x80}, nil, bucket); err == nil {
		t.Error("a corrupt list merged without error")
	}
}

func TestSortEntries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 5, 24, 25, 100, 3000} {
		for _, wide := range []bool{false, true} {
			es := make([]entry, n)
			for i := range es {
				es[i] = entry{ref: rng.Int64N(40), c: insights.Counts{Total: int64(i), Last: 1000 + rng.Int64N(3600)}}
				if wide && i == n/2 {
					es[i].ref = 1 << 40 // past sortPacked's refs: the general sort
				}
			}
			want := slices.Clone(es)
			slices.SortStableFunc(want, func(a, b entry) int {
				if c := compareInt(a.ref, b.ref); c != 0 {
					return c
				}
				return compareInt(a.c.Last, b.c.Last)
			})
			sortEntries(es)
			for i := range es {
				if es[i].ref != want[i].ref || es[i].c.Last != want[i].c.Last {
					t.Fatalf("n=%d wide=%v: at %d %+v, want %+v", n, wide, i, es[i], want[i])
				}
			}
		}
	}
}
