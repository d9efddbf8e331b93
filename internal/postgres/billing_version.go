package postgres

import (
	"context"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
)

// BillingVersion sums the versions of a's days in [from, to) (see
// migrations/0020_billing_day_versions.sql): it grows with every write
// touching one of those days, committed with the write.
func (db *DB) BillingVersion(ctx context.Context, a billing.Account, from, to time.Time) (int64, error) {
	var v int64
	err := db.pool.QueryRow(ctx, `SELECT COALESCE(SUM(version), 0)::bigint FROM billing_day_versions
		WHERE account = $1 AND day >= $2 AND day < $3`, a.Key(), from.Unix(), to.Unix()).Scan(&v)
	return v, wrap(err, "billing version")
}

var _ billing.VersionStore = (*DB)(nil)
