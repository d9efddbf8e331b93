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

// BillingIngest records the id keys (billing.IDKey) of the batch not
// seen before in billing_record_keys, appends those records to
// billing_record_chunks (a chunk per account and hour) and adds them to
// billing_row_packs and billing_day_totals, in one transaction; it
// returns once that has committed. The chunks and pack deltas are made
// before the write transaction, as if every record were new (the common
// case), so that a batch's Go work overlaps another batch's writing; they
// are made again from the new records when some were recorded before.
func (db *DB) BillingIngest(ctx context.Context, recs []billing.Record) (billing.IngestResult, error) {
	res := billing.IngestResult{Received: len(recs)}
	if len(recs) == 0 {
		return res, nil
	}
	keys, sorted, fresh := billing.SortedBatchKeys(recs)
	arrays := billingKeyArrays(sorted)
	chunks := billing.ChunkRecords(fresh)
	packs, days := billing.AggregatePacks(fresh)
	err := db.write(ctx, func(tx *sql.Tx) error {
		isNew, err := newBillingKeys(ctx, tx, sorted, arrays)
		if err != nil {
			return err
		}
		recorded := fresh
		if isNew != nil { // some were recorded before
			recorded = make([]billing.Record, 0, len(isNew))
			for i := range fresh {
				if isNew[keys[i]] {
					recorded = append(recorded, fresh[i])
				}
			}
		}
		res.Recorded, res.Duplicates = len(recorded), len(recs)-len(recorded)
		if len(recorded) == 0 {
			return nil
		}
		chunks, packs, days := chunks, packs, days
		if isNew != nil {
			chunks = billing.ChunkRecords(recorded)
			packs, days = billing.AggregatePacks(recorded)
		}
		err = chunked(ctx, tx, len(chunks), `INSERT INTO billing_record_chunks (account, hour, data) VALUES `, 3, ``,
			func(i int, args []any) []any {
				c := &chunks[i]
				return append(args, c.Account, c.Hour.Unix(), c.Data)
			}, nil)
		if err != nil {
			return err
		}
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

// billingKeyArrays makes the JSON arrays newBillingKeys inserts the
// sorted keys with, billingIDsPerStatement keys each (before the write
// transaction: this work overlaps another batch's writing), or nil when a
// key would not go through JSON unchanged.
func billingKeyArrays(sorted []string) []string {
	size := 0
	for _, k := range sorted {
		if !plainID(k) {
			return nil
		}
		size += len(k) + 3
	}
	var all strings.Builder
	all.Grow(size + 2*(len(sorted)/billingIDsPerStatement+1))
	var arrays []string
	var arr []byte
	for lo := 0; lo < len(sorted); lo += billingIDsPerStatement {
		hi := min(lo+billingIDsPerStatement, len(sorted))
		arr = append(arr[:0], '[')
		for i := lo; i < hi; i++ {
			if i > lo {
				arr = append(arr, ',')
			}
			arr = billing.AppendJSONString(arr, sorted[i])
		}
		arr = append(arr, ']')
		start := all.Len()
		all.Write(arr)
		arrays = append(arrays, all.String()[start:])
	}
	return arrays
}

// newBillingKeys inserts the keys (unique, sorted) into billing_record_keys
// in key order. It returns nil when none was there (the common case), else
// the set of those that were not. The keys go in as one JSON array per
// statement (json_each; arrays from billingKeyArrays), which costs far
// less than binding one variable per key, without RETURNING (which SQLite
// buffers) unless a statement inserted fewer keys than it carried: that
// statement is rolled back to a savepoint and run again returning the keys
// it inserts.
func newBillingKeys(ctx context.Context, tx *sql.Tx, sorted, arrays []string) (map[string]bool, error) {
	var isNew map[string]bool // nil while every key so far was new
	seenNew := func(lo int, got map[string]bool) {
		if isNew == nil {
			isNew = make(map[string]bool, len(sorted))
			for _, k := range sorted[:lo] {
				isNew[k] = true
			}
		}
		for k := range got {
			isNew[k] = true
		}
	}
	if arrays == nil && len(sorted) > 0 {
		// Control characters or invalid UTF-8 would not survive JSON
		// unchanged: one variable per key then.
		got := map[string]bool{}
		err := chunked(ctx, tx, len(sorted), `INSERT INTO billing_record_keys (k) VALUES `, 1,
			` ON CONFLICT (k) DO NOTHING RETURNING k`, func(i int, args []any) []any {
				return append(args, sorted[i])
			}, func(rs *sql.Rows) error {
				var k string
				if err := rs.Scan(&k); err != nil {
					return err
				}
				got[k] = true
				return nil
			})
		if err != nil || len(got) == len(sorted) {
			return nil, err
		}
		seenNew(0, got)
		return isNew, nil
	}
	const ins = `INSERT INTO billing_record_keys (k) SELECT value FROM json_each(?) WHERE true ON CONFLICT (k) DO NOTHING`
	st, err := tx.PrepareContext(ctx, ins)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	for a, arr := range arrays {
		lo := a * billingIDsPerStatement
		hi := min(lo+billingIDsPerStatement, len(sorted))
		if _, err := tx.ExecContext(ctx, `SAVEPOINT billing_keys`); err != nil {
			return nil, err
		}
		r, err := st.ExecContext(ctx, arr)
		if err != nil {
			return nil, err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return nil, err
		}
		if int(n) == hi-lo {
			if isNew != nil {
				for _, k := range sorted[lo:hi] {
					isNew[k] = true
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE billing_keys`); err != nil {
				return nil, err
			}
			continue
		}
		// Some were recorded before: which ones the RETURNING form says.
		for _, q := range []string{`ROLLBACK TO billing_keys`, `RELEASE billing_keys`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return nil, err
			}
		}
		got := map[string]bool{}
		rs, err := tx.QueryContext(ctx, ins+` RETURNING k`, arr)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var k string
			if err := rs.Scan(&k); err != nil {
				rs.Close()
				return nil, err
			}
			got[k] = true
		}
		if err := rs.Close(); err != nil {
			return nil, err
		}
		if err := rs.Err(); err != nil {
			return nil, err
		}
		seenNew(lo, got)
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

// billingIDsPerStatement is how many keys one json_each insert carries.
const billingIDsPerStatement = 5000

// billingIDKeyFunc is the SQL function billing_id_key(id): billing.IDKey.
// Migration 0018 builds billing_record_keys from the ids recorded before
// with it.
const billingIDKeyFunc = "billing_id_key"

func billingIDKeySQL(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	id, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("billing_id_key: the id is %T, not text", args[0])
	}
	return billing.IDKey(id), nil
}

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
	st, err := db.billingStmts(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := st.rows.QueryContext(ctx, q.Account.Key(), int(billing.PackLevel(&q)), q.From.Unix(), q.To.Unix())
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
	st, err := db.billingStmts(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := st.totals.QueryContext(ctx, a.Key(), from.Unix(), to.Unix())
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
