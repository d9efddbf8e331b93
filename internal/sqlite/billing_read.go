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
	mu                     sync.Mutex
	rows, totals, versions *sql.Stmt // set together once, then never changed
}

const (
	billingRowsSQL = `SELECT bucket, data FROM billing_row_packs
		WHERE account = ? AND lvl = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`
	billingTotalsSQL = `SELECT day, sku, public, quantity FROM billing_day_totals
		WHERE account = ? AND day >= ? AND day < ?`
	billingVersionsSQL = `SELECT day, version FROM billing_day_versions
		WHERE account = ? AND day >= ? AND day < ?`
)

// billingStmts returns the prepared read statements, preparing them on
// first use (again after a failure) under ctx, which bounds only the
// preparing (database/sql runs a prepared statement under each
// execution's own context), so a busy database delays the first reads no
// longer than their requests allow.
func (db *DB) billingStmts(ctx context.Context) (*billingReads, error) {
	r := &db.billingReads
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rows != nil {
		return r, nil
	}
	var st [3]*sql.Stmt
	for i, q := range [3]string{billingRowsSQL, billingTotalsSQL, billingVersionsSQL} {
		var err error
		if st[i], err = db.reader.PrepareContext(ctx, q); err != nil {
			for _, s := range st[:i] {
				s.Close()
			}
			return nil, err
		}
	}
	r.rows, r.totals, r.versions = st[0], st[1], st[2]
	return r, nil
}
