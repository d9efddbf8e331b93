package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/usage"
)

// SeedDemo writes the whole demo dataset: the accounts and tokens, then
// each API family's data on top of them. accountsReady, when not nil, is
// called between the two, so the admin token can be shown before the
// longer part starts (and is not lost if it is interrupted).
func SeedDemo(ctx context.Context, st usage.Store, opt demo.Options, accountsReady func(*demo.Dataset)) (*demo.Dataset, error) {
	d, err := demo.Seed(ctx, st, opt)
	if err != nil {
		return nil, err
	}
	if accountsReady != nil {
		accountsReady(d)
	}
	if is, ok := st.(insights.Store); ok {
		if err := demo.SeedTraffic(ctx, is, d, opt.Seed, opt.Now); err != nil {
			return nil, err
		}
	}
	if ss, ok := st.(serverstats.Store); ok {
		if err := demo.SeedServerStats(ctx, ss, d.Enterprise.Slug, opt.Seed, opt.Now); err != nil {
			return nil, err
		}
	}
	if cs, ok := st.(copilot.Store); ok {
		if err := demo.SeedCopilot(ctx, st, cs, d, opt.Seed, opt.Now); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// SeedDemoFile writes the whole demo dataset into a new embedded store at
// path, all or nothing: it is built in path+".partial" (replacing one an
// interrupted run left) and renamed into place only once complete and
// closed, so an interrupted --demo start leaves no half-written store.
// It refuses when path exists. accountsReady is as for SeedDemo.
func SeedDemoFile(ctx context.Context, path string, opt demo.Options, sync string, accountsReady func(*demo.Dataset)) (*demo.Dataset, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%s already exists; the demo dataset goes into a new store", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	partial := path + ".partial"
	if err := removeSQLite(partial); err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, partial, sqlite.Options{Synchronous: sync})
	if err != nil {
		return nil, err
	}
	d, err := SeedDemo(ctx, st, opt, accountsReady)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// A clean close checkpoints the WAL into the file; anything left
		// beside it is empty.
		err = errors.Join(removeIfExists(partial+"-wal"), removeIfExists(partial+"-shm"))
	}
	if err == nil {
		err = os.Rename(partial, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// removeSQLite removes a SQLite file and its WAL and shared-memory files.
func removeSQLite(path string) error {
	return errors.Join(removeIfExists(path), removeIfExists(path+"-wal"), removeIfExists(path+"-shm"))
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
