package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
)

var _ billing.ReportStore = (*DB)(nil)

// BillingCreateReport stores a new export.
func (db *DB) BillingCreateReport(ctx context.Context, r *billing.ReportExport) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO billing_reports (id, enterprise, report_type, start_date, end_date, status, files, actor, created_at, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Enterprise, r.Type, r.Start.String(), r.End.String(), r.Status,
			strings.Join(r.Files, "\n"), r.Actor, r.CreatedAt.Unix(), r.Error)
		return storeError(err, "report export")
	})
}

const reportColumns = `id, enterprise, report_type, start_date, end_date, status, files, actor, created_at, error`

func scanReports(rs *sql.Rows) ([]billing.ReportExport, error) {
	defer rs.Close()
	var out []billing.ReportExport
	for rs.Next() {
		var r billing.ReportExport
		var start, end, files string
		var created int64
		if err := rs.Scan(&r.ID, &r.Enterprise, &r.Type, &start, &end, &r.Status, &files, &r.Actor, &created, &r.Error); err != nil {
			return nil, err
		}
		r.Start, _ = billing.ParseDate(start)
		r.End, _ = billing.ParseDate(end)
		if files != "" {
			r.Files = strings.Split(files, "\n")
		}
		r.CreatedAt = time.Unix(created, 0).UTC()
		out = append(out, r)
	}
	return out, rs.Err()
}

// BillingReports lists an enterprise's exports, newest first.
func (db *DB) BillingReports(ctx context.Context, enterprise string) ([]billing.ReportExport, error) {
	rs, err := db.reader.QueryContext(ctx, `SELECT `+reportColumns+` FROM billing_reports WHERE enterprise = ? ORDER BY created_at DESC, id`, enterprise)
	if err != nil {
		return nil, err
	}
	return scanReports(rs)
}

// BillingReport returns one export.
func (db *DB) BillingReport(ctx context.Context, enterprise, id string) (*billing.ReportExport, error) {
	rs, err := db.reader.QueryContext(ctx, `SELECT `+reportColumns+` FROM billing_reports WHERE enterprise = ? AND id = ?`, enterprise, id)
	if err != nil {
		return nil, err
	}
	out, err := scanReports(rs)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, storeError(sql.ErrNoRows, "report export")
	}
	return &out[0], nil
}

// BillingPendingReports returns exports still processing, oldest first.
func (db *DB) BillingPendingReports(ctx context.Context, limit int) ([]billing.ReportExport, error) {
	rs, err := db.reader.QueryContext(ctx, `SELECT `+reportColumns+` FROM billing_reports WHERE status = ? ORDER BY created_at, id LIMIT ?`,
		billing.ReportProcessing, limit)
	if err != nil {
		return nil, err
	}
	return scanReports(rs)
}

// BillingFinishReport records an export's outcome.
func (db *DB) BillingFinishReport(ctx context.Context, id, status string, files []string, errMsg string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE billing_reports SET status = ?, files = ?, error = ? WHERE id = ?`,
			status, strings.Join(files, "\n"), errMsg, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return storeError(sql.ErrNoRows, "report export")
		}
		return nil
	})
}
