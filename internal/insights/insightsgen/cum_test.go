package insightsgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The guide table picks what a binary search over the cumulative weights
// picks, for any x in [0, 1), bucket edges included.
func TestPickIsBinarySearch(t *testing.T) {
	var cum []float64
	total := 0.0
	for i := 0; i < 400; i++ {
		total += 1 / float64(i+1)
		cum = append(cum, total)
	}
	tab := newCumTable(cum)
	xs := []float64{0, math.Nextafter(1, 0)}
	for k := 0; k <= guideSize; k++ {
		x := float64(k) / guideSize
		xs = append(xs, math.Nextafter(x, 0), x, math.Nextafter(x, 1))
	}
	for _, c := range cum {
		x := c / total
		xs = append(xs, math.Nextafter(x, 0), x, math.Nextafter(x, 1))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		xs = append(xs, r.Float64())
	}
	for _, x := range xs {
		if x < 0 || x >= 1 {
			continue
		}
		i, _ := slices.BinarySearch(cum, x*cum[len(cum)-1])
		if want, got := min(i, len(cum)-1), tab.pick(x); got != want {
			t.Fatalf("pick(%v) = %d, binary search %d", x, got, want)
		}
	}
}
