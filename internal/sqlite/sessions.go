package sqlite

import (
	"context"
	"time"

	"github.com/ghusage/ghusage/internal/session"
)

var _ session.Store = (*DB)(nil)

// CreateSession stores a dashboard session.
func (db *DB) CreateSession(ctx context.Context, s *session.Session) error {
	_, err := db.writer.ExecContext(ctx, `INSERT INTO ui_sessions (hash, token_hash, csrf, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, s.Hash, s.TokenHash, s.CSRF, unixNano(s.CreatedAt), unixNano(s.ExpiresAt))
	return storeError(err, "Session")
}

// SessionByHash returns the session whose hash is hash.
func (db *DB) SessionByHash(ctx context.Context, hash []byte) (*session.Session, error) {
	s := &session.Session{}
	var created, expires int64
	err := db.reader.QueryRowContext(ctx, `SELECT hash, token_hash, csrf, created_at, expires_at FROM ui_sessions WHERE hash = ?`, hash).
		Scan(&s.Hash, &s.TokenHash, &s.CSRF, &created, &expires)
	if err != nil {
		return nil, storeError(err, "Session")
	}
	s.CreatedAt, s.ExpiresAt = fromNano(created), fromNano(expires)
	return s, nil
}

// DeleteSession removes a session; a missing one is not an error.
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := db.writer.ExecContext(ctx, `DELETE FROM ui_sessions WHERE hash = ?`, hash)
	return err
}

// DeleteExpiredSessions removes the sessions expired at or before now.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM ui_sessions WHERE expires_at <= ?`, unixNano(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
