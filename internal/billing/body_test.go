package billing

import (
	"bytes"
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// TestBodySums checks that a Body's CRCs, combined from its parts', are
// those of its bytes, parts hashed or summed beforehand, of any length.
func TestBodySums(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		var b Body
		var all []byte
		for range r.IntN(8) {
			p := make([]byte, r.IntN(1<<uint(r.IntN(18))+1))
			for i := range p {
				p[i] = byte(r.Uint32())
			}
			if trial%2 == 0 && r.IntN(2) == 0 {
				b.Append(p)
			} else {
				ps := sumPart(p)
				b.appendSummed(p, &ps)
			}
			all = append(all, p...)
		}
		if got := b.Bytes(); !bytes.Equal(got, all) || b.Len != len(all) {
			t.Fatalf("trial %d: bytes differ", trial)
		}
		if c, i := crc32.Checksum(all, castagnoli), crc32.ChecksumIEEE(all); b.CRC32C != c || b.CRC32 != i {
			t.Fatalf("trial %d (%d bytes): sums %08x %08x, want %08x %08x", trial, len(all), b.CRC32C, b.CRC32, c, i)
		}
	}
}
