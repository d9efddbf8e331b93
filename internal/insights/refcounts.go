package insights

import (
	"cmp"
	"slices"
)

// RefCounts is the counts of one ref (a route, subject, actor or minute,
// numbered as a store numbers them) in a roll-up row's packed list.
type RefCounts struct {
	Ref int64
	Counts
}

// SortRefCounts sorts es by ref, then last time, as both stores' packed
// lists hold them: a ref appears once per minute in a list of minute
// entries (an hour's detail), once in any other. Most lists are short or
// already sorted (an hour's minutes), so those are checked for and sorted
// by insertion, without the comparison calls of the general sort, which
// takes the others.
func SortRefCounts(es []RefCounts) {
	less := func(a, b *RefCounts) bool { return a.Ref < b.Ref || a.Ref == b.Ref && a.Last < b.Last }
	i := 1
	for i < len(es) && !less(&es[i], &es[i-1]) {
		i++
	}
	if i >= len(es) {
		return // sorted
	}
	if len(es) > 24 && !sortPacked(es) {
		slices.SortFunc(es, func(a, b RefCounts) int {
			if c := cmp.Compare(a.Ref, b.Ref); c != 0 {
				return c
			}
			return cmp.Compare(a.Last, b.Last)
		})
		return
	}
	for ; i < len(es); i++ {
		e := es[i]
		j := i
		for j > 0 && less(&e, &es[j-1]) {
			es[j] = es[j-1]
			j--
		}
		es[j] = e
	}
}

// sortPacked sorts es as SortRefCounts does (equal entries in their
// order) by sorting words that hold the ref, the time relative to the earliest one
// and the entry's index, in that order of significance, and reports
// whether they fit (refs below 2^27, times within 2^17 seconds, a day and
// more, and at most 2^20 entries).
func sortPacked(es []RefCounts) bool {
	const refBits, timeBits, idxBits = 27, 17, 20
	if len(es) > 1<<idxBits {
		return false
	}
	t0 := es[0].Last
	for i := range es {
		t0 = min(t0, es[i].Last)
	}
	words := make([]uint64, len(es))
	for i := range es {
		ref, t := es[i].Ref, es[i].Last-t0
		if ref < 0 || ref >= 1<<refBits || t >= 1<<timeBits {
			return false
		}
		words[i] = uint64(ref)<<(timeBits+idxBits) | uint64(t)<<idxBits | uint64(i)
	}
	slices.Sort(words)
	sorted := make([]RefCounts, len(es))
	for i, w := range words {
		sorted[i] = es[w&(1<<idxBits-1)]
	}
	copy(es, sorted)
	return true
}
