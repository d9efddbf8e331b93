// Package blobtest is the conformance suite every blob.Store passes. Import
// it only from _test.go files.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ghusage/ghusage/internal/blob"
	"github.com/ghusage/ghusage/internal/usage"
)

// Run checks st against the Store contract. st must be empty.
func Run(t *testing.T, st blob.Store) {
	ctx := context.Background()
	read := func(t *testing.T, name string) ([]byte, blob.Info) {
		t.Helper()
		f, err := st.Open(ctx, name)
		if err != nil {
			t.Fatalf("Open(%q): %v", name, err)
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			t.Fatalf("reading %q: %v", name, err)
		}
		return b, f.Info()
	}

	t.Run("PutOpen", func(t *testing.T) {
		body := []byte("{\"a\":1}\n{\"a\":2}\n")
		n, err := st.Put(ctx, "t/put/a.ndjson", "application/x-ndjson", bytes.NewReader(body))
		if err != nil || n != int64(len(body)) {
			t.Fatalf("Put = %d, %v; want %d, nil", n, err, len(body))
		}
		got, info := read(t, "t/put/a.ndjson")
		if !bytes.Equal(got, body) {
			t.Fatalf("read %q, want %q", got, body)
		}
		if info.Name != "t/put/a.ndjson" || info.Size != int64(len(body)) || info.ContentType != "application/x-ndjson" || info.ModTime.IsZero() {
			t.Fatalf("Info = %+v", info)
		}
	})

	t.Run("Replace", func(t *testing.T) {
		for _, s := range []string{"first version, longer than the second", "second"} {
			if _, err := st.Put(ctx, "t/replace/x.csv", "text/csv; charset=utf-8", strings.NewReader(s)); err != nil {
				t.Fatal(err)
			}
		}
		if got, info := read(t, "t/replace/x.csv"); string(got) != "second" || info.Size != 6 {
			t.Fatalf("after replace: %q (size %d)", got, info.Size)
		}
	})

	t.Run("LargeAndSeek", func(t *testing.T) {
		// Larger than any chunk or buffer size a store is likely to use.
		body := make([]byte, 5<<20+12345)
		rand.Read(body)
		if _, err := st.Put(ctx, "t/large/big.ndjson", "application/x-ndjson", bytes.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		f, err := st.Open(ctx, "t/large/big.ndjson")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, off := range []int64{0, 1, 1<<20 - 1, 1 << 20, 3<<20 + 7, int64(len(body)) - 10} {
			if _, err := f.Seek(off, io.SeekStart); err != nil {
				t.Fatalf("Seek(%d): %v", off, err)
			}
			buf := make([]byte, 10)
			if _, err := io.ReadFull(f, buf); err != nil {
				t.Fatalf("read at %d: %v", off, err)
			}
			if !bytes.Equal(buf, body[off:off+10]) {
				t.Fatalf("bytes at %d differ", off)
			}
		}
		if end, err := f.Seek(0, io.SeekEnd); err != nil || end != int64(len(body)) {
			t.Fatalf("Seek(0, End) = %d, %v", end, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		all, err := io.ReadAll(f)
		if err != nil || !bytes.Equal(all, body) {
			t.Fatalf("whole read: %d bytes, %v", len(all), err)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		if _, err := st.Put(ctx, "t/empty/e.ndjson", "application/x-ndjson", strings.NewReader("")); err != nil {
			t.Fatal(err)
		}
		if got, info := read(t, "t/empty/e.ndjson"); len(got) != 0 || info.Size != 0 {
			t.Fatalf("empty file read %q, size %d", got, info.Size)
		}
	})

	t.Run("NotFoundAndDelete", func(t *testing.T) {
		if _, err := st.Open(ctx, "t/none/missing.csv"); usage.ErrorKind(err) != usage.KindNotFound {
			t.Fatalf("Open(missing) = %v, want not found", err)
		}
		if _, err := st.Put(ctx, "t/del/d.csv", "text/csv; charset=utf-8", strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, "t/del/d.csv"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Open(ctx, "t/del/d.csv"); usage.ErrorKind(err) != usage.KindNotFound {
			t.Fatalf("Open(deleted) = %v, want not found", err)
		}
		if err := st.Delete(ctx, "t/del/d.csv"); err != nil {
			t.Fatalf("deleting twice: %v", err)
		}
	})

	t.Run("BadNames", func(t *testing.T) {
		for _, name := range []string{"", "/abs", "a//b", "a/../b", "..", "a/./b", "trail/", "sp ace", "q?x"} {
			if _, err := st.Put(ctx, name, "text/plain", strings.NewReader("x")); err == nil {
				t.Errorf("Put(%q) succeeded", name)
			}
			if _, err := st.Open(ctx, name); err == nil {
				t.Errorf("Open(%q) succeeded", name)
			}
		}
	})

	t.Run("List", func(t *testing.T) {
		for _, n := range []string{"t/list/b/2.csv", "t/list/a/1.csv", "t/list/b/1.csv", "t/listx/c.csv"} {
			if _, err := st.Put(ctx, n, "text/csv; charset=utf-8", strings.NewReader(n)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.List(ctx, "t/list/")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"t/list/a/1.csv", "t/list/b/1.csv", "t/list/b/2.csv"}
		if !slices.Equal(got, want) {
			t.Fatalf("List = %q, want %q", got, want)
		}
	})

	t.Run("ConcurrentReplaceIsAtomic", func(t *testing.T) {
		a, b := strings.Repeat("a", 300_000), strings.Repeat("b", 200_000)
		if _, err := st.Put(ctx, "t/atomic/f.ndjson", "application/x-ndjson", strings.NewReader(a)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 {
				s := a
				if i%2 == 0 {
					s = b
				}
				if _, err := st.Put(ctx, "t/atomic/f.ndjson", "application/x-ndjson", strings.NewReader(s)); err != nil {
					t.Error(err)
				}
			}
		}()
		for range 20 {
			f, err := st.Open(ctx, "t/atomic/f.ndjson")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				// A store may fail a read whose file was replaced under it,
				// but it must never return a mix of two versions.
				continue
			}
			if s := string(got); s != a && s != b {
				t.Fatalf("read %d bytes that are neither version", len(got))
			}
		}
		wg.Wait()
	})
}
