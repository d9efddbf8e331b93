package sqlite

import (
	"context"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
)

// BillingDayVersions reads the versions of a's days in [from, to) (see
// migrations/0016_billing_day_versions.sql): each grows with every write
// touching its day.
func (db *DB) BillingDayVersions(ctx context.Context, a billing.Account, from, to time.Time) ([]billing.DayVersion, error) {
	st, err := db.billingStmts(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := st.versions.QueryContext(ctx, a.Key(), from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []billing.DayVersion
	for rs.Next() {
		var day, v int64
		if err := rs.Scan(&day, &v); err != nil {
			return nil, err
		}
		out = append(out, billing.DayVersion{Day: time.Unix(day, 0).UTC(), Version: v})
	}
	return out, rs.Err()
}

var _ billing.VersionStore = (*DB)(nil)
