package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
)

// SharedSecret returns the secret called name, generating size random
// bytes the first time it is asked for and keeping them in the database,
// so they survive restarts (and a backup carries them).
func (db *DB) SharedSecret(ctx context.Context, name string, size int) ([]byte, error) {
	v := make([]byte, size)
	rand.Read(v)
	var got []byte
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO shared_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", name, v); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT value FROM shared_secrets WHERE name = ?", name).Scan(&got)
	})
	return got, storeError(err, "secret")
}
