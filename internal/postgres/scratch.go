package postgres

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// WithSearchPath returns dsn with its connections' search_path set to
// schema, so one database can hold several ghusage schemas.
func WithSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

// OpenScratch creates schema afresh in the database of dsn (dropping any
// previous one) and opens a migrated store in it; drop closes the store and
// drops the schema. Benchmarks use it.
func OpenScratch(ctx context.Context, dsn, schema string) (db *DB, drop func(), err error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	id := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+id+" CASCADE"); err != nil {
		return nil, nil, fmt.Errorf("postgres: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+id); err != nil {
		return nil, nil, fmt.Errorf("postgres: %w", err)
	}
	db, err = Open(ctx, WithSearchPath(dsn, schema), Options{Migrate: true})
	if err != nil {
		return nil, nil, err
	}
	return db, func() {
		db.Close()
		if c, err := pgx.Connect(context.WithoutCancel(ctx), dsn); err == nil {
			c.Exec(context.WithoutCancel(ctx), "DROP SCHEMA IF EXISTS "+id+" CASCADE")
			c.Close(context.WithoutCancel(ctx))
		}
	}, nil
}
