package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/usage"
)

// CreateToken stores t by its hash, assigning its ID when zero.
func (db *DB) CreateToken(ctx context.Context, t *usage.Token) error {
	if len(t.Hash) == 0 {
		return usage.Invalid("Token", "hash", "a token must have a hash")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = db.now().UTC()
	}
	scopes := t.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	id, err := db.insert(ctx, "tokens", t.ID,
		`INSERT INTO tokens (id, type, hash, last_eight, user_id, oauth_app_id, app_id, installation_id,
			note, scopes, permissions, resource_owner, created_at, expires_at, revoked_at)
		VALUES (COALESCE($1, nextval('tokens_id_seq')), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		RETURNING id`,
		string(t.Type), t.Hash, t.LastEight, t.UserID, t.OAuthAppID, t.AppID, t.InstallationID,
		t.Note, scopes, perms(t.Permissions), t.ResourceOwner, t.CreatedAt.UTC(), nullTime(t.ExpiresAt), nullTime(t.RevokedAt))
	if err != nil {
		return err
	}
	t.ID = id
	return nil
}

const tokenCols = `id, type, hash, last_eight, user_id, oauth_app_id, app_id, installation_id,
	note, scopes, permissions, resource_owner, created_at, expires_at, revoked_at`

func scanToken(row pgx.CollectableRow) (*usage.Token, error) {
	var t usage.Token
	var typ string
	var expires, revoked *time.Time
	err := row.Scan(&t.ID, &typ, &t.Hash, &t.LastEight, &t.UserID, &t.OAuthAppID, &t.AppID, &t.InstallationID,
		&t.Note, &t.Scopes, &t.Permissions, &t.ResourceOwner, &t.CreatedAt, &expires, &revoked)
	t.Type = usage.ActorType(typ)
	t.CreatedAt = t.CreatedAt.UTC()
	t.ExpiresAt = timeOf(expires)
	t.RevokedAt = timeOf(revoked)
	return &t, err
}

// TokenByHash finds the token whose hash is hash. The lookup is an index
// probe on the full hash; callers compare secrets only through hashes.
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (*usage.Token, error) {
	if len(hash) == 0 {
		return nil, usage.ErrNotFound
	}
	return queryOne(ctx, db, "token by hash", scanToken, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash)
}

// ListTokens lists a user's tokens, or all when userID is 0, by id.
func (db *DB) ListTokens(ctx context.Context, userID int64) ([]*usage.Token, error) {
	if userID == 0 {
		return queryAll(ctx, db, "list tokens", scanToken, `SELECT `+tokenCols+` FROM tokens ORDER BY id`)
	}
	return queryAll(ctx, db, "list tokens", scanToken,
		`SELECT `+tokenCols+` FROM tokens WHERE user_id = $1 ORDER BY id`, userID)
}

// RevokeToken marks a token revoked at at; a token already revoked keeps
// its first revocation time.
func (db *DB) RevokeToken(ctx context.Context, id int64, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, at.UTC())
	if err != nil {
		return wrap(err, "revoke token")
	}
	if tag.RowsAffected() == 0 {
		return usage.ErrNotFound
	}
	return nil
}
