package usage

import (
	"fmt"
	"io"
)

// CapDecoded returns a reader of r that fails with a KindTooLarge error
// once more than max bytes were read from it: what a compressed request
// body may expand to, so a small body cannot expand without bound and is
// answered 413 rather than cut short.
func CapDecoded(r io.Reader, max int64) io.Reader { return &capReader{r: r, left: max, max: max} }

type capReader struct {
	r         io.Reader
	left, max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a body of exactly max bytes from a longer one.
		var one [1]byte
		if n, err := c.r.Read(one[:]); n == 0 {
			return 0, err
		}
		return 0, &Error{Kind: KindTooLarge, Message: fmt.Sprintf("The decompressed body is larger than %d bytes", c.max)}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
