package httpapi

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestAppendInt compares appendInt, the hand-written formatter of the
// GET /rate_limit body, with strconv.AppendInt on every value it could
// get wrong: a dense range around the small numbers, each power of ten and
// its neighbours (where the digit count changes), the int64 extremes and
// random values of every length. It appends after existing bytes, which
// must be left alone.
func TestAppendInt(t *testing.T) {
	prefix := []byte(`{"limit":`)
	var got, want []byte
	check := func(v int64) {
		got = appendInt(append(got[:0], prefix...), v)
		want = strconv.AppendInt(append(want[:0], prefix...), v, 10)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendInt(%d) appended %q, want %q", v, got, want)
		}
	}
	for v := int64(-2_000); v <= 2_000_000; v++ {
		check(v)
	}
	for p := int64(1); ; p *= 10 {
		for _, v := range []int64{p - 1, p, p + 1, -p - 1, -p, -p + 1} {
			check(v)
		}
		if p > math.MaxInt64/10 {
			break
		}
	}
	for _, v := range []int64{math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, math.MinInt64 + 1, math.MaxUint32, math.MaxUint32 + 1} {
		check(v)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		check(int64(r.Uint64()))                // mostly 19-digit numbers
		check(int64(r.Uint64() >> r.UintN(64))) // every length
	}
	// A nil or full buffer grows.
	if got := appendInt(nil, 1234567); string(got) != "1234567" {
		t.Errorf("appendInt(nil, 1234567) = %q", got)
	}
	full := make([]byte, 3)
	if got := appendInt(full, 99); string(got) != "\x00\x00\x0099" {
		t.Errorf("appendInt on a full buffer = %q", got)
	}
}
