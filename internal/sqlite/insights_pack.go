package sqlite

import (
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"slices"

	"github.com/ghusage/ghusage/internal/insights"
	msqlite "modernc.org/sqlite"
)

// A packed group list is the breakdown of one roll-up bucket: entries
// sorted by ref, each the ref's delta from the previous one, total, rate
// limited, last request time and last rate-limited time (both relative to
// the bucket start; the latter plus one, 0 meaning none), as varints.

type entry struct {
	ref int64
	c   insights.Counts
}

func encodeEntries(dst []byte, es []entry, bucket int64) []byte {
	sortEntries(es)
	prev := int64(0)
	for _, e := range es {
		dst = binary.AppendUvarint(dst, uint64(e.ref-prev))
		prev = e.ref
		dst = binary.AppendUvarint(dst, uint64(e.c.Total))
		dst = binary.AppendUvarint(dst, uint64(e.c.RateLimited))
		dst = binary.AppendVarint(dst, e.c.Last-bucket)
		rl := int64(0)
		if e.c.LastRateLimited != 0 {
			rl = e.c.LastRateLimited - bucket + 1
		}
		dst = binary.AppendVarint(dst, rl)
	}
	return dst
}

// sortEntries sorts es by ref, then time: a ref appears once per minute in
// a list of minute entries (lvlMinuteDetail, hour detail), once in any
// other. Most lists are short or already sorted (an hour's minutes), so
// those are checked for and sorted by insertion, without the comparison
// calls of the general sort, which takes the others.
func sortEntries(es []entry) {
	less := func(a, b *entry) bool { return a.ref < b.ref || a.ref == b.ref && a.c.Last < b.c.Last }
	i := 1
	for i < len(es) && !less(&es[i], &es[i-1]) {
		i++
	}
	if i >= len(es) {
		return // sorted
	}
	if len(es) > 24 && !sortPacked(es) {
		slices.SortFunc(es, func(a, b entry) int {
			if c := compareInt(a.ref, b.ref); c != 0 {
				return c
			}
			return compareInt(a.c.Last, b.c.Last)
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

// sortPacked sorts es as sortEntries does (equal entries in their order) by
// sorting words that hold the ref, the time relative to the earliest one
// and the entry's index, in that order of significance, and reports
// whether they fit (refs below 2^27, times within 2^17 seconds, a day and
// more, and at most 2^20 entries).
func sortPacked(es []entry) bool {
	const refBits, timeBits, idxBits = 27, 17, 20
	if len(es) > 1<<idxBits {
		return false
	}
	t0 := es[0].c.Last
	for i := range es {
		t0 = min(t0, es[i].c.Last)
	}
	words := make([]uint64, len(es))
	for i := range es {
		ref, t := es[i].ref, es[i].c.Last-t0
		if ref < 0 || ref >= 1<<refBits || t >= 1<<timeBits {
			return false
		}
		words[i] = uint64(ref)<<(timeBits+idxBits) | uint64(t)<<idxBits | uint64(i)
	}
	slices.Sort(words)
	sorted := make([]entry, len(es))
	for i, w := range words {
		sorted[i] = es[w&(1<<idxBits-1)]
	}
	copy(es, sorted)
	return true
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var errCorrupt = errors.New("sqlite: corrupt insights group list")

// decodeEntries calls fn for each entry of a packed list.
func decodeEntries(b []byte, bucket int64, fn func(ref int64, c insights.Counts)) error {
	ref := int64(0)
	for len(b) > 0 {
		var v [5]int64
		for i := range v {
			var n int
			if i < 3 {
				var u uint64
				u, n = binary.Uvarint(b)
				v[i] = int64(u)
			} else {
				v[i], n = binary.Varint(b)
			}
			if n <= 0 {
				return errCorrupt
			}
			b = b[n:]
		}
		ref += v[0]
		c := insights.Counts{Total: v[1], RateLimited: v[2], Last: bucket + v[3]}
		if v[4] != 0 {
			c.LastRateLimited = bucket + v[4] - 1
		}
		fn(ref, c)
	}
	return nil
}

// mergeListsFunc is the SQL function insights_merge(old, add, bucket): the
// packed list holding both lists' entries, counts of a ref in both added.
// The writer's upserts use it to fold a batch into existing roll-up rows
// without reading them back.
const mergeListsFunc = "insights_merge"

func mergeListsSQL(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	return mergeArgs(args, false)
}

// mergeMinutesFunc is the SQL function insights_merge_minutes(old, add,
// bucket): insights_merge for lists of minute entries (lvlMinuteDetail
// rows), where an entry is a ref in one minute: entries add up when both
// their ref and the minute of their last request time are the same.
const mergeMinutesFunc = "insights_merge_minutes"

func mergeMinutesSQL(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	return mergeArgs(args, true)
}

func mergeArgs(args []driver.Value, byMinute bool) (driver.Value, error) {
	old, ok1 := blobArg(args[0])
	add, ok2 := blobArg(args[1])
	bucket, ok3 := args[2].(int64)
	if !ok1 || !ok2 || !ok3 {
		return nil, errCorrupt
	}
	return mergeListsBy(old, add, bucket, byMinute)
}

func blobArg(v driver.Value) ([]byte, bool) {
	switch b := v.(type) {
	case []byte:
		return b, true
	case string:
		return []byte(b), true
	case nil:
		return nil, true
	}
	return nil, false
}

// mergeLists merges two packed lists (each sorted by ref).
func mergeLists(a, b []byte, bucket int64) ([]byte, error) { return mergeListsBy(a, b, bucket, false) }

// mergeListsBy merges two packed lists, each sorted by ref (and, byMinute,
// then by time): entries of the same ref (byMinute, and minute of their
// last request time) add up.
func mergeListsBy(a, b []byte, bucket int64, byMinute bool) ([]byte, error) {
	var ea, eb []entry
	collect := func(dst *[]entry) func(int64, insights.Counts) {
		return func(ref int64, c insights.Counts) { *dst = append(*dst, entry{ref, c}) }
	}
	if err := decodeEntries(a, bucket, collect(&ea)); err != nil {
		return nil, err
	}
	if err := decodeEntries(b, bucket, collect(&eb)); err != nil {
		return nil, err
	}
	// cmp orders entries by ref, and byMinute by minute
	cmp := func(x, y *entry) int {
		if c := compareInt(x.ref, y.ref); c != 0 || !byMinute {
			return c
		}
		return compareInt(insights.Minute.Floor(x.c.Last), insights.Minute.Floor(y.c.Last))
	}
	out := make([]entry, 0, len(ea)+len(eb))
	i, j := 0, 0
	for i < len(ea) || j < len(eb) {
		switch {
		case j == len(eb) || i < len(ea) && cmp(&ea[i], &eb[j]) < 0:
			out = append(out, ea[i])
			i++
		case i == len(ea) || cmp(&eb[j], &ea[i]) < 0:
			out = append(out, eb[j])
			j++
		default:
			e := ea[i]
			e.c.Add(eb[j].c)
			out = append(out, e)
			i++
			j++
		}
	}
	return encodeEntries(make([]byte, 0, len(a)+len(b)), out, bucket), nil
}
