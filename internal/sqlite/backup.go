package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// BackupInfo describes a backup file.
type BackupInfo struct {
	Path          string
	Bytes         int64
	SchemaVersion int
}

// openRaw opens an existing database file without migrating it (a
// server of another version may be using it). readOnly opens it so.
func openRaw(path string, readOnly bool) (*sql.DB, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: the path %q may not contain ? or #", path)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("mode", "rw")
	if readOnly {
		q.Set("mode", "ro")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// Backup writes a consistent copy of the database file at path into dest,
// which must not exist, while other connections and processes go on
// reading and writing it. The copy is SQLite's VACUUM INTO, which reads
// one snapshot: it holds every transaction committed before the backup
// began and none that committed after. It is written beside dest and
// renamed into place once complete and synced, so dest never holds a
// partial copy.
func Backup(ctx context.Context, path, dest string) (BackupInfo, error) {
	if _, err := os.Stat(dest); err == nil {
		return BackupInfo{}, fmt.Errorf("backup: %s already exists; choose a new file", dest)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	db, err := openRaw(path, false)
	if err != nil {
		return BackupInfo{}, err
	}
	defer db.Close()
	partial := dest + ".partial"
	os.Remove(partial)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", partial); err != nil {
		os.Remove(partial)
		return BackupInfo{}, fmt.Errorf("backup of %s: %w", path, err)
	}
	if err := syncFile(partial); err != nil {
		os.Remove(partial)
		return BackupInfo{}, err
	}
	if err := os.Rename(partial, dest); err != nil {
		os.Remove(partial)
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	syncDir(filepath.Dir(dest))
	return Verify(ctx, dest)
}

// Verify checks that file is an intact ghusage database this binary can
// open (SQLite's quick_check, and a schema no newer than this binary's).
func Verify(ctx context.Context, file string) (BackupInfo, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("sqlite: %w", err)
	}
	db, err := openRaw(file, true)
	if err != nil {
		return BackupInfo{}, err
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
		return BackupInfo{}, fmt.Errorf("%s is not a SQLite database: %w", file, err)
	}
	if check != "ok" {
		return BackupInfo{}, fmt.Errorf("%s is damaged: %s", file, check)
	}
	info := BackupInfo{Path: file, Bytes: fi.Size()}
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&info.SchemaVersion); err != nil {
		return BackupInfo{}, fmt.Errorf("%s is not a ghusage database: %w", file, err)
	}
	if known := SchemaVersion(); info.SchemaVersion > known {
		return BackupInfo{}, fmt.Errorf("%s has schema version %d, newer than this binary's %d; use a newer ghusage", file, info.SchemaVersion, known)
	}
	return info, nil
}

// Restore replaces the database file at path with a copy of backup,
// after verifying it. The caller makes sure no process has path open. A
// database already at path is kept as path+".pre-restore" (replacing an
// older one of that name); its -wal and -shm files are removed, so none of
// the old file's log is applied to the restored one.
func Restore(ctx context.Context, backup, path string) (BackupInfo, error) {
	info, err := Verify(ctx, backup)
	if err != nil {
		return info, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return info, err
	}
	partial := path + ".restoring"
	if err := copyFile(backup, partial); err != nil {
		os.Remove(partial)
		return info, err
	}
	if _, err := os.Stat(path); err == nil {
		// Checkpoint the old file's log into it first, so the kept copy is whole.
		if old, err := openRaw(path, false); err == nil {
			old.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
			old.Close()
		}
		if err := os.Rename(path, path+".pre-restore"); err != nil {
			os.Remove(partial)
			return info, fmt.Errorf("restore: keeping the current database: %w", err)
		}
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			os.Remove(partial)
			return info, fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.Rename(partial, path); err != nil {
		return info, fmt.Errorf("restore: %w", err)
	}
	syncDir(filepath.Dir(path))
	info.Path = path
	return info, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// syncDir makes a rename in dir durable; best effort (not every platform
// can sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
