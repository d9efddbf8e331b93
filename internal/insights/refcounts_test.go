package insights

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortRefCounts checks SortRefCounts against a stable sort by ref and
// last time, for lists short and long, in and past sortPacked's range.
func TestSortRefCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 5, 24, 25, 100, 3000} {
		for _, wide := range []bool{false, true} {
			es := make([]RefCounts, n)
			for i := range es {
				es[i] = RefCounts{Ref: rng.Int64N(40), Counts: Counts{Total: int64(i), Last: 1000 + rng.Int64N(3600)}}
				if wide && i == n/2 {
					es[i].Ref = 1 << 40 // past sortPacked's refs: the general sort
				}
			}
			want := slices.Clone(es)
			slices.SortStableFunc(want, func(a, b RefCounts) int {
				if c := cmp.Compare(a.Ref, b.Ref); c != 0 {
					return c
				}
				return cmp.Compare(a.Last, b.Last)
			})
			SortRefCounts(es)
			for i := range es {
				if es[i].Ref != want[i].Ref || es[i].Last != want[i].Last {
					t.Fatalf("n=%d wide=%v: at %d %+v, want %+v", n, wide, i, es[i], want[i])
				}
			}
		}
	}
}
