// Package sqlite is ghusage's embedded store: one SQLite file in WAL mode
// (modernc.org/sqlite, pure Go). Writes go through one connection, reads
// through a small pool, so readers never wait for a writer.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
	msqlite "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the SQLite store. It implements usage.Store.
type DB struct {
	path   string
	writer *sql.DB // one connection: SQLite has one writer at a time
	reader *sql.DB // a pool for queries

	insights insightsRefs // cached refs of interned insights dimensions (insights.go)

	billingReads billingReads // prepared statements of the billing reads (billing_read.go)
}

var _ usage.Store = (*DB)(nil)

// Options tunes Open.
type Options struct {
	// Synchronous is SQLite's synchronous pragma: FULL (default) makes
	// every commit durable across power loss; NORMAL across process crashes.
	Synchronous string
}

// Open opens (creating if needed) the database file at path and brings its
// schema up to date. It fails when the file's schema is newer than this binary.
func Open(ctx context.Context, path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: the path %q may not contain ? or #", path)
	}
	sync := strings.ToUpper(opt.Synchronous)
	if sync == "" {
		sync = "FULL"
	}
	if sync != "FULL" && sync != "NORMAL" && sync != "OFF" && sync != "EXTRA" {
		return nil, fmt.Errorf("sqlite: synchronous must be FULL, NORMAL, EXTRA or OFF, not %q", opt.Synchronous)
	}
	q := url.Values{}
	// wal_autocheckpoint: a commit copies the WAL into the database once
	// it holds 16,384 pages (64 MiB) rather than SQLite's 1,000. An
	// insights batch of 100,000 events dirties a few thousand pages, the
	// same tail pages of every actor and user batch after batch, so with
	// the default every commit copied them all again; now every third or
	// so does, once.
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(ON)", "synchronous(" + sync + ")", "temp_store(MEMORY)", "cache_size(-32768)", "wal_autocheckpoint(16384)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	// The writer's driver carries the SQL functions the insights upserts use.
	wd := &msqlite.Driver{}
	if err := wd.RegisterDeterministicScalarFunction(mergeListsFunc, 3, mergeListsSQL); err != nil {
		return nil, err
	}
	if err := wd.RegisterDeterministicScalarFunction(mergeMinutesFunc, 3, mergeMinutesSQL); err != nil {
		return nil, err
	}
	if err := wd.RegisterDeterministicScalarFunction(billingItemPackFunc, 1, billingItemPackSQL); err != nil {
		return nil, err
	}
	if err := wd.RegisterDeterministicScalarFunction(billingIDKeyFunc, 1, billingIDKeySQL); err != nil {
		return nil, err
	}
	w := sql.OpenDB(dsnConnector{wd, dsn})
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	db := &DB{path: path, writer: w, reader: r}
	// A brand-new file being switched to WAL by another process at the same
	// moment answers SQLITE_BUSY without waiting for busy_timeout; those
	// first moments are retried.
	err = db.migrate(ctx)
	for attempt := 1; err != nil && isBusy(err) && attempt <= 50; attempt++ {
		time.Sleep(time.Duration(attempt) * 10 * time.Millisecond)
		err = db.migrate(ctx)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes both connection pools.
func (db *DB) Close() error {
	return errors.Join(db.reader.Close(), db.writer.Close())
}

// Ping checks that the file answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("sqlite: migration %s is not named NNNN_name.sql", e.Name())
		}
		b, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, e.Name(), string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// SchemaVersion is the newest migration this binary knows.
func SchemaVersion() int {
	ms, _ := loadMigrations()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := db.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	var current int
	if err := db.writer.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return err
	}
	if known := SchemaVersion(); current > known {
		return fmt.Errorf("sqlite: the schema of %s is version %d, newer than this binary's %d; use a newer ghusage", db.path, current, known)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		err := db.write(ctx, func(tx *sql.Tx) error {
			// Another process opening the same file may have applied it
			// since: the version is read again under the write lock.
			var applied int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&applied); err != nil {
				return err
			}
			if applied > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("sqlite: migration %s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// dsnConnector opens connections of a driver of its own to dsn.
type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

// write runs fn in a write transaction and commits it.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// storeError turns driver errors into domain errors: no rows is
// KindNotFound, a unique violation KindConflict.
func storeError(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return &usage.Error{Kind: usage.KindNotFound, Message: "Not Found", Err: fmt.Errorf("%s not found", what)}
	case strings.Contains(err.Error(), "UNIQUE constraint failed"), strings.Contains(err.Error(), "PRIMARY KEY"):
		return &usage.Error{Kind: usage.KindConflict, Message: what + " already exists", Err: err}
	case strings.Contains(err.Error(), "FOREIGN KEY constraint failed"):
		return &usage.Error{Kind: usage.KindNotFound, Message: "Not Found", Err: err}
	}
	return err
}

func isBusy(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked"))
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
