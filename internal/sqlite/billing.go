package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	msqlite "modernc.org/sqlite"

	"github.com/ghusage/ghusage/internal/billing"
)

var _ billing.Store = (*DB)(nil)

// BillingIngest records the ids of the batch not seen before in
// billing_record_ids, appends those records to billing_record_chunks (a
// chunk per account and hour) and adds them to billing_row_packs and
// billing_day_totals, in one transaction; it returns once that has
// committed. Ids go in as JSON arrays, chunks and day totals with multi-row statements.
func (db *DB) BillingIngest(ctx context.Context, recs []billing.Record) (billing.IngestResult, error) {
	res := billing.IngestResult{Received: len(recs)}
	if len(recs) == 0 {
		return res, nil
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		isNew, err := newBillingIDs(ctx, tx, recs)
		if err != nil {
			return err
		}
		fresh := make([]billing.Record, 0, len(isNew))
		for i := range recs {
			if isNew[recs[i].ID] {
				fresh = append(fresh, recs[i])
				delete(isNew, recs[i].ID) // a repeat within the batch counts once
			}
		}
		res.Recorded, res.Duplicates = len(fresh), len(recs)-len(fresh)
		if len(fresh) == 0 {
			return nil
		}
		chunks := billing.ChunkRecords(fresh)
		err = chunked(ctx, tx, len(chunks), `INSERT INTO billing_record_chunks (account, hour, data) VALUES `, 3, ``,
			func(i int, args []any) []any {
				c := &chunks[i]
				return append(args, c.Account, c.Hour.Unix(), c.Data)
			}, nil)
		if err != nil {
			return err
		}
		packs, days := billing.AggregatePacks(fresh)
		if err := mergePacks(ctx, tx, packs); err != nil {
			return err
		}
		return chunked(ctx, tx, len(days), `INSERT INTO billing_day_totals (account, day, sku, public, quantity) VALUES `, 5,
			` ON CONFLICT (account, day, sku, public) DO UPDATE SET quantity = quantity + excluded.quantity`,
			func(i int, args []any) []any {
				d := &days[i]
				return append(args, d.Account, d.Day.Unix(), d.SKU, d.Public, int64(d.Quantity))
			}, nil)
	})
	if err != nil {
		return billing.IngestResult{}, fmt.Errorf("billing ingest: %w", err)
	}
	return res, nil
}

// newBillingIDs inserts the batch's ids into billing_record_ids and
// returns those that were not there. The ids go in as one JSON array per
// statement (json_each), which costs far less than binding one variable
// per id.
func newBillingIDs(ctx context.Context, tx *sql.Tx, recs []billing.Record) (map[string]bool, error) {
	isNew := make(map[string]bool, len(recs))
	for i := range recs {
		if !plainID(recs[i].ID) {
			// Control characters or invalid UTF-8 would not survive JSON
			// unchanged: one variable per id then.
			err := chunked(ctx, tx, len(recs), `INSERT INTO billing_record_ids (id) VALUES `, 1,
				` ON CONFLICT (id) DO NOTHING RETURNING id`, func(i int, args []any) []any {
					return append(args, recs[i].ID)
				}, func(rs *sql.Rows) error {
					var id string
					if err := rs.Scan(&id); err != nil {
						return err
					}
					isNew[id] = true
					return nil
				})
			return isNew, err
		}
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO billing_record_ids (id) SELECT value FROM json_each(?) WHERE true
		ON CONFLICT (id) DO NOTHING RETURNING id`)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var arr []byte
	for lo := 0; lo < len(recs); lo += billingIDsPerStatement {
		arr = append(arr[:0], '[')
		for i := lo; i < min(lo+billingIDsPerStatement, len(recs)); i++ {
			if i > lo {
				arr = append(arr, ',')
			}
			arr = billing.AppendJSONString(arr, recs[i].ID)
		}
		arr = append(arr, ']')
		rs, err := st.QueryContext(ctx, string(arr))
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var id string
			if err := rs.Scan(&id); err != nil {
				rs.Close()
				return nil, err
			}
			isNew[id] = true
		}
		if err := rs.Close(); err != nil {
			return nil, err
		}
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	return isNew, nil
}

// plainID reports whether id goes through a JSON array unchanged.
func plainID(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 {
			return false
		}
	}
	return utf8.ValidString(id)
}

// billingIDsPerStatement is how many ids one json_each insert carries.
const billingIDsPerStatement = 5000

// mergePacks adds the pack deltas to billing_row_packs: each pack a batch
// touches is read, merged and written back once.
func mergePacks(ctx context.Context, tx *sql.Tx, packs []billing.PackDelta) error {
	get, err := tx.PrepareContext(ctx, `SELECT data FROM billing_row_packs WHERE account = ? AND lvl = ? AND bucket = ?`)
	if err != nil {
		return err
	}
	defer get.Close()
	put, err := tx.PrepareContext(ctx, `INSERT INTO billing_row_packs (account, lvl, bucket, data) VALUES (?, ?, ?, ?)
		ON CONFLICT (account, lvl, bucket) DO UPDATE SET data = excluded.data`)
	if err != nil {
		return err
	}
	defer put.Close()
	for i := range packs {
		d := &packs[i]
		var old string
		if err := get.QueryRowContext(ctx, d.Account, int(d.Level), d.Bucket.Unix()).Scan(&old); err != nil && err != sql.ErrNoRows {
			return err
		}
		data, err := billing.MergePack(old, d)
		if err != nil {
			return err
		}
		if _, err := put.ExecContext(ctx, d.Account, int(d.Level), d.Bucket.Unix(), data); err != nil {
			return err
		}
	}
	return nil
}

// billingVars is how many variables one multi-row statement of the
// billing ingest carries (well under SQLite's 32,766).
const billingVars = 8000

// chunked runs head + "(?, …), (?, …)" + tail for n rows of cols columns in
// statements of up to billingVars variables; row appends row i's arguments.
// scan, when not nil, reads the rows a RETURNING clause gives.
func chunked(ctx context.Context, tx *sql.Tx, n int, head string, cols int, tail string,
	row func(i int, args []any) []any, scan func(*sql.Rows) error) error {
	one := "(?" + strings.Repeat(", ?", cols-1) + ")"
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	per := max(1, billingVars/cols)
	args := make([]any, 0, min(n, per)*cols)
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		st := stmts[hi-lo]
		if st == nil {
			var err error
			if st, err = tx.PrepareContext(ctx, head+one+strings.Repeat(", "+one, hi-lo-1)+tail); err != nil {
				return err
			}
			stmts[hi-lo] = st
		}
		args = args[:0]
		for i := lo; i < hi; i++ {
			args = row(i, args)
		}
		if scan == nil {
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return err
			}
			continue
		}
		rs, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		for rs.Next() {
			if err := scan(rs); err != nil {
				rs.Close()
				return err
			}
		}
		if err := rs.Close(); err != nil {
			return err
		}
		if err := rs.Err(); err != nil {
			return err
		}
	}
	return nil
}

// BillingRows reads the packs of q's range (day item packs for a ByItem
// query), in bucket order, and unpacks the rows q's filters select (a
// product filter is q.SKUs: rows do not store the product).
func (db *DB) BillingRows(ctx context.Context, q billing.Query) ([]billing.Row, error) {
	rs, err := db.reader.QueryContext(ctx, `SELECT bucket, data FROM billing_row_packs
		WHERE account = ? AND lvl = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`,
		q.Account.Key(), int(billing.PackLevel(&q)), q.From.Unix(), q.To.Unix())
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var packs []billing.Pack
	for rs.Next() {
		var bucket int64
		var data string
		if err := rs.Scan(&bucket, &data); err != nil {
			return nil, err
		}
		packs = append(packs, billing.Pack{Bucket: time.Unix(bucket, 0).UTC(), Data: data})
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return billing.UnpackAll(packs, &q)
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

// BillingRecords streams the records q selects, by time then id: the
// chunks of each hour of the range, filtered and sorted an hour at a time.
func (db *DB) BillingRecords(ctx context.Context, q billing.Query, fn func(*billing.Record) error) error {
	from := q.From.Truncate(time.Hour).Unix()
	rs, err := db.reader.QueryContext(ctx, `SELECT hour, data FROM billing_record_chunks
		WHERE account = ? AND hour >= ? AND hour < ? ORDER BY hour`, q.Account.Key(), from, q.To.Unix())
	if err != nil {
		return err
	}
	defer rs.Close()
	var hour int64 = -1
	var chunks []string
	for rs.Next() {
		var d int64
		var data string
		if err := rs.Scan(&d, &data); err != nil {
			return err
		}
		if d != hour && len(chunks) > 0 {
			if err := billing.RecordsOfHour(chunks, &q, fn); err != nil {
				return err
			}
			chunks = chunks[:0]
		}
		hour = d
		chunks = append(chunks, data)
	}
	if err := rs.Err(); err != nil {
		return err
	}
	return billing.RecordsOfHour(chunks, &q, fn)
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

// billingItemPackFunc is the SQL function billing_item_pack(day pack):
// the day pack's item pack (billing.ItemPack). Migration 0015 builds the
// item packs of the days recorded before it with it.
const billingItemPackFunc = "billing_item_pack"

func billingItemPackSQL(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	var s string
	switch v := args[0].(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case nil:
		return "", nil
	default:
		return nil, fmt.Errorf("%s: not text: %T", billingItemPackFunc, v)
	}
	return billing.ItemPack(s)
}
