package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Dir is a Store in a directory of the local file system. A file is
// written to a temporary name, synced and renamed into place, so a crash
// leaves the old file or the new one. The content type is derived from
// the name's extension when read back.
type Dir struct {
	root string
}

var _ Store = (*Dir)(nil)

// NewDir returns a Store in root. The directory is made by the first Put,
// so a server that never writes a file leaves no trace.
func NewDir(root string) (*Dir, error) {
	if root == "" {
		return nil, errors.New("blob: empty directory name")
	}
	return &Dir{root: root}, nil
}

func (d *Dir) path(name string) string { return filepath.Join(d.root, filepath.FromSlash(name)) }

// Put implements Store.
func (d *Dir) Put(ctx context.Context, name, contentType string, r io.Reader) (int64, error) {
	if !ValidName(name) {
		return 0, errBadName(name)
	}
	p := d.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	n, err := io.Copy(tmp, ctxReader{ctx, r})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err == nil {
		err = syncDir(filepath.Dir(p))
	}
	if err != nil {
		return 0, fmt.Errorf("blob: put %s: %w", name, err)
	}
	return n, nil
}

// Open implements Store.
func (d *Dir) Open(ctx context.Context, name string) (File, error) {
	if !ValidName(name) {
		return nil, errNotFound
	}
	f, err := os.Open(d.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = errNotFound
		}
		return nil, err
	}
	ct := mime.TypeByExtension(filepath.Ext(name))
	switch filepath.Ext(name) {
	case ".ndjson":
		ct = "application/x-ndjson"
	case ".csv":
		ct = "text/csv; charset=utf-8"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	return &dirFile{File: f, info: Info{Name: name, Size: st.Size(), ContentType: ct, ModTime: st.ModTime().UTC()}}, nil
}

// Delete implements Store.
func (d *Dir) Delete(ctx context.Context, name string) error {
	if !ValidName(name) {
		return errBadName(name)
	}
	err := os.Remove(d.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// List implements Store.
func (d *Dir) List(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == d.root {
			return fs.SkipAll // nothing written yet
		}
		if err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".put-") {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		if name := filepath.ToSlash(rel); strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
		return ctx.Err()
	})
	sort.Strings(names)
	return names, err
}

type dirFile struct {
	*os.File
	info Info
}

func (f *dirFile) Info() Info { return f.info }

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
