package billing

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// TestDecodeAllGzipExpandsTooFar: a small gzip body that expands past
// MaxDecodedBytes (here, blank lines) is refused as too large (413), not
// cut at the cap and answered as the records before it.
func TestDecodeAllGzipExpandsTooFar(t *testing.T) {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	line := []byte(strings.Repeat(" ", 1023) + "\n")
	for n := 0; n <= MaxDecodedBytes; n += len(line) {
		zw.Write(line)
	}
	zw.Close()
	_, err := DecodeAll(bytes.NewReader(gz.Bytes()), DefaultCatalog(), time.Now(), MaxBatch)
	var ue *usage.Error
	if !errors.As(err, &ue) || ue.Kind != usage.KindTooLarge {
		t.Fatalf("a %d-byte gzip body expanding past %d bytes: %v, want KindTooLarge", gz.Len(), MaxDecodedBytes, err)
	}
}
