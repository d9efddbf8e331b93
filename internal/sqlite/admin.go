package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

var _ usage.AdminStore = (*DB)(nil)

// execOne runs an UPDATE of one row by id; no such row is KindNotFound.
func (db *DB) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := db.writer.ExecContext(ctx, query, args...)
	if err != nil {
		return storeError(err, what)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return &usage.Error{Kind: usage.KindNotFound, Message: "Not Found", Err: fmt.Errorf("%s not found", what)}
	}
	return nil
}

func (db *DB) RenameUser(ctx context.Context, id int64, login string) error {
	return db.execOne(ctx, "User", "UPDATE users SET login = ? WHERE id = ?", login, id)
}

func (db *DB) SetSiteAdmin(ctx context.Context, id int64, on bool) error {
	return db.execOne(ctx, "User", "UPDATE users SET site_admin = ? WHERE id = ?", on, id)
}

func (db *DB) SetSuspended(ctx context.Context, id int64, at time.Time) error {
	return db.execOne(ctx, "User", "UPDATE users SET suspended_at = ? WHERE id = ?", unixNano(at), id)
}

func (db *DB) RenameOrganization(ctx context.Context, id int64, login string) error {
	return db.execOne(ctx, "Organization", "UPDATE organizations SET login = ? WHERE id = ?", login, id)
}

// DeleteUser removes the user's memberships and tokens, then the user. A
// row of another family that still refers to the user (a foreign key)
// stops it with KindConflict, and nothing is removed.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM tokens WHERE user_id = ?",
			"DELETE FROM team_members WHERE user_id = ?",
			"DELETE FROM org_roles WHERE user_id = ?",
			"DELETE FROM enterprise_roles WHERE user_id = ?",
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM users WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &usage.Error{Kind: usage.KindNotFound, Message: "Not Found", Err: fmt.Errorf("user %d not found", id)}
		}
		return nil
	})
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
		return &usage.Error{Kind: usage.KindConflict, Message: "The user is still referred to by other records", Err: err}
	}
	return storeError(err, "User")
}
