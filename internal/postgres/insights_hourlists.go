package postgres

import (
	"encoding/binary"
	"errors"

	"github.com/ghusage/ghusage/internal/insights"
)

// The minutes and detail lists of hour rows (migration 0024) are bytea in
// a compact form, not bigint[]: PostgreSQL parses a bigint[] sent by COPY
// or as a parameter element by element, which made writing those lists
// (some 60 entries, 300 bigints, a row) the larger part of a batch's COPY
// time, and their values are small. An entry is five varints: its ref,
// total and rate-limited count, its last time less the row's bucket
// (zigzag), and its last rate-limited time less the bucket plus one
// (zigzag), or 0 for none. Minutes are in minute order; detail entries
// in no particular order (readers filter each by minute, merges sort).

// appendHourList appends the encoding of flat (entries of entryWidth
// values) of a row of bucket to dst.
func appendHourList(dst []byte, flat []int64, bucket int64) []byte {
	for i := 0; i+entryWidth <= len(flat); i += entryWidth {
		dst = binary.AppendUvarint(dst, uint64(flat[i]))
		dst = binary.AppendUvarint(dst, uint64(flat[i+1]))
		dst = binary.AppendUvarint(dst, uint64(flat[i+2]))
		dst = binary.AppendVarint(dst, flat[i+3]-bucket)
		if lr := flat[i+4]; lr == 0 {
			dst = append(dst, 0)
		} else {
			dst = binary.AppendUvarint(dst, zigzag(lr-bucket)+1)
		}
	}
	return dst
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

var errHourList = errors.New("malformed hour list")

// appendHourEntries decodes an encoded list of a row of bucket, appending
// its entries (entryWidth values each) to dst.
func appendHourEntries(dst []int64, b []byte, bucket int64) ([]int64, error) {
	var v [entryWidth]uint64
	for len(b) > 0 {
		for j := range v {
			x, n := binary.Uvarint(b)
			if n <= 0 {
				return nil, errHourList
			}
			v[j], b = x, b[n:]
		}
		last, lr := unzigzag(v[3])+bucket, int64(0)
		if v[4] != 0 {
			lr = unzigzag(v[4]-1) + bucket
		}
		dst = append(dst, int64(v[0]), int64(v[1]), int64(v[2]), last, lr)
	}
	return dst, nil
}

// eachHourEntry calls fn with each entry of an encoded list of a row of
// bucket.
func eachHourEntry(b []byte, bucket int64, fn func(ref int64, c insights.Counts)) error {
	var v [entryWidth]uint64
	for len(b) > 0 {
		for j := range v {
			x, n := binary.Uvarint(b)
			if n <= 0 {
				return errHourList
			}
			v[j], b = x, b[n:]
		}
		c := insights.Counts{Total: int64(v[1]), RateLimited: int64(v[2]), Last: unzigzag(v[3]) + bucket}
		if v[4] != 0 {
			c.LastRateLimited = unzigzag(v[4]-1) + bucket
		}
		fn(int64(v[0]), c)
	}
	return nil
}
