package usage_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ghusage/ghusage/internal/usage"
)

// TestCapDecoded: up to max bytes read through; one more is a
// KindTooLarge error, never a short read that looks like the end.
func TestCapDecoded(t *testing.T) {
	for _, c := range []struct {
		in      string
		tooLong bool
	}{{"", false}, {"12345", false}, {"123456", true}, {strings.Repeat("x", 1000), true}} {
		got, err := io.ReadAll(usage.CapDecoded(strings.NewReader(c.in), 5))
		var ue *usage.Error
		if c.tooLong {
			if !errors.As(err, &ue) || ue.Kind != usage.KindTooLarge {
				t.Errorf("%d bytes: err %v, want KindTooLarge", len(c.in), err)
			}
			continue
		}
		if err != nil || string(got) != c.in {
			t.Errorf("%d bytes: %q, %v; want it whole", len(c.in), got, err)
		}
	}
}
