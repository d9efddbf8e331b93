package insights

import "bytes"

// KeysContain reports whether have, 16-byte event id keys sorted
// bytewise and packed back to back (as the stores keep the ids they have
// seen), includes k.
func KeysContain(have []byte, k *[16]byte) bool {
	lo, hi := 0, len(have)/16
	for lo < hi {
		mid := (lo + hi) / 2
		switch bytes.Compare(have[mid*16:mid*16+16], k[:]) {
		case 0:
			return true
		case -1:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

// How both stores pack the ids they have seen: per minute, up to
// SeenShards rows by a key's first four bits, plus one whole-minute row
// (shard SeenWholeMinute) holding keys of every shard. A sparse minute
// (up to SeenWholeMinuteKeys keys) is that one row rather than up to
// sixteen of a key or two each. A key is stored in one row: the
// whole-minute row while the minute has only that row and it has room,
// its shard's row after. Both are looked up.
const (
	SeenShards          = 16
	SeenWholeMinute     = SeenShards
	SeenWholeMinuteKeys = 128
)
