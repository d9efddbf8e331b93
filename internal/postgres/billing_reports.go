package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/billing"
)

var _ billing.ReportStore = (*DB)(nil)

// BillingCreateReport stores a new export.
func (db *DB) BillingCreateReport(ctx context.Context, r *billing.ReportExport) error {
	files := r.Files
	if files == nil {
		files = []string{}
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO billing_reports (id, enterprise, report_type, start_date, end_date, status, files, actor, created_at, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, r.ID, r.Enterprise, r.Type, r.Start.String(), r.End.String(), r.Status,
		files, r.Actor, r.CreatedAt.Unix(), r.Error)
	return wrap(err, "create report export")
}

const reportColumns = `id, enterprise, report_type, start_date, end_date, status, files, actor, created_at, error`

func (db *DB) queryReports(ctx context.Context, what, q string, args ...any) ([]billing.ReportExport, error) {
	rs, err := db.pool.Query(ctx, `SELECT `+reportColumns+` FROM billing_reports `+q, args...)
	if err != nil {
		return nil, wrap(err, what)
	}
	var out []billing.ReportExport
	var r billing.ReportExport
	var start, end string
	var created int64
	_, err = pgx.ForEachRow(rs, []any{&r.ID, &r.Enterprise, &r.Type, &start, &end, &r.Status, &r.Files, &r.Actor, &created, &r.Error}, func() error {
		r.Start, _ = billing.ParseDate(start)
		r.End, _ = billing.ParseDate(end)
		r.CreatedAt = time.Unix(created, 0).UTC()
		if len(r.Files) == 0 {
			r.Files = nil
		}
		out = append(out, r)
		r.Files = nil
		return nil
	})
	return out, wrap(err, what)
}

// BillingReports lists an enterprise's exports, newest first.
func (db *DB) BillingReports(ctx context.Context, enterprise string) ([]billing.ReportExport, error) {
	return db.queryReports(ctx, "report exports", `WHERE enterprise = $1 ORDER BY created_at DESC, id`, enterprise)
}

// BillingReport returns one export.
func (db *DB) BillingReport(ctx context.Context, enterprise, id string) (*billing.ReportExport, error) {
	out, err := db.queryReports(ctx, "report export", `WHERE enterprise = $1 AND id = $2`, enterprise, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, wrap(pgx.ErrNoRows, "report export")
	}
	return &out[0], nil
}

// BillingPendingReports returns exports still processing, oldest first.
func (db *DB) BillingPendingReports(ctx context.Context, limit int) ([]billing.ReportExport, error) {
	return db.queryReports(ctx, "pending report exports", `WHERE status = $1 ORDER BY created_at, id LIMIT $2`, billing.ReportProcessing, limit)
}

// BillingFinishReport records an export's outcome.
func (db *DB) BillingFinishReport(ctx context.Context, id, status string, files []string, errMsg string) error {
	if files == nil {
		files = []string{}
	}
	tag, err := db.pool.Exec(ctx, `UPDATE billing_reports SET status = $2, files = $3, error = $4 WHERE id = $1`, id, status, files, errMsg)
	if err != nil {
		return wrap(err, "finish report export")
	}
	if tag.RowsAffected() == 0 {
		return wrap(pgx.ErrNoRows, "finish report export")
	}
	return nil
}
