package billing

import "hash/crc32"

// Body is an encoded answer as parts to be sent one after another, with
// its length and the two CRC-32s of the whole (Castagnoli and IEEE, from
// which httpapi makes the weak ETag), combined from the parts' own: the
// usage answer's parts are its days' kept items, which a request then
// neither copies into one buffer nor reads again to hash. Parts are never
// changed once added.
type Body struct {
	Parts         [][]byte
	Len           int
	CRC32C, CRC32 uint32
}

// castagnoli is the Castagnoli table (hardware-assisted where the CPU can).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Reflected polynomials of the two CRCs, and the powers x^(2^k) modulo
// each that crcShift multiplies by (never changed after init).
const (
	polyIEEE       = 0xedb88320
	polyCastagnoli = 0x82f63b78
)

var x2nIEEE, x2nCastagnoli = x2nTable(polyIEEE), x2nTable(polyCastagnoli)

// partSum is what appending a part to a Body needs of it: its CRC-32s
// (Castagnoli, IEEE), and x^(8·len) modulo each polynomial, by which a
// CRC before it is multiplied (crcShift).
type partSum struct{ c, i, shiftC, shiftI uint32 }

// sumPart returns p's partSum.
func sumPart(p []byte) partSum {
	return partSum{crc32.Checksum(p, castagnoli), crc32.ChecksumIEEE(p),
		crcShift(polyCastagnoli, &x2nCastagnoli, len(p)), crcShift(polyIEEE, &x2nIEEE, len(p))}
}

// Append adds p (hashing it).
func (b *Body) Append(p []byte) {
	if len(p) == 0 {
		return
	}
	b.Parts = append(b.Parts, p)
	b.Len += len(p)
	b.CRC32C = crc32.Update(b.CRC32C, castagnoli, p)
	b.CRC32 = crc32.Update(b.CRC32, crc32.IEEETable, p)
}

// appendSummed adds p, whose partSum is ps, after sep when withSep is
// set: sep must lead p in memory (p is sep's continuation), so that the
// two go as one part.
func (b *Body) appendSummed(sep []byte, withSep bool, p []byte, ps *partSum) {
	if len(p) == 0 {
		return
	}
	whole := p
	if withSep {
		whole = sep[:len(sep)+len(p)]
		b.CRC32C = crc32.Update(b.CRC32C, castagnoli, sep)
		b.CRC32 = crc32.Update(b.CRC32, crc32.IEEETable, sep)
	}
	b.Parts = append(b.Parts, whole)
	b.Len += len(whole)
	b.CRC32C = multModP(polyCastagnoli, ps.shiftC, b.CRC32C) ^ ps.c
	b.CRC32 = multModP(polyIEEE, ps.shiftI, b.CRC32) ^ ps.i
}

// Bytes returns the parts put together.
func (b *Body) Bytes() []byte {
	out := make([]byte, 0, b.Len)
	for _, p := range b.Parts {
		out = append(out, p...)
	}
	return out
}

// crcShift returns x^(8n) modulo the polynomial: the CRC of A followed
// by n bytes B is the CRC of A times it, plus the CRC of B (zlib's
// crc32_combine).
func crcShift(poly uint32, x2n *[32]uint32, n int) uint32 {
	// x^(8n) = x^(n·2^3): multiply by x^(2^k) for each bit of n, from k = 3.
	p := uint32(1) << 31 // x^0
	for k := 3; n > 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = multModP(poly, x2n[k&31], p)
		}
	}
	return p
}

// multModP multiplies a and b modulo the polynomial (bit-reflected).
func multModP(poly, a, b uint32) uint32 {
	m, p := uint32(1)<<31, uint32(0)
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				return p
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ poly
		} else {
			b >>= 1
		}
	}
}

// x2nTable returns x^(2^k) modulo the polynomial for k = 0…31.
func x2nTable(poly uint32) [32]uint32 {
	var t [32]uint32
	p := uint32(1) << 30 // x^1
	t[0] = p
	for k := 1; k < 32; k++ {
		p = multModP(poly, p, p)
		t[k] = p
	}
	return t
}
