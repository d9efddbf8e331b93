package sqlite

import (
	"context"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
)

// BillingVersion sums the versions of a's days in [from, to) (see
// migrations/0016_billing_day_versions.sql): it grows with every write
// touching one of those days.
func (db *DB) BillingVersion(ctx context.Context, a billing.Account, from, to time.Time) (int64, error) {
	var v int64
	err := db.reader.QueryRowContext(ctx, `SELECT COALESCE(SUM(version), 0) FROM billing_day_versions
		WHERE account = ? AND day >= ? AND day < ?`, a.Key(), from.Unix(), to.Unix()).Scan(&v)
	return v, err
}

var _ billing.VersionStore = (*DB)(nil)
