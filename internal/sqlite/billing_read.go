package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// billingReads are the statements of the billing answers' reads, prepared
// once on the reader pool (database/sql prepares each on a connection the
// first time it runs there and keeps it): a cold answer runs a few of
// them, and parsing each again was a tenth of its time.
type billingReads struct {
	once                   sync.Once
	err                    error
	rows, totals, versions *sql.Stmt
}

const (
	billingRowsSQL = `SELECT bucket, data FROM billing_row_packs
		WHERE account = ? AND lvl = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`
	billingTotalsSQL = `SELECT day, sku, public, quantity FROM billing_day_totals
		WHERE account = ? AND day >= ? AND day < ?`
	billingVersionsSQL = `SELECT day, version FROM billing_day_versions
		WHERE account = ? AND day >= ? AND day < ?`
)

// billingStmts returns the prepared read statements.
func (db *DB) billingStmts() (*billingReads, error) {
	r := &db.billingReads
	r.once.Do(func() {
		ctx := context.Background() // not the first request's: the statements outlive it
		for _, s := range []struct {
			st  **sql.Stmt
			sql string
		}{{&r.rows, billingRowsSQL}, {&r.totals, billingTotalsSQL}, {&r.versions, billingVersionsSQL}} {
			if *s.st, r.err = db.reader.PrepareContext(ctx, s.sql); r.err != nil {
				return
			}
		}
	})
	return r, r.err
}
