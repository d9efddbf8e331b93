// Package blob keeps named, immutable files (Copilot report files, billing
// CSV exports) behind one interface, and makes and checks the signed,
// expiring links through which clients download them. The embedded store
// keeps files in a directory (Dir); scale-out keeps them in PostgreSQL
// (internal/postgres), so any replica serves any file.
package blob

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Store keeps named files. Names are slash-separated relative paths such
// as "copilot/acme/2026-11-30/users-1-day-000.ndjson" (see ValidName).
type Store interface {
	// Put writes the whole of r under name, replacing any file of that
	// name atomically: readers see the old file or the new one, never a
	// part. It returns the number of bytes written.
	Put(ctx context.Context, name, contentType string, r io.Reader) (int64, error)
	// Open returns the file for reading, or an error of kind
	// usage.KindNotFound. The caller closes it.
	Open(ctx context.Context, name string) (File, error)
	// Delete removes the file; deleting a missing file is not an error.
	Delete(ctx context.Context, name string) error
	// List returns the names that start with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
}

// File is an open file: readable, seekable (for Range requests), closable.
type File interface {
	io.ReadSeekCloser
	Info() Info
}

// Info describes a stored file.
type Info struct {
	Name        string
	Size        int64
	ContentType string
	ModTime     time.Time
}

// MaxNameLen bounds a file name.
const MaxNameLen = 512

// ValidName reports whether name is a clean relative slash path: segments
// of letters, digits and "._-" (not "." or ".."), no leading, trailing or
// doubled slash.
func ValidName(name string) bool {
	if name == "" || len(name) > MaxNameLen {
		return false
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

func errBadName(name string) error {
	return usage.Errorf(usage.KindBadRequest, "invalid file name %q", name)
}

var errNotFound = &usage.Error{Kind: usage.KindNotFound, Message: "Not Found"}
