package sqlite

import (
	"database/sql/driver"
	"encoding/binary"
	"errors"

	"github.com/ghusage/ghusage/internal/insights"
	msqlite "modernc.org/sqlite"
)

// A packed group list is the breakdown of one roll-up bucket: entries
// sorted by ref, each the ref's delta from the previous one, total, rate
// limited, last request time and last rate-limited time (both relative to
// the bucket start; the latter plus one, 0 meaning none), as varints.

// entry is one entry of a packed list.
type entry = insights.RefCounts

func encodeEntries(dst []byte, es []entry, bucket int64) []byte {
	insights.SortRefCounts(es)
	prev := int64(0)
	for _, e := range es {
		dst = binary.AppendUvarint(dst, uint64(e.Ref-prev))
		prev = e.Ref
		dst = binary.AppendUvarint(dst, uint64(e.Total))
		dst = binary.AppendUvarint(dst, uint64(e.RateLimited))
		dst = binary.AppendVarint(dst, e.Last-bucket)
		rl := int64(0)
		if e.LastRateLimited != 0 {
			rl = e.LastRateLimited - bucket + 1
		}
		dst = binary.AppendVarint(dst, rl)
	}
	return dst
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
		return func(ref int64, c insights.Counts) { *dst = append(*dst, entry{Ref: ref, Counts: c}) }
	}
	if err := decodeEntries(a, bucket, collect(&ea)); err != nil {
		return nil, err
	}
	if err := decodeEntries(b, bucket, collect(&eb)); err != nil {
		return nil, err
	}
	// cmp orders entries by ref, and byMinute by minute
	cmp := func(x, y *entry) int {
		if c := compareInt(x.Ref, y.Ref); c != 0 || !byMinute {
			return c
		}
		return compareInt(insights.Minute.Floor(x.Last), insights.Minute.Floor(y.Last))
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
			e.Add(eb[j].Counts)
			out = append(out, e)
			i++
			j++
		}
	}
	return encodeEntries(make([]byte, 0, len(a)+len(b)), out, bucket), nil
}
