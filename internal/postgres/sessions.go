package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/session"
)

var _ session.Store = (*DB)(nil)

// CreateSession stores a dashboard session, visible to every replica.
func (db *DB) CreateSession(ctx context.Context, s *session.Session) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO ui_sessions (hash, token_hash, csrf, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, s.Hash, s.TokenHash, s.CSRF, s.CreatedAt.UTC(), s.ExpiresAt.UTC())
	return wrap(err, "create session")
}

func scanSession(row pgx.CollectableRow) (*session.Session, error) {
	var s session.Session
	err := row.Scan(&s.Hash, &s.TokenHash, &s.CSRF, &s.CreatedAt, &s.ExpiresAt)
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
	return &s, err
}

// SessionByHash returns the session whose hash is hash.
func (db *DB) SessionByHash(ctx context.Context, hash []byte) (*session.Session, error) {
	return queryOne(ctx, db, "session by hash", scanSession,
		`SELECT hash, token_hash, csrf, created_at, expires_at FROM ui_sessions WHERE hash = $1`, hash)
}

// DeleteSession removes a session; a missing one is not an error.
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM ui_sessions WHERE hash = $1`, hash)
	return wrap(err, "delete session")
}

// DeleteExpiredSessions removes the sessions expired at or before now.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM ui_sessions WHERE expires_at <= $1`, now.UTC())
	if err != nil {
		return 0, wrap(err, "delete expired sessions")
	}
	return tag.RowsAffected(), nil
}
