package billing

import (
	"math/rand/v2"
	"testing"
)

func TestAppendFixedMatchesFormatFixed(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := []int64{0, 1, -1, 9, 10, 999999999, 1000000000, -1000000000, 1000000001, 123456789012, -5, 1 << 62, -(1 << 62), 9223372036854775807, -9223372036854775807}
	for range 100000 {
		vals = append(vals, r.Int64N(1<<40)-(1<<39), r.Int64())
	}
	for _, v := range vals {
		if got, want := string(appendInt(nil, v, Scale)), formatFixed(v, Scale); got != want {
			t.Fatalf("%d: %s, want %s", v, got, want)
		}
		a := Mul(Quantity(v), Price(r.Int64N(1<<33)-(1<<32)))
		b, _ := a.MarshalJSON()
		if string(b) != a.String() {
			t.Fatalf("%v: %s, want %s", a, b, a.String())
		}
	}
}
