package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghusage/ghusage/internal/billing"
)

var _ billing.Store = (*DB)(nil)

// BillingIngest records the id keys (billing.IDKey) not seen before in
// billing_record_keys, appends their records to billing_record_chunks and
// adds them to billing_row_packs and billing_day_totals in one transaction
// (retried on a deadlock or serialization failure); it returns once that
// has committed. The chunks and pack deltas are made before the
// transaction as if every record were new, and again from the new ones
// when some were recorded before. A first attempt COPYs the keys without
// looking them up: a key recorded before (or by a concurrent batch, which
// the COPY waits for) fails it with a unique violation, and the next
// attempts look the keys up first.
func (db *DB) BillingIngest(ctx context.Context, recs []billing.Record) (billing.IngestResult, error) {
	res := billing.IngestResult{Received: len(recs)}
	if len(recs) == 0 {
		return res, nil
	}
	keys, sorted, fresh := billing.SortedBatchKeys(recs)
	in := &billingBatch{recs: fresh, keys: keys, sorted: sorted}
	in.chunks = billing.ChunkRecords(fresh)
	in.packs, in.days = billing.AggregatePacks(fresh)
	var err error
	for attempt := 0; ; attempt++ {
		err = db.inTx(ctx, "billing ingest", func(tx pgx.Tx) error {
			return billingIngestTx(ctx, tx, in, attempt > 0, &res)
		})
		var pe *pgconn.PgError
		if attempt < 10 && errors.As(err, &pe) && pe.Code == codeUniqueViolation && (pe.TableName == "billing_record_keys" || pe.ConstraintName == "billing_record_keys_pkey") {
			continue // recorded before, or a concurrent batch committed one of the keys: look them up
		}
		break
	}
	if err != nil {
		return billing.IngestResult{}, err
	}
	return res, nil
}

// billingBatch is a batch without repeats of an id, its keys in batch and
// in key order, and its chunks and pack and day deltas.
type billingBatch struct {
	recs         []billing.Record
	keys, sorted []string
	chunks       []billing.RecordChunk
	packs        []billing.PackDelta
	days         []billing.DayDelta
}

// billingIngestTx is one attempt of BillingIngest: with lookup, the keys
// already recorded are looked up first and their records left out (their
// chunks and deltas made again); the new keys are COPYed into
// billing_record_keys in key order, the records' chunks COPYed into
// billing_record_chunks and their deltas added to the packs and day totals.
func billingIngestTx(ctx context.Context, tx pgx.Tx, in *billingBatch, lookup bool, res *billing.IngestResult) error {
	b := in
	if lookup {
		rows, err := tx.Query(ctx, `SELECT k FROM billing_record_keys WHERE k = ANY($1::text[])`, in.sorted)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		var k string
		if _, err := pgx.ForEachRow(rows, []any{&k}, func() error { seen[k] = true; return nil }); err != nil {
			return err
		}
		if len(seen) > 0 {
			b = &billingBatch{}
			for i := range in.recs {
				if !seen[in.keys[i]] {
					b.recs, b.keys = append(b.recs, in.recs[i]), append(b.keys, in.keys[i])
				}
			}
			for _, k := range in.sorted {
				if !seen[k] {
					b.sorted = append(b.sorted, k)
				}
			}
			b.chunks = billing.ChunkRecords(b.recs)
			b.packs, b.days = billing.AggregatePacks(b.recs)
		}
	}
	res.Recorded, res.Duplicates = len(b.recs), res.Received-len(b.recs)
	if len(b.recs) == 0 {
		return nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"billing_record_keys"}, []string{"k"}, &keyRows{keys: b.sorted, i: -1}); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"billing_record_chunks"}, []string{"account", "hour", "data"},
		pgx.CopyFromSlice(len(b.chunks), func(i int) ([]any, error) {
			c := &b.chunks[i]
			return []any{c.Account, c.Hour.Unix(), c.Data}, nil
		})); err != nil {
		return err
	}
	if err := mergePacks(ctx, tx, b.packs); err != nil {
		return err
	}
	k := len(b.days)
	ta, tsku := make([]string, k), make([]string, k)
	tday, tq := make([]int64, k), make([]int64, k)
	tpub := make([]bool, k)
	for i, d := range b.days {
		ta[i], tday[i], tsku[i], tpub[i], tq[i] = d.Account, d.Day.Unix(), d.SKU, d.Public, int64(d.Quantity)
	}
	_, err := tx.Exec(ctx, `INSERT INTO billing_day_totals (account, day, sku, public, quantity)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::boolean[], $5::bigint[])
		ON CONFLICT (account, day, sku, public) DO UPDATE SET quantity = billing_day_totals.quantity + excluded.quantity`,
		ta, tday, tsku, tpub, tq)
	return err
}

// keyRows is the COPY source of the keys: one row value reused for all
// (pgx encodes each row before asking for the next).
type keyRows struct {
	keys []string
	i    int
	row  [1]any
}

func (r *keyRows) Next() bool { r.i++; return r.i < len(r.keys) }
func (r *keyRows) Values() ([]any, error) {
	r.row[0] = r.keys[r.i]
	return r.row[:], nil
}
func (r *keyRows) Err() error { return nil }

// mergePacks adds the pack deltas (sorted by key) to their packs: it
// creates the missing packs, locks the batch's packs in key order
// (concurrent batches touching the same packs wait for each other and
// never deadlock), merges and writes each back once.
func mergePacks(ctx context.Context, tx pgx.Tx, packs []billing.PackDelta) error {
	n := len(packs)
	accts, lvls, buckets := make([]string, n), make([]int16, n), make([]int64, n)
	for i, p := range packs {
		accts[i], lvls[i], buckets[i] = p.Account, int16(p.Level), p.Bucket.Unix()
	}
	if _, err := tx.Exec(ctx, `INSERT INTO billing_row_packs (account, lvl, bucket, data)
		SELECT a, l, b, '' FROM unnest($1::text[], $2::smallint[], $3::bigint[]) AS k(a, l, b)
		ON CONFLICT (account, lvl, bucket) DO NOTHING`, accts, lvls, buckets); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT p.account, p.lvl, p.bucket, p.data FROM billing_row_packs p
		JOIN unnest($1::text[], $2::smallint[], $3::bigint[]) AS k(a, l, b) ON p.account = k.a AND p.lvl = k.l AND p.bucket = k.b
		ORDER BY p.account, p.lvl, p.bucket FOR UPDATE OF p`, accts, lvls, buckets)
	if err != nil {
		return err
	}
	type key struct {
		acct   string
		lvl    int16
		bucket int64
	}
	old := make(map[key]string, n)
	var k key
	var data string
	if _, err := pgx.ForEachRow(rows, []any{&k.acct, &k.lvl, &k.bucket, &data}, func() error { old[k] = data; return nil }); err != nil {
		return err
	}
	datas := make([]string, n)
	for i := range packs {
		if datas[i], err = billing.MergePack(old[key{accts[i], lvls[i], buckets[i]}], &packs[i]); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, `UPDATE billing_row_packs p SET data = k.d
		FROM unnest($1::text[], $2::smallint[], $3::bigint[], $4::text[]) AS k(a, l, b, d)
		WHERE p.account = k.a AND p.lvl = k.l AND p.bucket = k.b`, accts, lvls, buckets, datas)
	return err
}

// BillingRows reads the packs of q's range (day item packs for a ByItem
// query), in bucket order, and unpacks the rows q's filters select.
func (db *DB) BillingRows(ctx context.Context, q billing.Query) ([]billing.Row, error) {
	rs, err := db.pool.Query(ctx, `SELECT bucket, data FROM billing_row_packs
		WHERE account = $1 AND lvl = $2 AND bucket >= $3 AND bucket < $4 ORDER BY bucket`,
		q.Account.Key(), int16(billing.PackLevel(&q)), q.From.Unix(), q.To.Unix())
	if err != nil {
		return nil, wrap(err, "billing rows")
	}
	var packs []billing.Pack
	var bucket int64
	var data string
	_, err = pgx.ForEachRow(rs, []any{&bucket, &data}, func() error {
		packs = append(packs, billing.Pack{Bucket: time.Unix(bucket, 0).UTC(), Data: data})
		return nil
	})
	if err != nil {
		return nil, wrap(err, "billing rows")
	}
	out, err := billing.UnpackAll(packs, &q)
	return out, wrap(err, "billing rows")
}

// BillingDayTotals reads an account's per-day totals in [from, to).
func (db *DB) BillingDayTotals(ctx context.Context, a billing.Account, from, to time.Time) ([]billing.DayTotal, error) {
	rs, err := db.pool.Query(ctx, `SELECT day, sku, public, quantity FROM billing_day_totals
		WHERE account = $1 AND day >= $2 AND day < $3`, a.Key(), from.Unix(), to.Unix())
	if err != nil {
		return nil, wrap(err, "billing day totals")
	}
	var out []billing.DayTotal
	var t billing.DayTotal
	var day, qty int64
	_, err = pgx.ForEachRow(rs, []any{&day, &t.SKU, &t.Public, &qty}, func() error {
		t.Day, t.Quantity = time.Unix(day, 0).UTC(), billing.Quantity(qty)
		out = append(out, t)
		return nil
	})
	return out, wrap(err, "billing day totals")
}

// BillingRecords streams the records q selects, by time then id: the
// chunks of each hour of the range, filtered and sorted an hour at a time.
func (db *DB) BillingRecords(ctx context.Context, q billing.Query, fn func(*billing.Record) error) error {
	rs, err := db.pool.Query(ctx, `SELECT hour, data FROM billing_record_chunks
		WHERE account = $1 AND hour >= $2 AND hour < $3 ORDER BY hour`,
		q.Account.Key(), q.From.Truncate(time.Hour).Unix(), q.To.Unix())
	if err != nil {
		return wrap(err, "billing records")
	}
	hour := int64(-1)
	var chunks []string
	var d int64
	var data string
	_, err = pgx.ForEachRow(rs, []any{&d, &data}, func() error {
		if d != hour && len(chunks) > 0 {
			if err := billing.RecordsOfHour(chunks, &q, fn); err != nil {
				return err
			}
			chunks = chunks[:0]
		}
		hour = d
		chunks = append(chunks, data)
		return nil
	})
	if err != nil {
		return wrap(err, "billing records")
	}
	return wrap(billing.RecordsOfHour(chunks, &q, fn), "billing records")
}

// BillingRecordPushes keeps each user's latest push per repository.
func (db *DB) BillingRecordPushes(ctx context.Context, pushes []billing.Push) error {
	if len(pushes) == 0 {
		return nil
	}
	// One row per key (the latest), in key order, so the upsert touches
	// each row once and concurrent writers lock in the same order.
	latest := map[[3]string]billing.Push{}
	for _, p := range pushes {
		k := [3]string{p.Account.Key(), p.Repository, p.Login}
		if old, ok := latest[k]; ok && !billing.PushNewer(p, billing.Committer{PushedAt: old.PushedAt, AuthorDate: old.AuthorDate}) {
			continue
		}
		latest[k] = p
	}
	var a, repo, login, org, email []string
	var ad, pa []int64
	for _, k := range sortedKeys(latest) {
		p := latest[k]
		a, repo, login, org, email = append(a, k[0]), append(repo, k[1]), append(login, k[2]), append(org, p.Organization), append(email, p.Email)
		ad, pa = append(ad, p.AuthorDate.UnixNano()), append(pa, p.PushedAt.UnixNano())
	}
	return db.inTx(ctx, "billing pushes", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO billing_committers AS c (account, repo, login, org, email, author_date, pushed_at)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])
			ON CONFLICT (account, repo, login) DO UPDATE SET org = excluded.org, email = excluded.email,
				author_date = excluded.author_date, pushed_at = excluded.pushed_at
			WHERE excluded.pushed_at > c.pushed_at OR (excluded.pushed_at = c.pushed_at AND excluded.author_date > c.author_date)`,
			a, repo, login, org, email, ad, pa)
		return err
	})
}

func sortedKeys(m map[[3]string]billing.Push) [][3]string {
	keys := make([][3]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ { // insertion sort: batches are small
		for j := i; j > 0 && less3(keys[j], keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func less3(a, b [3]string) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// BillingCommitters reads the committers whose latest push is at or after since.
func (db *DB) BillingCommitters(ctx context.Context, a billing.Account, org string, since time.Time) ([]billing.Committer, error) {
	q := `SELECT org, repo, login, email, author_date, pushed_at FROM billing_committers WHERE account = $1 AND pushed_at >= $2`
	args := []any{a.Key(), since.UnixNano()}
	if org != "" {
		q += " AND org = $3"
		args = append(args, org)
	}
	rs, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap(err, "billing committers")
	}
	var out []billing.Committer
	var c billing.Committer
	var ad, pa int64
	_, err = pgx.ForEachRow(rs, []any{&c.Organization, &c.Repository, &c.Login, &c.Email, &ad, &pa}, func() error {
		c.AuthorDate, c.PushedAt = time.Unix(0, ad).UTC(), time.Unix(0, pa).UTC()
		out = append(out, c)
		return nil
	})
	return out, wrap(err, "billing committers")
}
