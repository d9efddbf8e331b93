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
