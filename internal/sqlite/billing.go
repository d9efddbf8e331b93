package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
)

var _ billing.Store = (*DB)(nil)

// BillingIngest appends the records not seen before to billing_records
// and adds them to billing_rows and billing_day_totals, in one
// transaction; it returns once that has committed.
func (db *DB) BillingIngest(ctx context.Context, recs []billing.Record) (billing.IngestResult, error) {
	res := billing.IngestResult{Received: len(recs)}
	if len(recs) == 0 {
		return res, nil
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO billing_records (id, account, ts, product, sku, quantity, unit,
			enterprise, organization, repository, username, workflow_path, model, public)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		fresh := make([]billing.Record, 0, len(recs))
		for i := range recs {
			r := &recs[i]
			out, err := ins.ExecContext(ctx, r.ID, billing.AccountOf(r).Key(), r.Timestamp.UnixNano(), r.Product, r.SKU,
				int64(r.Quantity), r.Unit, r.Enterprise, r.Organization, r.Repository, r.Username, r.WorkflowPath, r.Model, r.Public)
			if err != nil {
				return err
			}
			if n, _ := out.RowsAffected(); n == 1 {
				fresh = append(fresh, *r)
			}
		}
		res.Recorded, res.Duplicates = len(fresh), len(recs)-len(fresh)
		if len(fresh) == 0 {
			return nil
		}
		rows, days := billing.Aggregate(fresh)
		up, err := tx.PrepareContext(ctx, `INSERT INTO billing_rows (account, lvl, bucket, sku, org, repo, username, model, public, quantity)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account, lvl, bucket, sku, org, repo, username, model, public) DO UPDATE SET quantity = quantity + excluded.quantity`)
		if err != nil {
			return err
		}
		defer up.Close()
		for _, d := range rows {
			if _, err := up.ExecContext(ctx, d.Account, int(d.Level), d.Bucket.Unix(), d.SKU, d.Organization, d.Repository,
				d.Username, d.Model, d.Public, int64(d.Quantity)); err != nil {
				return err
			}
		}
		upd, err := tx.PrepareContext(ctx, `INSERT INTO billing_day_totals (account, day, sku, public, quantity) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (account, day, sku, public) DO UPDATE SET quantity = quantity + excluded.quantity`)
		if err != nil {
			return err
		}
		defer upd.Close()
		for _, d := range days {
			if _, err := upd.ExecContext(ctx, d.Account, d.Day.Unix(), d.SKU, d.Public, int64(d.Quantity)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return billing.IngestResult{}, fmt.Errorf("billing ingest: %w", err)
	}
	return res, nil
}

// billingWhere is the WHERE clause (after account and range) of q's filters.
func billingWhere(q *billing.Query, cols [6]string) (string, []any) {
	var b strings.Builder
	var args []any
	add := func(col, v string, nocase bool) {
		if v == "" || col == "" {
			return
		}
		b.WriteString(" AND " + col + " = ?")
		if nocase {
			b.WriteString(" COLLATE NOCASE")
		}
		args = append(args, v)
	}
	add(cols[0], q.Organization, false)
	add(cols[1], q.Repository, false)
	add(cols[2], q.Username, false)
	add(cols[3], q.SKU, false)
	add(cols[4], q.Model, true)
	if q.Product != "" && cols[5] != "" {
		b.WriteString(" AND " + cols[5] + " = ?")
		args = append(args, q.Product)
	}
	return b.String(), args
}

// BillingRows reads the rows q selects (a product filter is q.SKUs: rows
// do not store the product).
func (db *DB) BillingRows(ctx context.Context, q billing.Query) ([]billing.Row, error) {
	where, args := billingWhere(&q, [6]string{"org", "repo", "username", "sku", "model", ""})
	if len(q.SKUs) > 0 {
		where += " AND sku IN (?" + strings.Repeat(", ?", len(q.SKUs)-1) + ")"
		for _, s := range q.SKUs {
			args = append(args, s)
		}
	}
	rs, err := db.reader.QueryContext(ctx, `SELECT bucket, sku, org, repo, username, model, public, quantity FROM billing_rows
		WHERE account = ? AND lvl = ? AND bucket >= ? AND bucket < ?`+where,
		append([]any{q.Account.Key(), int(q.Level), q.From.Unix(), q.To.Unix()}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []billing.Row
	for rs.Next() {
		var r billing.Row
		var bucket, qty int64
		if err := rs.Scan(&bucket, &r.SKU, &r.Organization, &r.Repository, &r.Username, &r.Model, &r.Public, &qty); err != nil {
			return nil, err
		}
		r.Bucket, r.Quantity = time.Unix(bucket, 0).UTC(), billing.Quantity(qty)
		out = append(out, r)
	}
	return out, rs.Err()
}

// BillingDayTotals reads an account's per-day totals in [from, to).
func (db *DB) BillingDayTotals(ctx context.Context, a billing.Account, from, to time.Time) ([]billing.DayTotal, error) {
	rs, err := db.reader.QueryContext(ctx, `SELECT day, sku, public, quantity FROM billing_day_totals
		WHERE account = ? AND day >= ? AND day < ?`, a.Key(), from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []billing.DayTotal
	for rs.Next() {
		var t billing.DayTotal
		var day, qty int64
		if err := rs.Scan(&day, &t.SKU, &t.Public, &qty); err != nil {
			return nil, err
		}
		t.Day, t.Quantity = time.Unix(day, 0).UTC(), billing.Quantity(qty)
		out = append(out, t)
	}
	return out, rs.Err()
}

// BillingRecords streams the records q selects, by time then id.
func (db *DB) BillingRecords(ctx context.Context, q billing.Query, fn func(*billing.Record) error) error {
	where, args := billingWhere(&q, [6]string{"organization", "repository", "username", "sku", "model", "product"})
	rs, err := db.reader.QueryContext(ctx, `SELECT id, ts, product, sku, quantity, unit, enterprise, organization, repository,
		username, workflow_path, model, public FROM billing_records
		WHERE account = ? AND ts >= ? AND ts < ?`+where+` ORDER BY ts, id`,
		append([]any{q.Account.Key(), q.From.UnixNano(), q.To.UnixNano()}, args...)...)
	if err != nil {
		return err
	}
	defer rs.Close()
	var r billing.Record
	for rs.Next() {
		var ts, qty int64
		if err := rs.Scan(&r.ID, &ts, &r.Product, &r.SKU, &qty, &r.Unit, &r.Enterprise, &r.Organization, &r.Repository,
			&r.Username, &r.WorkflowPath, &r.Model, &r.Public); err != nil {
			return err
		}
		r.Timestamp, r.Quantity = time.Unix(0, ts).UTC(), billing.Quantity(qty)
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rs.Err()
}

// BillingRecordPushes keeps each user's latest push per repository.
func (db *DB) BillingRecordPushes(ctx context.Context, pushes []billing.Push) error {
	if len(pushes) == 0 {
		return nil
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO billing_committers (account, repo, login, org, email, author_date, pushed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account, repo, login) DO UPDATE SET org = excluded.org, email = excluded.email,
				author_date = excluded.author_date, pushed_at = excluded.pushed_at
			WHERE excluded.pushed_at > billing_committers.pushed_at
				OR (excluded.pushed_at = billing_committers.pushed_at AND excluded.author_date > billing_committers.author_date)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, p := range pushes {
			if _, err := st.ExecContext(ctx, p.Account.Key(), p.Repository, p.Login, p.Organization, p.Email,
				p.AuthorDate.UnixNano(), p.PushedAt.UnixNano()); err != nil {
				return err
			}
		}
		return nil
	})
}

// BillingCommitters reads the committers whose latest push is at or after since.
func (db *DB) BillingCommitters(ctx context.Context, a billing.Account, org string, since time.Time) ([]billing.Committer, error) {
	q := `SELECT org, repo, login, email, author_date, pushed_at FROM billing_committers WHERE account = ? AND pushed_at >= ?`
	args := []any{a.Key(), since.UnixNano()}
	if org != "" {
		q += " AND org = ?"
		args = append(args, org)
	}
	rs, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []billing.Committer
	for rs.Next() {
		var c billing.Committer
		var ad, pa int64
		if err := rs.Scan(&c.Organization, &c.Repository, &c.Login, &c.Email, &ad, &pa); err != nil {
			return nil, err
		}
		c.AuthorDate, c.PushedAt = time.Unix(0, ad).UTC(), time.Unix(0, pa).UTC()
		out = append(out, c)
	}
	return out, rs.Err()
}
