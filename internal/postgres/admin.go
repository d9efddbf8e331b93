package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghusage/ghusage/internal/usage"
)

var _ usage.AdminStore = (*DB)(nil)

// execOne runs an UPDATE of one row; no such row is KindNotFound.
func (db *DB) execOne(ctx context.Context, what, sql string, args ...any) error {
	tag, err := db.pool.Exec(ctx, sql, args...)
	if err != nil {
		return wrap(err, what)
	}
	if tag.RowsAffected() == 0 {
		return &usage.Error{Kind: usage.KindNotFound, Message: "Not Found", Err: fmt.Errorf("%s: no such row", what)}
	}
	return nil
}

// RenameUser changes a user's login.
func (db *DB) RenameUser(ctx context.Context, id int64, login string) error {
	return db.execOne(ctx, "rename user", `UPDATE users SET login = $1 WHERE id = $2`, login, id)
}

// SetSiteAdmin promotes or demotes a user.
func (db *DB) SetSiteAdmin(ctx context.Context, id int64, on bool) error {
	return db.execOne(ctx, "set site admin", `UPDATE users SET site_admin = $1 WHERE id = $2`, on, id)
}

// SetSuspended suspends a user from at, or unsuspends it (zero at).
func (db *DB) SetSuspended(ctx context.Context, id int64, at time.Time) error {
	return db.execOne(ctx, "suspend user", `UPDATE users SET suspended_at = $1 WHERE id = $2`, nullTime(at), id)
}

// RenameOrganization changes an organization's login.
func (db *DB) RenameOrganization(ctx context.Context, id int64, login string) error {
	return db.execOne(ctx, "rename organization", `UPDATE organizations SET login = $1 WHERE id = $2`, login, id)
}

// DeleteUser removes the user's memberships and tokens, then the user, in
// one transaction. A row of another family that still refers to the user
// stops it with KindConflict, and nothing is removed.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	err := db.inTx(ctx, "delete user", func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM tokens WHERE user_id = $1`,
			`DELETE FROM team_members WHERE user_id = $1`,
			`DELETE FROM org_members WHERE user_id = $1`,
			`DELETE FROM enterprise_members WHERE user_id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return &usage.Error{Kind: usage.KindNotFound, Message: "Not Found", Err: fmt.Errorf("user %d not found", id)}
		}
		return nil
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeForeignKeyViolation {
		return &usage.Error{Kind: usage.KindConflict, Message: "The user is still referred to by other records", Err: err}
	}
	return err
}
