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
			p := make([]byte, 2+r.IntN(1<<uint(r.IntN(18))+1))
			for i := range p {
				p[i] = byte(r.Uint32())
			}
			switch sep := r.IntN(3); {
			case trial%2 == 0 && sep == 0:
				b.Append(p[1:])
				all = append(all, p[1:]...)
			default: // after p[0], or not
				ps := sumPart(p[1:])
				b.appendSummed(p[:1], sep == 1, p[1:], &ps)
				if sep == 1 {
					all = append(all, p[0])
				}
				all = append(all, p[1:]...)
			}
		}
		if got := b.Bytes(); !bytes.Equal(got, all) || b.Len != len(all) {
			t.Fatalf("trial %d: bytes differ", trial)
		}
		if c, i := crc32.Checksum(all, castagnoli), crc32.ChecksumIEEE(all); b.CRC32C != c || b.CRC32 != i {
			t.Fatalf("trial %d (%d bytes): sums %08x %08x, want %08x %08x", trial, len(all), b.CRC32C, b.CRC32, c, i)
		}
	}
}
