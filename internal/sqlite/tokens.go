package sqlite

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

func (db *DB) CreateToken(ctx context.Context, t *usage.Token) error {
	scopes := "[]"
	if len(t.Scopes) > 0 {
		scopes = jsonText(t.Scopes)
	}
	return db.insertID(ctx, "Token", &t.ID, `INSERT INTO tokens (id, type, hash, last_eight, user_id, oauth_app_id, app_id,
		installation_id, note, scopes, permissions, resource_owner, created_at, expires_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		string(t.Type), t.Hash, t.LastEight, t.UserID, t.OAuthAppID, t.AppID, t.InstallationID, t.Note,
		scopes, jsonText(t.Permissions), t.ResourceOwner, unixNano(t.CreatedAt), unixNano(t.ExpiresAt), unixNano(t.RevokedAt))
}

const tokenColumns = `SELECT id, type, hash, last_eight, user_id, oauth_app_id, app_id, installation_id, note, scopes,
	permissions, resource_owner, created_at, expires_at, revoked_at FROM tokens`

func scanToken(row interface{ Scan(...any) error }) (*usage.Token, error) {
	t := &usage.Token{}
	var typ, scopes, perms string
	var created, expires, revoked int64
	if err := row.Scan(&t.ID, &typ, &t.Hash, &t.LastEight, &t.UserID, &t.OAuthAppID, &t.AppID, &t.InstallationID,
		&t.Note, &scopes, &perms, &t.ResourceOwner, &created, &expires, &revoked); err != nil {
		return nil, storeError(err, "Token")
	}
	t.Type = usage.ActorType(typ)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromNano(created), fromNano(expires), fromNano(revoked)
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return nil, err
	}
	if len(t.Scopes) == 0 {
		t.Scopes = nil
	}
	return t, json.Unmarshal([]byte(perms), &t.Permissions)
}

func (db *DB) TokenByHash(ctx context.Context, hash []byte) (*usage.Token, error) {
	return scanToken(db.reader.QueryRowContext(ctx, tokenColumns+" WHERE hash = ?", hash))
}

func (db *DB) ListTokens(ctx context.Context, userID int64) ([]*usage.Token, error) {
	if userID != 0 {
		return list(ctx, db.reader, scanToken, tokenColumns+" WHERE user_id = ? ORDER BY id", userID)
	}
	return list(ctx, db.reader, scanToken, tokenColumns+" ORDER BY id")
}

func (db *DB) RevokeToken(ctx context.Context, id int64, at time.Time) error {
	res, err := db.writer.ExecContext(ctx, "UPDATE tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END WHERE id = ?",
		unixNano(at), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &usage.Error{Kind: usage.KindNotFound, Message: "Not Found"}
	}
	return nil
}
