package copilot

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/ghusage/ghusage/internal/usage"
)

// MemFiles is a FileStore in memory, for tests and benchmarks.
type MemFiles struct {
	mu    sync.Mutex
	files map[string][]byte
	// Discard, when set, counts the bytes put without keeping them.
	Discard bool
	Bytes   int64
}

func (m *MemFiles) Put(ctx context.Context, name, contentType string, r io.Reader) (int64, error) {
	var buf bytes.Buffer
	var w io.Writer = &buf
	if m.Discard {
		w = io.Discard
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return n, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Bytes += n
	if !m.Discard {
		if m.files == nil {
			m.files = map[string][]byte{}
		}
		m.files[name] = buf.Bytes()
	}
	return n, nil
}

func (m *MemFiles) Delete(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.files[name]; !ok {
		return usage.ErrNotFound
	}
	delete(m.files, name)
	return nil
}

// Get returns a file's contents.
func (m *MemFiles) Get(name string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[name]
	return b, ok
}

// Names lists the files under prefix, sorted.
func (m *MemFiles) Names(prefix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for n := range m.files {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
