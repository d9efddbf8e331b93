package postgres

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghusage/ghusage/internal/insights"
)

// How a table's rows of a batch are written. A plain INSERT of a new row
// costs PostgreSQL about half of INSERT … ON CONFLICT DO UPDATE, and COPY
// less than either; lists merged by an SQL function (insights_merge)
// cost far more than merging them in Go. So rows are COPYed wherever
// none is stored for their bucket, and stored rows are updated with
// lists merged here (writePacked):
//
//  1. the rows already stored are read and locked (SELECT … FOR UPDATE,
//     in key order);
//  2. each is replaced by its sum with the batch's row;
//  3. the other rows are COPYed in, inside a savepoint.
//
// A row another transaction inserted between steps 1 and 3 fails the COPY
// with a unique violation once that transaction commits (its insert made
// the COPY wait): the savepoint is rolled back and the rows still to
// write go through the steps again, now finding that row stored.
//
// Within a table, stored rows are locked in key order before any row is
// inserted, and inserts go in key order; tables are written in
// writeRollup's order. So two batches never wait for each other in a
// cycle there (a deadlock would still be retried by inTx).

// maxCopyRetries bounds the rounds of writePacked for one table.
const maxCopyRetries = 20

// packedTable describes one roll-up table for writePacked: its key column
// after the organization ("" for none), its entry list columns ("" for
// none: insights_r_org), the bigint[] one of builds before migration 0026
// and the bytea one (listCol + "_v", see insights_hourlists.go) lists are
// written to now, and whether to write the bigint[] one instead, as
// builds before migration 0026 did (legacyFold, for tests).
type packedTable struct {
	name, keyCol, listCol string
	arrays                bool
}

var (
	tableOrg      = packedTable{name: "insights_r_org"}
	tableSubjects = packedTable{name: "insights_p_subjects", listCol: "subjects"}
	tableActor    = packedTable{name: "insights_p_actor", keyCol: "actor", listCol: "routes"}
	tableUser     = packedTable{name: "insights_p_user", keyCol: "user_id", listCol: "actors"}
)

// varCol is the bytea list column of t (migration 0026).
func (t packedTable) varCol() string { return t.listCol + listVarSuffix }

// listVarSuffix names a table's bytea entry list column after its
// bigint[] one.
const listVarSuffix = "_v"

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// storedRow is a row of a packed table read back for an update.
type storedRow struct {
	total, rl int64
	list      []int64
	// an hour row of a folded table: its minutes and detail lists (nil:
	// none), read when the batch's rows carry them
	minutes, detail []int64
}

// tableRows are a batch's rows of one table, and (after writeInner)
// those still to write.
type tableRows struct {
	t    packedTable
	r    *packedRows
	todo []int
}

// copyLockTimeout is how long writeInner's COPY waits for another
// transaction's insert of the same row before leaving its rows to
// writePacked.
const copyLockTimeout = "100ms"

// writeInner COPYs each table's rows that are not edge rows (see
// edgeRows) without looking for each stored one, and sets each set's todo
// to the rows left: its edge rows, or all of them when a sample of them
// was stored (see anyStored), or the COPY met a stored row or waited
// longer than copyLockTimeout.
func writeInner(ctx context.Context, tx pgx.Tx, sets []tableRows) error {
	inners := make([][]int, len(sets))
	for i := range sets {
		s := &sets[i]
		edge, inner := edgeRows(s.r)
		s.todo = edge
		if len(inner) == 0 {
			continue
		}
		// looked for before lock_timeout is set: a statement failing
		// outside a savepoint would abort the transaction
		stored, err := anyStored(ctx, tx, s.t, s.r, inner)
		if err != nil {
			return err
		}
		if stored {
			s.todo = allRows(s.r)
		} else {
			inners[i] = inner
		}
	}
	var prev string
	if err := tx.QueryRow(ctx, `SELECT current_setting('lock_timeout'), set_config('lock_timeout', $1, true)`, copyLockTimeout).Scan(&prev, nil); err != nil {
		return err
	}
	for i, inner := range inners {
		if len(inner) == 0 {
			continue
		}
		err := copyFresh(ctx, tx, sets[i].t, sets[i].r, inner)
		if err == nil {
			continue
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || (pe.Code != "23505" && pe.Code != "55P03") {
			return err
		}
		sets[i].todo = allRows(sets[i].r)
	}
	_, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`, prev)
	return err
}

// allRows returns the indexes of all of r's rows.
func allRows(r *packedRows) []int {
	out := make([]int, len(r.org))
	for i := range out {
		out[i] = i
	}
	return out
}

// sampleRows is how many of a table's inner rows anyStored looks for.
const sampleRows = 16

// anyStored reports whether t holds a row for one of up to sampleRows of
// rows (indexes into r) spread over them. Live traffic, whose batches
// cover the buckets of the ones before, so finds its rows stored without
// a COPY failing first; a backfill finds none.
func anyStored(ctx context.Context, tx pgx.Tx, t packedTable, r *packedRows, rows []int) (bool, error) {
	var org []string
	var key, bucket []int64
	var lvl []int16
	for j := range min(sampleRows, len(rows)) {
		i := rows[j*len(rows)/min(sampleRows, len(rows))]
		org, key, lvl, bucket = append(org, r.org[i]), append(key, r.key[i]), append(lvl, r.lvl[i]), append(bucket, r.bucket[i])
	}
	_, join := keyCols(t)
	var found bool
	err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT EXISTS (SELECT FROM unnest($1::text[], $2::bigint[], $3::smallint[], $4::bigint[]) AS u(org, k, lvl, bucket)
		JOIN %s t ON %s)`, t.name, join), org, key, lvl, bucket).Scan(&found)
	return found, err
}

// writePacked adds the rows todo (indexes into r, ascending: in key
// order) of r to table t.
func writePacked(ctx context.Context, tx pgx.Tx, t packedTable, r *packedRows, todo []int) error {
	for round := 0; len(todo) > 0; round++ {
		if round == maxCopyRetries {
			return fmt.Errorf("%s: rows still conflicting after %d rounds", t.name, round)
		}
		stored, err := lockStored(ctx, tx, t, r, todo)
		if err != nil {
			return err
		}
		if err := updateStored(ctx, tx, t, r, stored); err != nil {
			return err
		}
		fresh := todo[:0:0]
		for _, i := range todo {
			if _, ok := stored[i]; !ok {
				fresh = append(fresh, i)
			}
		}
		if len(fresh) == 0 {
			return nil
		}
		err = copyFresh(ctx, tx, t, r, fresh)
		if err == nil {
			return nil
		}
		if !isUniqueViolation(err) {
			return err
		}
		todo = fresh
	}
	return nil
}

// edgeRows splits r's rows (by index, ascending) into those whose bucket
// is the first or the last of its level in r, the rows a batch most
// likely shares with others (the one before and the one after it in
// time, or, for live traffic, all of them), and the others.
func edgeRows(r *packedRows) (edge, inner []int) {
	type span struct{ lo, hi int64 }
	spans := map[int16]span{}
	for i, l := range r.lvl {
		b := r.bucket[i]
		if s, ok := spans[l]; !ok {
			spans[l] = span{b, b}
		} else {
			spans[l] = span{min(s.lo, b), max(s.hi, b)}
		}
	}
	for i, l := range r.lvl {
		if s := spans[l]; r.bucket[i] == s.lo || r.bucket[i] == s.hi {
			edge = append(edge, i)
		} else {
			inner = append(inner, i)
		}
	}
	return edge, inner
}

// keyCols returns "org, <keyCol>, lvl, bucket" for t, and the join of the
// table (alias t) with the key columns of u on them.
func keyCols(t packedTable) (cols, join string) {
	cols, join = "org, lvl, bucket", "t.org = u.org AND t.lvl = u.lvl AND t.bucket = u.bucket"
	if t.keyCol != "" {
		cols = "org, " + t.keyCol + ", lvl, bucket"
		join += " AND t." + t.keyCol + " = u.k"
	}
	return cols, join
}

// lockStored reads and locks, in key order, the rows of t that hold a
// bucket of r's rows todo, keyed by index into r.
func lockStored(ctx context.Context, tx pgx.Tx, t packedTable, r *packedRows, probe []int) (map[int]storedRow, error) {
	n := len(probe)
	if n == 0 {
		return nil, nil
	}
	org, key, lvl, bucket := make([]string, n), make([]int64, n), make([]int16, n), make([]int64, n)
	for j, i := range probe {
		org[j], key[j], lvl[j], bucket[j] = r.org[i], r.key[i], r.lvl[i], r.bucket[i]
	}
	_, join := keyCols(t)
	list := "NULL::bigint[], NULL::bytea"
	if t.listCol != "" {
		list = "t." + t.listCol + ", t." + t.varCol()
	}
	if r.hasHourLists() {
		list += ", t." + hourMinutesCol + ", t." + hourDetailCol
	}
	q := fmt.Sprintf(`SELECT u.i, t.total, t.rl, %[2]s
		FROM unnest($1::text[], $2::bigint[], $3::smallint[], $4::bigint[]) WITH ORDINALITY AS u(org, k, lvl, bucket, i)
		JOIN %[1]s t ON %[3]s
		ORDER BY u.i FOR UPDATE OF t`, t.name, list, join)
	rows, err := tx.Query(ctx, q, org, key, lvl, bucket)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stored := map[int]storedRow{}
	for rows.Next() {
		var i int64
		var s storedRow
		dest := []any{&i, &s.total, &s.rl, nil, nil, nil, nil}
		if err := rows.Scan(dest[:len(rows.FieldDescriptions())]...); err != nil {
			return nil, err
		}
		if i < 1 || int(i) > n {
			return nil, fmt.Errorf("%s: row %d of %d", t.name, i, n)
		}
		if s.list, err = readEntryLists(rows, 3, r.bucket[probe[i-1]], nil); err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		if r.hasHourLists() {
			i := probe[i-1]
			for c, l := range []*[]int64{&s.minutes, &s.detail} {
				raw, err := byteaColumn(rows, 5+c)
				if err == nil && raw != nil {
					*l, err = appendHourEntries(nil, raw, r.bucket[i])
				}
				if err != nil {
					return nil, fmt.Errorf("%s: %w", t.name, err)
				}
			}
		}
		stored[probe[i-1]] = s
	}
	return stored, rows.Err()
}

// byteaColumn returns the bytea in column c of rows' current row, in
// place (nil for NULL).
func byteaColumn(rows pgx.Rows, c int) ([]byte, error) {
	if fd := rows.FieldDescriptions()[c]; fd.Format != pgx.BinaryFormatCode {
		return nil, fmt.Errorf("bytea column %d in text format", c)
	}
	return rows.RawValues()[c], nil
}

// int8ArrayColumn returns the bigint[] in column c of rows' current row
// appended to dst (nothing for NULL), read in place from its binary form when it has one.
func int8ArrayColumn(rows pgx.Rows, c int, dst []int64) ([]int64, error) {
	if fd := rows.FieldDescriptions()[c]; fd.Format == pgx.BinaryFormatCode && fd.DataTypeOID == int8ArrayOID {
		return appendInt8Array(dst, rows.RawValues()[c])
	}
	vals, err := rows.Values()
	if err != nil {
		return nil, err
	}
	out := dst
	switch v := vals[c].(type) {
	case nil:
	case []any:
		for _, x := range v {
			n, ok := x.(int64)
			if !ok {
				return nil, fmt.Errorf("bigint[] holding %T", x)
			}
			out = append(out, n)
		}
	default:
		return nil, fmt.Errorf("bigint[] read as %T", v)
	}
	return out, nil
}

// updateStored replaces each stored row with its sum with r's row.
func updateStored(ctx context.Context, tx pgx.Tx, t packedTable, r *packedRows, stored map[int]storedRow) error {
	if len(stored) == 0 {
		return nil
	}
	idx := slices.Sorted(func(yield func(int) bool) {
		for i := range stored {
			if !yield(i) {
				return
			}
		}
	})
	n := len(idx)
	org, key, lvl, bucket := make([]string, n), make([]int64, n), make([]int16, n), make([]int64, n)
	total, rl, start, end := make([]int64, n), make([]int64, n), make([]int32, n), make([]int32, n)
	var flat []int64
	var lists [][]byte // the merged lists as bytea (unless t.arrays)
	if t.listCol != "" && !t.arrays {
		lists = make([][]byte, n)
	}
	var enc []byte
	ends := make([]int, 0, len(lists))
	hour := r.hasHourLists()
	var mins, detail [][]byte
	if hour {
		mins, detail = make([][]byte, n), make([][]byte, n)
	}
	var tmp []int64
	// mergeList returns the encoded merge of a stored list and the
	// batch's [s, e] of from (nil, NULL, when both are empty)
	mergeList := func(a, from []int64, s, e int32, bucket int64, byMinute bool) []byte {
		var b []int64
		if s > 0 {
			b = from[s-1 : e]
		}
		if len(a) == 0 && len(b) == 0 {
			return nil
		}
		tmp = mergeEntries(tmp[:0], a, b, byMinute)
		return appendHourList(nil, tmp, bucket)
	}
	for j, i := range idx {
		s := stored[i]
		org[j], key[j], lvl[j], bucket[j] = r.org[i], r.key[i], r.lvl[i], r.bucket[i]
		total[j], rl[j] = s.total+r.total[i], s.rl+r.rl[i]
		start[j] = int32(len(flat) + 1)
		byMinute := r.lvl[i] == lvlMinuteDetail && foldedTable(t.name)
		switch {
		case lists != nil:
			tmp = mergeEntries(tmp[:0], s.list, r.flat[r.start[i]-1:r.end[i]], byMinute)
			enc = appendHourList(enc, tmp, r.bucket[i])
			ends = append(ends, len(enc))
		case t.listCol != "":
			flat = mergeEntries(flat, s.list, r.flat[r.start[i]-1:r.end[i]], byMinute)
		}
		end[j] = int32(len(flat))
		if hour {
			mins[j] = mergeList(s.minutes, r.mflat, r.mstart[i], r.mend[i], r.bucket[i], false)
			detail[j] = mergeList(s.detail, r.dflat, r.dstart[i], r.dend[i], r.bucket[i], true)
		}
	}
	prev := 0
	for j := range lists {
		lists[j] = enc[prev:ends[j]:ends[j]]
		prev = ends[j]
	}
	_, join := keyCols(t)
	set := "total = u.total, rl = u.rl"
	cols, from := "org, k, lvl, bucket, total, rl, s, e", "$1::text[], $2::bigint[], $3::smallint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::int[], $8::int[]"
	switch {
	case lists != nil:
		set += fmt.Sprintf(", %s = NULL, %s = u.l", t.listCol, t.varCol())
		cols += ", l"
		from += ", $9::bytea[]"
	case t.listCol != "":
		set += fmt.Sprintf(", %s = ($9::bigint[])[u.s:u.e], %s = NULL", t.listCol, t.varCol())
	}
	if hour {
		set += fmt.Sprintf(", %s = u.m, %s = u.d", hourMinutesCol, hourDetailCol)
		cols += ", m, d"
		from += ", $10::bytea[], $11::bytea[]"
	}
	q := fmt.Sprintf(`UPDATE %[1]s t SET %[2]s
		FROM unnest(%[4]s)
			AS u(%[5]s)
		WHERE %[3]s`, t.name, set, join, from, cols)
	args := []any{org, key, lvl, bucket, total, rl, start, end}
	switch {
	case lists != nil:
		args = append(args, lists)
	case t.listCol != "":
		if flat == nil {
			flat = []int64{}
		}
		args = append(args, flat)
	}
	if hour {
		args = append(args, mins, detail)
	}
	tag, err := tx.Exec(ctx, q, args...)
	if err == nil && tag.RowsAffected() != int64(n) {
		err = fmt.Errorf("%s: updated %d of %d locked rows", t.name, tag.RowsAffected(), n)
	}
	return err
}

// copyFresh COPYs r's rows fresh into t inside a savepoint, rolled back
// when the COPY fails.
func copyFresh(ctx context.Context, tx pgx.Tx, t packedTable, r *packedRows, fresh []int) error {
	cols := []string{"org"}
	if t.keyCol != "" {
		cols = append(cols, t.keyCol)
	}
	cols = append(cols, "lvl", "bucket", "total", "rl")
	switch {
	case t.listCol != "" && t.arrays:
		cols = append(cols, t.listCol)
	case t.listCol != "":
		cols = append(cols, t.varCol())
	}
	hour := r.hasHourLists()
	if hour {
		cols = append(cols, hourMinutesCol, hourDetailCol)
	}
	var b copyBuf
	per := 12
	if !t.arrays {
		per = 3
	}
	b.start(len(fresh) * (64 + per*len(r.flat)/max(1, len(r.org))))
	for _, i := range fresh {
		b.tuple(len(cols))
		b.text(r.org[i])
		if t.keyCol != "" {
			b.int64(r.key[i])
		}
		b.int16(r.lvl[i])
		b.int64(r.bucket[i])
		b.int64(r.total[i])
		b.int64(r.rl[i])
		switch {
		case t.listCol != "" && t.arrays:
			b.int8Array(r.flat[r.start[i]-1 : r.end[i]])
		case t.listCol != "":
			b.hourList(r.flat[r.start[i]-1:r.end[i]], r.bucket[i])
		}
		if hour {
			b.hourListOrNull(r.mflat, r.mstart[i], r.mend[i], r.bucket[i])
			b.hourListOrNull(r.dflat, r.dstart[i], r.dend[i], r.bucket[i])
		}
	}
	return copyInSavepoint(ctx, tx, t.name, cols, b.finish())
}

// copyBuf builds the data of a COPY … FROM STDIN (FORMAT binary): pgx's
// generic CopyFrom encodes every value through its type map, which cost
// ingest about a microsecond of CPU per row.
type copyBuf struct{ b []byte }

// copyHeader is the binary COPY signature, flags and header extension length.
const copyHeader = "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"

func (c *copyBuf) start(size int) {
	c.b = append(make([]byte, 0, len(copyHeader)+size+2), copyHeader...)
}

// tuple starts a row of n fields.
func (c *copyBuf) tuple(n int) { c.b = binary.BigEndian.AppendUint16(c.b, uint16(n)) }

func (c *copyBuf) int64(v int64) {
	c.b = binary.BigEndian.AppendUint32(c.b, 8)
	c.b = binary.BigEndian.AppendUint64(c.b, uint64(v))
}

func (c *copyBuf) int16(v int16) {
	c.b = binary.BigEndian.AppendUint32(c.b, 2)
	c.b = binary.BigEndian.AppendUint16(c.b, uint16(v))
}

func (c *copyBuf) text(s string) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(s)))
	c.b = append(c.b, s...)
}

func (c *copyBuf) bytes(v []byte) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(v)))
	c.b = append(c.b, v...)
}

// int8Array writes vs as a one-dimensional bigint[] without NULLs (an
// empty one has no dimension), as appendInt8Array reads it.
func (c *copyBuf) int8Array(vs []int64) {
	if len(vs) == 0 {
		c.b = binary.BigEndian.AppendUint32(c.b, 12)
		c.b = binary.BigEndian.AppendUint32(c.b, 0) // dimensions
		c.b = binary.BigEndian.AppendUint32(c.b, 0) // no NULLs
		c.b = binary.BigEndian.AppendUint32(c.b, int8OID)
		return
	}
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(20+12*len(vs)))
	c.b = binary.BigEndian.AppendUint32(c.b, 1)
	c.b = binary.BigEndian.AppendUint32(c.b, 0)
	c.b = binary.BigEndian.AppendUint32(c.b, int8OID)
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(vs)))
	c.b = binary.BigEndian.AppendUint32(c.b, 1) // lower bound
	for _, v := range vs {
		c.b = binary.BigEndian.AppendUint32(c.b, 8)
		c.b = binary.BigEndian.AppendUint64(c.b, uint64(v))
	}
}

// hourList writes the entries flat of a row of bucket as an encoded list
// (see appendHourList).
func (c *copyBuf) hourList(flat []int64, bucket int64) {
	at := len(c.b)
	c.b = binary.BigEndian.AppendUint32(c.b, 0)
	c.b = appendHourList(c.b, flat, bucket)
	binary.BigEndian.PutUint32(c.b[at:], uint32(len(c.b)-at-4))
}

// hourListOrNull writes flat's slice [s, e] (1-based, inclusive) of a row
// of bucket as an encoded hour list (see appendHourList), or NULL when s
// is 0.
func (c *copyBuf) hourListOrNull(flat []int64, s, e int32, bucket int64) {
	if s == 0 {
		c.b = binary.BigEndian.AppendUint32(c.b, 0xffffffff) // NULL
		return
	}
	c.hourList(flat[s-1:e], bucket)
}

// finish ends the data and returns it.
func (c *copyBuf) finish() []byte { return binary.BigEndian.AppendUint16(c.b, 0xffff) }

// int8OID is PostgreSQL's type oid of bigint.
const int8OID = 20

// copyInSavepoint COPYs data (see copyBuf) into cols of table inside a
// savepoint: on an error the savepoint is rolled back (the transaction
// goes on) and the error returned.
func copyInSavepoint(ctx context.Context, tx pgx.Tx, table string, cols []string, data []byte) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	q := "COPY " + pgx.Identifier{table}.Sanitize() + " (" + strings.Join(cols, ", ") + ") FROM STDIN (FORMAT binary)"
	if _, err := sp.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data), q); err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return rerr
		}
		return err
	}
	return sp.Commit(ctx)
}

// entry is one entry of a packed list.
type entry = insights.RefCounts

// mergeSorted appends to dst the merge of lists a and b, each sorted by
// ref with no ref twice (as pack and mergeEntries write them): the
// counts of a ref in both add up. It returns false (and dst as it came)
// when one of them is not: then the merged list would not be strictly
// ascending either.
func mergeSorted(dst, a, b []int64) ([]int64, bool) {
	if len(a)%entryWidth != 0 || len(b)%entryWidth != 0 {
		return dst, false
	}
	n := len(dst)
	dst = slices.Grow(dst, len(a)+len(b))
	for i, j := 0, 0; i < len(a) || j < len(b); {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			dst = append(dst, a[i:i+entryWidth]...)
			i += entryWidth
		case i == len(a) || b[j] < a[i]:
			dst = append(dst, b[j:j+entryWidth]...)
			j += entryWidth
		default: // the same ref in both
			c := insights.Counts{Total: a[i+1], RateLimited: a[i+2], Last: a[i+3], LastRateLimited: a[i+4]}
			c.Add(insights.Counts{Total: b[j+1], RateLimited: b[j+2], Last: b[j+3], LastRateLimited: b[j+4]})
			dst = append(dst, a[i], c.Total, c.RateLimited, c.Last, c.LastRateLimited)
			i += entryWidth
			j += entryWidth
		}
		if k := len(dst); k-n > entryWidth && dst[k-entryWidth] <= dst[k-2*entryWidth] {
			return dst[:n], false
		}
	}
	return dst, true
}

// mergeEntries appends to dst the entries of lists a and b merged: the
// counts of a ref in both add up (last times: the latest), or, when
// byMinute, those of a ref and minute (of their last time), as
// insights_merge and insights_merge_minutes do. The result is sorted by
// ref (and last time).
func mergeEntries(dst, a, b []int64, byMinute bool) []int64 {
	if !byMinute {
		if out, ok := mergeSorted(dst, a, b); ok {
			return out
		}
	}
	return mergeBySorting(dst, a, b, byMinute)
}

// mergeBySorting is mergeEntries for lists in any order.
func mergeBySorting(dst, a, b []int64, byMinute bool) []int64 {
	es := make([]entry, 0, (len(a)+len(b))/entryWidth)
	for _, l := range [][]int64{a, b} {
		for i := 0; i+entryWidth <= len(l); i += entryWidth {
			es = append(es, entry{Ref: l[i], Counts: insights.Counts{Total: l[i+1], RateLimited: l[i+2], Last: l[i+3], LastRateLimited: l[i+4]}})
		}
	}
	minute := func(e *entry) int64 {
		if byMinute {
			return insights.Minute.Floor(e.Last)
		}
		return 0
	}
	slices.SortFunc(es, func(x, y entry) int {
		return cmp.Or(cmp.Compare(x.Ref, y.Ref), cmp.Compare(minute(&x), minute(&y)))
	})
	out := es[:0]
	for _, e := range es {
		if k := len(out) - 1; k >= 0 && out[k].Ref == e.Ref && minute(&out[k]) == minute(&e) {
			out[k].Add(e.Counts)
			continue
		}
		out = append(out, e)
	}
	for _, e := range out {
		dst = append(dst, e.Ref, e.Total, e.RateLimited, e.Last, e.LastRateLimited)
	}
	return dst
}
