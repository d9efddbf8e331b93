// Package postgres is ghusage's PostgreSQL backend, for running any number
// of stateless replicas on one database. It implements the store interfaces
// of package usage (and of the API families) with pgx, keeps its schema in
// embedded migrations, and maps PostgreSQL's failures to usage errors: a
// unique violation is KindConflict, a missing referenced row KindNotFound,
// and a database that cannot be reached KindUnavailable (503), from which
// the pool recovers by itself when PostgreSQL comes back.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ghusage/ghusage/internal/usage"
)

// Options tune Open. The zero value is usable.
type Options struct {
	// Migrate applies pending migrations at open. Without it, Open fails
	// when the schema is behind the binary and says to run ghusage migrate.
	Migrate bool
	// MaxConns caps the pool; 0 keeps pgx's default (4 per CPU, at least 4).
	MaxConns int32
	Now      func() time.Time // defaults to time.Now
	Logger   *slog.Logger     // defaults to a discarding logger
}

// DB is the PostgreSQL store. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	now  func() time.Time
	log  *slog.Logger

	refs refCache // refs of insights actors, subjects and routes
	// legacyFold writes insights as builds before migration 0024 did
	// (lvlMinuteDetail rows, no hour minutes): tests of reading such rows
	legacyFold bool
}

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string), checks that it answers and that its schema matches
// this binary, and migrates it when opts.Migrate is set. Errors say which
// server could not be reached, without the password.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: invalid --postgres-dsn: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		// A replica cut off mid-transaction (a partition, not a crash: the
		// kernel closes a crashed process' sockets) would otherwise hold
		// its row locks, and other replicas' writes to the same buckets,
		// until TCP gives up.
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "60000"
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A request waiting for a dead server should fail fast with 503.
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", where, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: cannot reach %s: %w", where, err)
	}
	db := &DB{pool: pool, now: opts.Now, log: opts.Logger}
	if opts.Migrate {
		err = db.Migrate(ctx)
	} else {
		err = db.CheckSchema(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Pool returns the connection pool, for packages that keep their own
// tables in this database (the job leases).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Ping reports whether PostgreSQL answers.
func (db *DB) Ping(ctx context.Context) error {
	return wrap(db.pool.Ping(ctx), "ping")
}

// Close releases every connection.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// PostgreSQL error codes the store tells apart.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// wrap turns a pgx error into a *usage.Error. what names the operation for
// logs; it is not shown to callers.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var ue *usage.Error
	if errors.As(err, &ue) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &usage.Error{Kind: usage.KindNotFound, Message: "Not Found", Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller went away or ran out of time; keep the context error
		// visible to errors.Is.
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == codeUniqueViolation:
			return &usage.Error{Kind: usage.KindConflict, Message: "Already exists", Err: err}
		case pe.Code == codeForeignKeyViolation:
			return &usage.Error{Kind: usage.KindNotFound, Message: "Not Found", Err: err}
		case unavailableCode(pe.Code):
			return unavailable(what, err)
		}
		return &usage.Error{Kind: usage.KindInternal, Message: "Internal error", Err: fmt.Errorf("postgres: %s: %w", what, err)}
	}
	// Anything else from pgx is the connection: refused, reset, timed out.
	return unavailable(what, err)
}

func unavailable(what string, err error) error {
	return &usage.Error{Kind: usage.KindUnavailable,
		Message: "The database is unavailable; try again shortly",
		Err:     fmt.Errorf("postgres: %s: %w", what, err)}
}

// unavailableCode reports SQLSTATEs that mean the server cannot serve now:
// connection exceptions (class 08), shutdown and startup (57P01-57P03),
// too many connections (53300), read-only standby (25006), a lock or
// statement timeout set by the operator (55P03, 57014) and contention that
// outlasted the retries (40P01, 40001).
func unavailableCode(code string) bool {
	switch code {
	case "57P01", "57P02", "57P03", "53300", "25006", "55P03", "57014", "40P01", "40001":
		return true
	}
	return len(code) == 5 && code[:2] == "08"
}

// nullTime stores a zero time as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// timeOf reads a nullable timestamp back, in UTC.
func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nullID stores an id of 0 as NULL.
func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func idOf(id *int64) int64 {
	if id == nil {
		return 0
	}
	return *id
}
