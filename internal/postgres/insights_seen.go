package postgres

import (
	"bytes"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/insights"
)

// The ids of a batch are remembered in insights_seen_keys (migration
// 0025): one row per minute and shard holding sorted 16-byte keys, packed
// as insights.SeenShards describes.

// seenMinute is the stored insights_seen_keys rows of one minute.
type seenMinute struct {
	keys    [insights.SeenWholeMinute + 1][]byte // by shard
	present [insights.SeenWholeMinute + 1]bool
	rows    int
}

// has reports whether the minute holds key k.
func (m *seenMinute) has(k *[16]byte) bool {
	return m != nil && (insights.KeysContain(m.keys[k[0]>>4], k) || insights.KeysContain(m.keys[insights.SeenWholeMinute], k))
}

// minutesOf returns the distinct minutes of keys (sorted by minute).
func minutesOf(keys []seenKey) []int64 {
	var out []int64
	for _, k := range keys {
		if n := len(out); n == 0 || out[n-1] != k.minute {
			out = append(out, k.minute)
		}
	}
	return out
}

// readSeen reads the stored rows of minutes (sorted), locking them with
// lock (in key order, the order every writer locks them in).
func readSeen(ctx context.Context, tx pgx.Tx, minutes []int64, lock bool) (map[int64]*seenMinute, error) {
	out := map[int64]*seenMinute{}
	if len(minutes) == 0 {
		return out, nil
	}
	q, args := seenRows("minute, shard, keys", minutes, "")
	if lock {
		q += " FOR UPDATE"
	}
	return out, scanSeen(tx.Query(ctx, q, args...))(out)
}

// seenRows returns the query of the insights_seen_keys rows of minutes
// (sorted, at least one) with cols, filtered further by where, in key
// order: a range scan when the minutes are dense (a batch in time order),
// else a lookup of each.
func seenRows(cols string, minutes []int64, where string) (string, []any) {
	if lo, hi := minutes[0], minutes[len(minutes)-1]; (hi-lo)/60+1 <= 2*int64(len(minutes)) {
		return "SELECT " + cols + " FROM insights_seen_keys WHERE minute >= $1 AND minute <= $2" + where + " ORDER BY minute, shard", []any{lo, hi}
	}
	return "SELECT " + cols + " FROM insights_seen_keys WHERE minute = ANY($1)" + where + " ORDER BY minute, shard", []any{minutes}
}

// lockSeenHeads locks the whole-minute rows of minutes (sorted) that are
// stored, in key order, and returns their minutes. A minute's whole-minute
// row is its head: every batch adding keys to a minute holds its head,
// locked here or inserted by its COPY, so no two batches write a minute's
// rows at once (see claimSeen).
func lockSeenHeads(ctx context.Context, tx pgx.Tx, minutes []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(minutes) == 0 {
		return out, nil
	}
	q, args := seenRows("minute", minutes, fmt.Sprintf(" AND shard = %d", insights.SeenWholeMinute))
	rows, err := tx.Query(ctx, q+" FOR UPDATE", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var minute int64
	for rows.Next() {
		if err := rows.Scan(&minute); err != nil {
			return nil, err
		}
		out[minute] = true
	}
	return out, rows.Err()
}

func scanSeen(rows pgx.Rows, err error) func(map[int64]*seenMinute) error {
	return func(out map[int64]*seenMinute) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		var minute int64
		var shard int16
		for rows.Next() {
			if err := rows.Scan(&minute, &shard, nil); err != nil {
				return err
			}
			keys := bytes.Clone(rows.RawValues()[2])
			if len(keys)%16 != 0 || shard < 0 || shard > insights.SeenWholeMinute {
				return fmt.Errorf("insights_seen_keys: minute %d, shard %d of %d bytes", minute, shard, len(keys))
			}
			m := out[minute]
			if m == nil {
				m = &seenMinute{}
				out[minute] = m
			}
			if !m.present[shard] {
				m.rows++
			}
			m.keys[shard], m.present[shard] = keys, true
		}
		return rows.Err()
	}
}

// anySeen reports, without locking, whether one of keys is stored: a
// batch whose ids were all new when it began can be written before its
// ids are claimed (see InsightsIngest).
func anySeen(ctx context.Context, tx pgx.Tx, keys []seenKey) (bool, error) {
	stored, err := readSeen(ctx, tx, minutesOf(keys), false)
	if err != nil || len(stored) == 0 {
		return false, err
	}
	for i := range keys {
		if stored[keys[i].minute].has(&keys[i].k) {
			return true, nil
		}
	}
	return false, nil
}

// claimSeen records keys (sorted by minute and key, each once) in
// insights_seen_keys and calls isNew for each key not stored before, in
// order; it returns how many there were.
//
// A minute's keys are spread over several rows (its whole-minute row and
// its shard rows, distinct primary keys), so locking the rows read is not
// enough: two batches could each read a minute without the other's
// uncommitted rows and insert different rows holding the same key, and a
// read that waited for a row lock under READ COMMITTED still misses the
// rows the transaction it waited for inserted. So every batch that adds
// keys to a minute holds the minute's head, its whole-minute row (empty
// when the keys are in shard rows): it first locks the stored heads of its
// minutes (lockSeenHeads), then reads the minutes' rows in a new
// statement, which sees every batch that held a head before; a minute
// without a head gets one in the COPY of new rows, which fails on a
// unique violation when a concurrent batch inserted it too (the COPY
// waits for that batch to end). A head that appears between the lock and
// the read, and a failed COPY (rolled back to its savepoint), start
// another round. Nothing of this batch is written before the COPY
// succeeds, so the keys read are never this batch's own.
func claimSeen(ctx context.Context, tx pgx.Tx, keys []seenKey, isNew func(seenKey)) (int, error) {
	minutes := minutesOf(keys)
	for round := 0; ; round++ {
		if round == maxCopyRetries {
			return 0, fmt.Errorf("insights_seen_keys: rows still conflicting after %d rounds", round)
		}
		heads, err := lockSeenHeads(ctx, tx, minutes)
		if err != nil {
			return 0, err
		}
		stored, err := readSeen(ctx, tx, minutes, true)
		if err != nil {
			return 0, err
		}
		var fresh []seenKey
		var ins, upd seenWrites
		unlocked := false // a head stored after lockSeenHeads read
		for first := 0; first < len(keys); {
			minute := keys[first].minute
			n := 1
			for first+n < len(keys) && keys[first+n].minute == minute {
				n++
			}
			group := keys[first : first+n]
			first += n
			sm := stored[minute]
			start := len(fresh)
			for _, k := range group {
				if !sm.has(&k.k) {
					fresh = append(fresh, k)
				}
			}
			added := fresh[start:]
			if len(added) == 0 {
				continue
			}
			if sm == nil {
				sm = &seenMinute{}
			}
			if sm.present[insights.SeenWholeMinute] && !heads[minute] {
				unlocked = true
				break
			}
			// A minute stored in its whole-minute row only (or not at
			// all) stays in it while it holds few keys; keys are sorted,
			// so each shard's come together.
			onlyWhole := sm.rows == 0 || (sm.rows == 1 && sm.present[insights.SeenWholeMinute])
			if onlyWhole && len(sm.keys[insights.SeenWholeMinute])/16+len(added) <= insights.SeenWholeMinuteKeys {
				w := &ins
				if sm.present[insights.SeenWholeMinute] {
					w = &upd
				}
				w.add(minute, insights.SeenWholeMinute, mergeKeys(sm.keys[insights.SeenWholeMinute], added))
				continue
			}
			if !sm.present[insights.SeenWholeMinute] {
				ins.add(minute, insights.SeenWholeMinute, []byte{}) // the head
			}
			for len(added) > 0 {
				shard := added[0].k[0] >> 4
				j := 1
				for j < len(added) && added[j].k[0]>>4 == shard {
					j++
				}
				w := &ins
				if sm.present[shard] {
					w = &upd
				}
				w.add(minute, int16(shard), mergeKeys(sm.keys[shard], added[:j]))
				added = added[j:]
			}
		}
		if unlocked {
			continue
		}
		if len(ins.minute) > 0 {
			var b copyBuf
			b.start(len(ins.minute)*30 + ins.bytes)
			for i := range ins.minute {
				b.tuple(3)
				b.int64(ins.minute[i])
				b.int16(ins.shard[i])
				b.bytes(ins.keys[i])
			}
			err := copyInSavepoint(ctx, tx, "insights_seen_keys", []string{"minute", "shard", "keys"}, b.finish())
			if isUniqueViolation(err) {
				continue
			}
			if err != nil {
				return 0, err
			}
		}
		if len(upd.minute) > 0 {
			tag, err := tx.Exec(ctx, `UPDATE insights_seen_keys t SET keys = u.keys
				FROM unnest($1::bigint[], $2::smallint[], $3::bytea[]) AS u(minute, shard, keys)
				WHERE t.minute = u.minute AND t.shard = u.shard`, upd.minute, upd.shard, upd.keys)
			if err != nil {
				return 0, err
			}
			if tag.RowsAffected() != int64(len(upd.minute)) {
				return 0, fmt.Errorf("insights_seen_keys: updated %d of %d locked rows", tag.RowsAffected(), len(upd.minute))
			}
		}
		for _, k := range fresh {
			isNew(k)
		}
		return len(fresh), nil
	}
}

// seenWrites are insights_seen_keys rows to write, column by column.
type seenWrites struct {
	minute []int64
	shard  []int16
	keys   [][]byte
	bytes  int
}

func (w *seenWrites) add(minute int64, shard int16, keys []byte) {
	w.minute, w.shard, w.keys = append(w.minute, minute), append(w.shard, shard), append(w.keys, keys)
	w.bytes += len(keys)
}

// mergeKeys merges the sorted keys add (none stored in have) into the
// sorted 16-byte keys have.
func mergeKeys(have []byte, add []seenKey) []byte {
	out := make([]byte, 0, len(have)+16*len(add))
	i := 0
	for _, k := range add {
		for i < len(have) && bytes.Compare(have[i:i+16], k.k[:]) < 0 {
			out = append(out, have[i:i+16]...)
			i += 16
		}
		out = append(out, k.k[:]...)
	}
	return append(out, have[i:]...)
}
