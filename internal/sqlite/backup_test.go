package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/usage"
)

func TestBackupRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "ghusage.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateUser(ctx, &usage.User{Login: "before", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "b.db")
	info, err := sqlite.Backup(ctx, path, file)
	if err != nil {
		t.Fatal(err)
	}
	if info.SchemaVersion != sqlite.SchemaVersion() || info.Bytes == 0 {
		t.Errorf("backup info %+v", info)
	}
	if _, err := os.Stat(file + ".partial"); !os.IsNotExist(err) {
		t.Errorf("a .partial file was left: %v", err)
	}
	if _, err := sqlite.Backup(ctx, path, file); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup over an existing file: %v", err)
	}
	// Written after the backup: not in it, and gone once it is restored.
	if err := db.CreateUser(ctx, &usage.User{Login: "after", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := sqlite.Restore(ctx, file, path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".pre-restore"); err != nil {
		t.Errorf("the replaced store was not kept: %v", err)
	}
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Errorf("the old WAL is still there: %v", err)
	}
	db2, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := db2.UserByLogin(ctx, "before"); err != nil {
		t.Errorf("restored store lacks the user written before the backup: %v", err)
	}
	if _, err := db2.UserByLogin(ctx, "after"); !usage.IsNotFound(err) {
		t.Errorf("restored store has the user written after the backup: %v", err)
	}
	// The kept store still has both.
	kept, err := sqlite.Open(ctx, path+".pre-restore", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	if _, err := kept.UserByLogin(ctx, "after"); err != nil {
		t.Errorf("the kept pre-restore store lost a write: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o600)
	if _, err := sqlite.Verify(ctx, garbage); err == nil {
		t.Error("Verify accepted a file that is not a database")
	}
	if _, err := sqlite.Verify(ctx, filepath.Join(dir, "missing.db")); err == nil {
		t.Error("Verify accepted a missing file")
	}
	other := filepath.Join(dir, "other.db")
	raw, _ := sql.Open("sqlite", other)
	raw.Exec("CREATE TABLE t (x)")
	raw.Close()
	if _, err := sqlite.Verify(ctx, other); err == nil || !strings.Contains(err.Error(), "not a ghusage database") {
		t.Errorf("Verify of a foreign database: %v", err)
	}
	newer := filepath.Join(dir, "newer.db")
	db, err := sqlite.Open(ctx, newer, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, _ = sql.Open("sqlite", newer)
	if _, err := raw.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := sqlite.Verify(ctx, newer); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Verify of a newer schema: %v", err)
	}
}
