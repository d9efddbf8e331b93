package postgres

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestInt8ArrayCopyFormat checks that copyBuf writes a bigint[] as
// appendInt8Array (PostgreSQL's binary array format) reads it back.
func TestInt8ArrayCopyFormat(t *testing.T) {
	for _, vs := range [][]int64{nil, {7}, {1, -2, 1 << 40, 0, -1 << 62}} {
		var b copyBuf
		b.int8Array(vs)
		n := int(binary.BigEndian.Uint32(b.b))
		if n != len(b.b)-4 {
			t.Fatalf("%v: length %d, %d bytes follow", vs, n, len(b.b)-4)
		}
		got, err := appendInt8Array(nil, b.b[4:])
		if err != nil {
			t.Fatalf("%v: %v", vs, err)
		}
		if !slices.Equal(got, vs) {
			t.Fatalf("read back %v, wrote %v", got, vs)
		}
	}
}

// TestMergeEntries checks the Go merge of stored and batch lists against
// what insights_merge and insights_merge_minutes compute.
func TestMergeEntries(t *testing.T) {
	a := []int64{1, 2, 0, 100, 0, 5, 1, 1, 130, 130}
	b := []int64{5, 3, 1, 170, 165, 2, 1, 0, 90, 0}
	// by ref: 1, 2, 5 (5's counts added, last times the latest)
	if got, want := mergeEntries(nil, a, b, false), []int64{1, 2, 0, 100, 0, 2, 1, 0, 90, 0, 5, 4, 2, 170, 165}; !slices.Equal(got, want) {
		t.Errorf("by ref: %v, want %v", got, want)
	}
	// by ref and minute: 5's entries are in minutes 120 and 120 (130 and 170), so they add up;
	// a third one in minute 180 stays apart
	c := []int64{5, 1, 0, 185, 0}
	if got, want := mergeEntries(nil, mergeEntries(nil, a, b, true), c, true), []int64{1, 2, 0, 100, 0, 2, 1, 0, 90, 0, 5, 4, 2, 170, 165, 5, 1, 0, 185, 0}; !slices.Equal(got, want) {
		t.Errorf("by minute: %v, want %v", got, want)
	}
	if got := mergeEntries(nil, nil, nil, true); len(got) != 0 {
		t.Errorf("empty lists merged into %v", got)
	}
}

// TestMergeEntriesRandom compares mergeEntries with the model of
// insights_merge (merge_test.go: one entry per ref in ref order, counts
// added, times the latest) on random lists with repeated refs.
func TestMergeEntriesRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	list := func(n int) []int64 {
		var l []int64
		for range n {
			l = append(l, 1+r.Int64N(50), r.Int64N(1000), r.Int64N(10), r.Int64N(1e9), r.Int64N(1e9))
		}
		return l
	}
	// sorted lists without a repeated ref (those stored and packed) take
	// mergeSorted's way; the others mergeBySorting's
	unique := func(l []int64) []int64 { return mergeBySorting(nil, l, nil, false) }
	for k := range 200 {
		a, b := list(r.IntN(80)), list(r.IntN(80))
		if k%2 == 0 {
			a, b = unique(a), unique(b)
			if _, ok := mergeSorted(nil, a, b); !ok {
				t.Fatalf("sorted lists %v and %v not merged in order", a, b)
			}
		}
		byRef := map[int64][4]int64{}
		for _, l := range [][]int64{a, b} {
			for i := 0; i+5 <= len(l); i += 5 {
				e := byRef[l[i]]
				e[0], e[1] = e[0]+l[i+1], e[1]+l[i+2]
				e[2], e[3] = max(e[2], l[i+3]), max(e[3], l[i+4])
				byRef[l[i]] = e
			}
		}
		var want []int64
		for _, ref := range slices.Sorted(maps.Keys(byRef)) {
			e := byRef[ref]
			want = append(want, ref, e[0], e[1], e[2], e[3])
		}
		if got := mergeEntries(nil, a, b, false); !slices.Equal(got, want) {
			t.Fatalf("merged %v and %v into %v, want %v", a, b, got, want)
		}
	}
}

// TestCmpSeenKey checks that seen keys sort by minute, then key bytes.
func TestCmpSeenKey(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	keys := make([]seenKey, 500)
	for i := range keys {
		keys[i].minute = 60 * r.Int64N(3)
		for j := range keys[i].k {
			keys[i].k[j] = byte(r.IntN(3) * 127)
		}
	}
	for _, a := range keys {
		for _, b := range keys[:50] {
			want := cmp.Or(cmp.Compare(a.minute, b.minute), bytes.Compare(a.k[:], b.k[:]))
			if got := cmpSeenKey(a, b); got != want {
				t.Fatalf("cmpSeenKey(%v, %v) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestHourListRoundTrip(t *testing.T) {
	const bucket = 1_773_500_400
	flat := []int64{0, 3, 1, bucket + 59, bucket + 30, 7, 1, 0, bucket + 3599, 0, 300000, 1 << 40, 5, bucket - 7, bucket + 4000}
	b := appendHourList(nil, flat, bucket)
	got, err := appendHourEntries(nil, b, bucket)
	if err != nil || !slices.Equal(got, flat) {
		t.Fatalf("round trip: %v, %v; want %v", got, err, flat)
	}
	if _, err := appendHourEntries(nil, b[:len(b)-1], bucket); err == nil {
		t.Fatal("a truncated list decoded")
	}
}
