package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/billing"
)

// BillingDayVersions reads the versions of a's days in [from, to) (see
// migrations/0020_billing_day_versions.sql): each grows with every write
// touching its day, committed with the write.
func (db *DB) BillingDayVersions(ctx context.Context, a billing.Account, from, to time.Time) ([]billing.DayVersion, error) {
	rs, err := db.pool.Query(ctx, `SELECT day, version FROM billing_day_versions
		WHERE account = $1 AND day >= $2 AND day < $3`, a.Key(), from.Unix(), to.Unix())
	if err != nil {
		return nil, wrap(err, "billing day versions")
	}
	var out []billing.DayVersion
	var day, v int64
	_, err = pgx.ForEachRow(rs, []any{&day, &v}, func() error {
		out = append(out, billing.DayVersion{Day: time.Unix(day, 0).UTC(), Version: v})
		return nil
	})
	return out, wrap(err, "billing day versions")
}

var _ billing.VersionStore = (*DB)(nil)
