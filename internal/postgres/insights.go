package postgres

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

var _ insights.Store = (*DB)(nil)

// inTx runs fn in a transaction, retrying it (up to eight more times) when
// PostgreSQL aborts it for a deadlock or serialization failure. Before each
// retry it waits a random 0–25 ms times the attempt, so two transactions
// that deadlocked do not start again in step and meet at the same rows.
func (db *DB) inTx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, db.pool, fn)
		if err == nil {
			return nil
		}
		var pe *pgconn.PgError
		if attempt > 8 || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			return wrap(err, what)
		}
		select {
		case <-ctx.Done():
			return wrap(ctx.Err(), what)
		case <-time.After(time.Duration(attempt) * rand.N(25*time.Millisecond)):
		}
	}
}

// InsightsIngest records events in one transaction, in one of two ways:
//
//   - a batch none of whose ids is stored when it begins (and none
//     repeated in it), the common case, is written whole, and its ids are
//     claimed in insights_seen_keys last (claimSeen). Should a concurrent
//     batch have claimed one of them in the meantime (a replica writing
//     the same events at once), the transaction is rolled back and the
//     batch written the second way;
//   - otherwise its ids are claimed first, and the events not seen before
//     written.
//
// Names are interned first (see refsOf). Batches lock the rows they share
// in one order (see writeRollup); a deadlock (possible between batches
// overlapping each other's spans, in the rows one COPYed blind and the
// other shares, or in the id rows of one and the roll-up rows of the
// other) aborts one of them, which is retried whole (inTx). A concurrent
// batch claiming the same id waits for the first and then skips it. It
// returns once the transaction has committed.
func (db *DB) InsightsIngest(ctx context.Context, events []insights.Event, cut insights.Cutoffs) (insights.IngestResult, error) {
	res := insights.IngestResult{Received: len(events)}
	if len(events) == 0 {
		return res, nil
	}
	// The batch is aggregated whole while PostgreSQL interns its names and
	// claims its ids, the common case being a batch of new events; the
	// events left once duplicates are dropped are aggregated again.
	opts := packOptions
	if db.legacyFold {
		opts = insights.PackOptions{FoldMinutes: true}
	}
	whole := make(chan *insights.Packed, 1)
	go func() { whole <- insights.AggregatePackedWith(events, cut, opts) }()
	all := sync.OnceValue(func() *insights.Packed { return <-whole })
	defer all() // events are not read once InsightsIngest returns
	keys := newDedupKeys(events)
	refs, err := db.refsOf(ctx, events)
	if err != nil {
		return insights.IngestResult{}, wrap(err, "insights ingest")
	}
	withID := 0
	for _, ok := range keys.ok {
		if ok {
			withID++
		}
	}
	// claimFirst: the ids are claimed before the roll-ups are written
	claimFirst := len(keys.sorted) < withID // an id repeated in the batch
	for {
		raced := false
		err = db.inTx(ctx, "insights ingest", func(tx pgx.Tx) error {
			raced = false
			if !claimFirst {
				stored, err := anySeen(ctx, tx, keys.sorted)
				if err != nil {
					return err
				}
				if !stored {
					if err := writeRollup(ctx, tx, all(), refs, db.legacyFold); err != nil {
						return err
					}
					n, err := claimSeen(ctx, tx, keys.sorted, func(seenKey) {})
					if err != nil {
						return err
					}
					if n < len(keys.sorted) {
						raced = true
						return errRaced
					}
					res.Recorded, res.Duplicates = len(events), 0
					return nil
				}
			}
			fresh, err := dedupEvents(ctx, tx, events, keys)
			if err != nil {
				return err
			}
			res.Recorded, res.Duplicates = len(fresh), len(events)-len(fresh)
			if len(fresh) == 0 {
				return nil
			}
			p := all()
			if len(fresh) < len(events) {
				p = insights.AggregatePackedWith(fresh, cut, opts)
			}
			return writeRollup(ctx, tx, p, refs, db.legacyFold)
		})
		if raced && !claimFirst {
			claimFirst = true
			continue
		}
		break
	}
	if err != nil {
		return insights.IngestResult{}, err
	}
	return res, nil
}

// errRaced rolls back a batch written before its ids were claimed when
// another batch claimed one of them first.
var errRaced = errors.New("insights: an id of the batch was claimed by a concurrent batch")

// seenKey is what insights_seen_keys remembers of an event: the minute of
// its time and its id key (see insights.EventKey), as the embedded store
// does.
type seenKey struct {
	minute int64
	k      [16]byte
}

func keyOf(e *insights.Event) seenKey {
	return seenKey{insights.Minute.Floor(e.Timestamp.Unix()), insights.EventKey(e.ID)}
}

// dedupKeys are the keys of a batch's events: by event (ok false for an
// event without an id), and each once, sorted.
type dedupKeys struct {
	of     []seenKey
	ok     []bool
	sorted []seenKey
}

func newDedupKeys(events []insights.Event) *dedupKeys {
	d := &dedupKeys{of: make([]seenKey, len(events)), ok: make([]bool, len(events))}
	for i := range events {
		if events[i].ID != "" {
			d.of[i], d.ok[i] = keyOf(&events[i]), true
		}
	}
	for i, k := range d.of {
		if d.ok[i] {
			d.sorted = append(d.sorted, k)
		}
	}
	slices.SortFunc(d.sorted, cmpSeenKey)
	d.sorted = slices.Compact(d.sorted)
	return d
}

// cmpSeenKey orders keys by minute, then key bytes (compared as two
// big-endian words: sorting a batch's keys was a tenth of ingest's CPU in
// the store with bytes.Compare).
func cmpSeenKey(a, b seenKey) int {
	if a.minute != b.minute {
		return cmp.Compare(a.minute, b.minute)
	}
	if x, y := binary.BigEndian.Uint64(a.k[:8]), binary.BigEndian.Uint64(b.k[:8]); x != y {
		return cmp.Compare(x, y)
	}
	return cmp.Compare(binary.BigEndian.Uint64(a.k[8:]), binary.BigEndian.Uint64(b.k[8:]))
}

// dedupEvents claims the keys of events in insights_seen_keys and returns
// the events whose key was new (and those without an id), in order; an
// event repeated within the batch counts once.
func dedupEvents(ctx context.Context, tx pgx.Tx, events []insights.Event, keys *dedupKeys) ([]insights.Event, error) {
	if len(keys.sorted) == 0 {
		return events, nil
	}
	isNew := map[seenKey]bool{}
	n, err := claimSeen(ctx, tx, keys.sorted, func(k seenKey) { isNew[k] = true })
	if err != nil {
		return nil, err
	}
	if n == len(keys.sorted) && len(keys.sorted) == len(events) {
		return events, nil
	}
	fresh := make([]insights.Event, 0, len(events))
	for i := range events {
		if !keys.ok[i] {
			fresh = append(fresh, events[i])
			continue
		}
		k := keys.of[i]
		if isNew[k] {
			fresh = append(fresh, events[i])
			isNew[k] = false
		}
	}
	return fresh, nil
}

// writeNames upserts the names of the batch's actors and subjects, each in
// key order; a stored name gives way to a newer event's. SET expressions
// all read the stored row, so names follow the newer of the stored and
// the batch's seen.
func writeNames(ctx context.Context, tx pgx.Tx, p *insights.Packed) error {
	actors := slices.SortedFunc(maps.Keys(p.ActorInfo), cmpActor)
	n := len(actors)
	typ, name := make([]string, n), make([]string, n)
	id, oauth, integ, seen := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, k := range actors {
		v := p.ActorInfo[k]
		typ[i], id[i], name[i] = string(k.Type), k.ID, v.Name
		oauth[i], integ[i], seen[i] = v.OAuthApplicationID, v.IntegrationID, v.Seen
	}
	if _, err := tx.Exec(ctx, `INSERT INTO insights_actors AS t (actor_type, actor_id, actor_name, oauth_application_id, integration_id, seen)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
		ON CONFLICT (actor_type, actor_id) DO UPDATE SET
			actor_name = CASE WHEN excluded.seen >= t.seen THEN excluded.actor_name ELSE t.actor_name END,
			oauth_application_id = CASE WHEN excluded.seen >= t.seen THEN excluded.oauth_application_id ELSE t.oauth_application_id END,
			integration_id = CASE WHEN excluded.seen >= t.seen THEN excluded.integration_id ELSE t.integration_id END,
			seen = GREATEST(t.seen, excluded.seen)`, typ, id, name, oauth, integ, seen); err != nil {
		return err
	}
	subjects := slices.SortedFunc(maps.Keys(p.SubjectInfo), cmpSubject)
	n = len(subjects)
	typ, name, id, seen = make([]string, n), make([]string, n), make([]int64, n), make([]int64, n)
	for i, k := range subjects {
		v := p.SubjectInfo[k]
		typ[i], id[i], name[i], seen[i] = k.Type, k.ID, v.Name, v.Seen
	}
	_, err := tx.Exec(ctx, `INSERT INTO insights_subjects AS t (subject_type, subject_id, subject_name, seen)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])
		ON CONFLICT (subject_type, subject_id) DO UPDATE SET
			subject_name = CASE WHEN excluded.seen >= t.seen THEN excluded.subject_name ELSE t.subject_name END,
			seen = GREATEST(t.seen, excluded.seen)`, typ, id, name, seen)
	return err
}

// lvlMinuteDetail is the lvl of the five-minute rows of insights_p_actor
// and insights_p_user, whose entry lists hold one entry per ref and minute
// (the minute of its last request time): minutes are read by filtering
// them, five minutes by summing them, and no minute row is written for
// actors and users (migration 0018). Rows of lvl 0 and 1 written before
// are read too: each event is in those or in lvl 4, never both.
const lvlMinuteDetail = 4

// foldedTable reports whether table keeps its minutes in lvlMinuteDetail
// rows (written before migration 0024) and in its hour rows.
func foldedTable(table string) bool { return table == "insights_p_actor" || table == "insights_p_user" }

// packOptions is how a batch is aggregated: with the minutes of actors and
// users in their hour rows (migration 0024). Each hour row of
// insights_p_actor and insights_p_user holds, beside its entry list summed
// over the hour, two more lists: minutes, the hour's requests by minute
// (entries whose ref is the minute's index in the hour, 0-59), and detail,
// its requests by group and minute (one entry per ref and minute, the
// minute of its last time, as lvlMinuteDetail rows hold them). No minute,
// five-minute or lvlMinuteDetail row is written for actors and users: on
// sparse traffic an actor's five-minute buckets hold a request or two, and
// their rows were four fifths of the rows a batch wrote. Minute and
// five-minute series and totals read the minutes of the hour rows
// overlapping their range (at most 60 entries a row), lists of such ranges
// the detail; both filtered by minute (see hourMinutes).
var packOptions = insights.PackOptions{HourMinutes: true}

// The list columns of the hour rows of folded tables (see packOptions).
const (
	hourMinutesCol = "minutes"
	hourDetailCol  = "detail"
)

// entryWidth is the number of bigints an entry of a packed list takes:
// ref, total, rate limited, last, last rate limited.
const entryWidth = 5

// packedRows is one packed table's rows for one upsert, column by column,
// each row's entry list a slice [start, end] (1-based, inclusive, as
// PostgreSQL slices arrays) of one flat list.
type packedRows struct {
	org        []string
	key        []int64
	lvl        []int16
	bucket     []int64
	total, rl  []int64
	start, end []int32
	flat       []int64
	// the hour rows of folded tables: their minutes and detail lists
	// (see packOptions), as slices of mflat and dflat; 0, 0 for none
	// (NULL)
	mstart, mend, dstart, dend []int32
	mflat, dflat               []int64
}

// hasHourLists reports whether r's rows carry minutes and detail lists.
func (r *packedRows) hasHourLists() bool { return r.mstart != nil }

// pack turns the rows of rows at fine levels (minute, five minutes; or,
// when coarse, hour and day) into packedRows sorted by (organization, key,
// level, bucket), the order every writer locks them in. keyRef maps a
// row's Key to the table's key column and entRef an entry's Ref to its
// stored ref.
func pack(p *insights.Packed, rows []insights.PackedRow, coarse, folded bool, keyRef func(int64) int64, entRef []int64) *packedRows {
	type sorted struct {
		org    int32 // rank of the organization's login
		lvl    int16 // as stored
		key    int64
		bucket int64
		i      int
	}
	rank := make([]int32, len(p.Orgs)) // by organization index: its rank in byte order
	byName := make([]int32, len(p.Orgs))
	for i := range byName {
		byName[i] = int32(i)
	}
	slices.SortFunc(byName, func(a, b int32) int { return strings.Compare(p.Orgs[a], p.Orgs[b]) })
	for r, i := range byName {
		rank[i] = int32(r)
	}
	ord := make([]sorted, 0, len(rows))
	entries := 0
	for i := range rows {
		r := &rows[i]
		if (r.Level >= insights.Hour) != coarse {
			continue
		}
		lvl := int16(r.Level)
		if folded && r.Level == insights.FiveMinutes {
			lvl = lvlMinuteDetail
		}
		ord = append(ord, sorted{rank[r.Org], lvl, keyRef(r.Key), r.Bucket, i})
		entries += len(r.Entries)
	}
	slices.SortFunc(ord, func(a, b sorted) int {
		switch {
		case a.org != b.org:
			return cmp.Compare(a.org, b.org)
		case a.key != b.key:
			return cmp.Compare(a.key, b.key)
		case a.lvl != b.lvl:
			return cmp.Compare(a.lvl, b.lvl)
		}
		return cmp.Compare(a.bucket, b.bucket)
	})
	n := len(ord)
	out := &packedRows{org: make([]string, n), key: make([]int64, n), lvl: make([]int16, n), bucket: make([]int64, n),
		total: make([]int64, n), rl: make([]int64, n), start: make([]int32, n), end: make([]int32, n),
		flat: make([]int64, 0, entries*entryWidth)}
	var es []entry
	for j, o := range ord {
		r := &rows[o.i]
		out.org[j], out.key[j], out.lvl[j], out.bucket[j] = p.Orgs[r.Org], o.key, o.lvl, o.bucket
		out.total[j], out.rl[j] = r.Total, r.RateLimited
		es = es[:0]
		for _, e := range r.Entries {
			es = append(es, entry{Ref: entRef[e.Ref], Counts: e.Counts})
		}
		insights.SortRefCounts(es)
		out.start[j] = int32(len(out.flat) + 1)
		for _, e := range es {
			out.flat = append(out.flat, e.Ref, e.Total, e.RateLimited, e.Last, e.LastRateLimited)
		}
		out.end[j] = int32(len(out.flat))
	}
	if folded && coarse {
		packHourLists(out, rows, ord, func(o sorted) int { return o.i }, entRef)
	}
	return out
}

// packHourLists sets the minutes and detail lists of out's rows (those of
// rows[at(ord[j])]): a row without Minutes gets none (NULL).
func packHourLists[T any](out *packedRows, rows []insights.PackedRow, ord []T, at func(T) int, entRef []int64) {
	n := len(ord)
	out.mstart, out.mend, out.dstart, out.dend = make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
	total := 0
	for _, o := range ord {
		total += len(rows[at(o)].Minutes)
	}
	if total == 0 {
		return
	}
	out.dflat = make([]int64, 0, total*entryWidth)
	out.mflat = make([]int64, 0, min(total, 60*n)*entryWidth)
	for j, o := range ord {
		r := &rows[at(o)]
		if len(r.Minutes) == 0 {
			continue
		}
		// by minute: at most 60 entries, ref the minute's index
		var mins [60]insights.Counts
		for _, e := range r.Minutes {
			m := &mins[(insights.Minute.Floor(e.Last)-r.Bucket)/60%60]
			m.Add(e.Counts)
		}
		out.mstart[j] = int32(len(out.mflat) + 1)
		for m := range mins {
			if c := mins[m]; c.Total != 0 || c.RateLimited != 0 {
				out.mflat = append(out.mflat, int64(m), c.Total, c.RateLimited, c.Last, c.LastRateLimited)
			}
		}
		out.mend[j] = int32(len(out.mflat))
		// by ref and minute, in the order aggregation gives them: readers
		// filter every entry by minute, and merges sort
		out.dstart[j] = int32(len(out.dflat) + 1)
		for _, e := range r.Minutes {
			out.dflat = append(out.dflat, entRef[e.Ref], e.Total, e.RateLimited, e.Last, e.LastRateLimited)
		}
		out.dend[j] = int32(len(out.dflat))
	}
}

// writeRollup adds a packed batch to the tables, in two passes (see
// writePacked for how one table's rows are written):
//
//  1. the rows inside the batch's span (not in the first or last bucket
//     of their level, see edgeRows) are COPYed, table after table,
//     without looking for each stored one (only a sample, see anyStored:
//     when one is stored, as for live traffic, all the table's rows are
//     left to the second pass): on sparse traffic they are new. A COPY
//     that meets a stored row, or waits more than copyLockTimeout for
//     another transaction's insert, is rolled back, and its rows are left
//     to the second pass;
//  2. the rest (the edge rows, shared with the batches sent just before
//     and after, and those left by the first pass) go through
//     writePacked: stored rows are locked and updated, then new ones
//     COPYed.
//
// The second pass locks rows in one order: first the minute and
// five-minute rows of every table, then the hour and day rows, then the
// names; within a table, in key order. The first pass never waits long,
// so two batches written at once (two in flight, or replicas) do their
// first passes side by side, and the one behind waits in the second, at
// the buckets they share.
//
// With arrays, entry lists are written as bigint[], as builds before
// migration 0026 did (see packedTable).
func writeRollup(ctx context.Context, tx pgx.Tx, p *insights.Packed, refs *batchRefs, arrays bool) error {
	actors := make([]int64, len(p.Actors))
	for i, a := range p.Actors {
		actors[i] = refs.actors[a]
	}
	subjects := make([]int64, len(p.Subjects))
	for i, s := range p.Subjects {
		subjects[i] = refs.subjects[s]
	}
	routes := make([]int64, len(p.Routes))
	for i, r := range p.Routes {
		routes[i] = refs.routes[r]
	}
	for _, ref := range slices.Concat(actors, subjects, routes) {
		if ref == 0 {
			return fmt.Errorf("insights: a name of the batch has no ref")
		}
	}
	same := func(k int64) int64 { return k }
	actorRef := func(k int64) int64 { return actors[k] }
	var sets []tableRows
	tSubjects, tActor, tUser := tableSubjects, tableActor, tableUser
	tSubjects.arrays, tActor.arrays, tUser.arrays = arrays, arrays, arrays
	for _, coarse := range []bool{false, true} {
		orgs := pack(p, p.OrgRows, coarse, false, same, subjects)
		// the organization's totals: the subjects' rows without their lists
		sets = append(sets, tableRows{t: tableOrg, r: orgs}, tableRows{t: tSubjects, r: orgs},
			tableRows{t: tActor, r: pack(p, p.ActorRows, coarse, true, actorRef, routes)},
			tableRows{t: tUser, r: pack(p, p.UserRows, coarse, true, same, actors)})
	}
	if err := writeInner(ctx, tx, sets); err != nil {
		return err
	}
	for _, s := range sets {
		if err := writePacked(ctx, tx, s.t, s.r, s.todo); err != nil {
			return err
		}
	}
	return writeNames(ctx, tx, p)
}

// segmentRows returns "SELECT cols FROM table WHERE prefix AND lvl = $n
// AND bucket >= $n+1 AND bucket < $n+2", one per segment joined by UNION
// ALL, numbering parameters after the prefix's args, and the args with the
// segments' appended. Each arm is one range scan of the primary key, so a
// query reads only the buckets it sums, however much else the key prefix
// holds (an OR of the ranges would scan the whole prefix).
func segmentRows(cols, table, prefix string, args []any, segs []storedSeg) (string, []any) {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		n := len(args)
		fmt.Fprintf(&b, "SELECT %s FROM %s WHERE %s AND lvl = $%d AND bucket >= $%d AND bucket < $%d", cols, table, prefix, n+1, n+2, n+3)
		args = append(args, s.lvl, s.start, s.end)
	}
	return b.String(), args
}

// storedSeg is a range of stored rows: those of lvl whose bucket is in
// [start, end).
type storedSeg struct {
	lvl        int16
	start, end int64
}

// storedSegs maps segments to the rows of table that hold them whole. In
// a folded table a five-minute segment is its lvl 1 and lvlMinuteDetail
// rows, and a minute segment its lvl 0 rows and the minutes it returns in
// detail: those read by entry from the lvlMinuteDetail rows (minuteDetail);
// both are also in hours, the segments to read from the minutes of hour
// rows (hourMinutes). Rows of lvl 0, 1 and 4 are those builds before
// migration 0024 wrote.
func storedSegs(table string, segs []insights.Segment) (whole []storedSeg, detail, hours []insights.Segment) {
	folded := foldedTable(table)
	whole = make([]storedSeg, 0, len(segs)+2)
	for _, s := range segs {
		whole = append(whole, storedSeg{int16(s.Level), s.Start, s.End})
		if !folded {
			continue
		}
		switch s.Level {
		case insights.FiveMinutes:
			whole = append(whole, storedSeg{lvlMinuteDetail, s.Start, s.End})
			hours = append(hours, s)
		case insights.Minute:
			detail = append(detail, s)
			hours = append(hours, s)
		}
	}
	return whole, detail, hours
}

// hourMinutes calls fn with every entry of column col (hourMinutesCol or
// hourDetailCol) of the scope's hour rows whose minute lies in one of the
// segments (of minutes or five minutes), with the segment. One statement
// reads, for each segment, the hour rows overlapping it; each keeps its
// own minutes, so no entry is given twice. A row's list is decoded in
// place, one row at a time.
func (db *DB) hourMinutes(ctx context.Context, table, col, prefix string, prefixArgs []any, segs []insights.Segment,
	fn func(s insights.Segment, ref int64, c insights.Counts)) error {
	if len(segs) == 0 {
		return nil
	}
	var b strings.Builder
	args := slices.Clone(prefixArgs)
	for i, s := range segs {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		n := len(args)
		fmt.Fprintf(&b, "SELECT %d, bucket, %s FROM %s WHERE %s AND lvl = $%d AND bucket >= $%d AND bucket < $%d AND %s IS NOT NULL",
			i, col, table, prefix, n+1, n+2, n+3, col)
		args = append(args, int16(insights.Hour), insights.Hour.Floor(s.Start), s.End)
	}
	rows, err := db.pool.Query(ctx, b.String(), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seg int32
		var bucket int64
		if err := rows.Scan(&seg, &bucket, nil); err != nil {
			return err
		}
		if seg < 0 || int(seg) >= len(segs) {
			return fmt.Errorf("%s: segment %d of %d", table, seg, len(segs))
		}
		s := segs[seg]
		raw, err := byteaColumn(rows, 2)
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		err = eachHourEntry(raw, bucket, func(ref int64, c insights.Counts) {
			if m := insights.Minute.Floor(c.Last); m >= s.Start && m < s.End {
				fn(s, ref, c)
			}
		})
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	return rows.Err()
}

// minuteDetail calls fn with each entry of the scope's lvlMinuteDetail
// rows whose minute lies in one of the minute segments (and the start of
// its row, in row order). Each segment reads the five-minute rows
// overlapping it and keeps its own minutes, so no entry is given twice.
func (db *DB) minuteDetail(ctx context.Context, list, table, prefix string, args []any, segs []insights.Segment,
	fn func(row, ref int64, c insights.Counts)) error {
	for _, s := range segs {
		q, qargs := segmentRows("bucket, "+list+", "+list+listVarSuffix, table, prefix, args,
			[]storedSeg{{lvlMinuteDetail, insights.FiveMinutes.Floor(s.Start), s.End}})
		rows, err := db.pool.Query(ctx, q+" ORDER BY bucket", qargs...)
		if err != nil {
			return err
		}
		var l []int64
		var bucket int64
		for rows.Next() {
			err := rows.Scan(&bucket, nil, nil)
			if err == nil {
				l, err = readEntryLists(rows, 1, bucket, l[:0])
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("%s: %w", table, err)
			}
			if len(l)%entryWidth != 0 {
				rows.Close()
				return fmt.Errorf("%s: entry list of %d values", table, len(l))
			}
			for i := 0; i < len(l); i += entryWidth {
				c := insights.Counts{Total: l[i+1], RateLimited: l[i+2], Last: l[i+3], LastRateLimited: l[i+4]}
				if m := insights.Minute.Floor(c.Last); m >= s.Start && m < s.End {
					fn(bucket, l[i], c)
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// readEntryLists appends to dst the entries of the row's bigint[] list in
// column c and of its bytea list (of a row of bucket) in column c+1
// (migration 0026: a row holds its entries in one of them, or in both).
func readEntryLists(rows pgx.Rows, c int, bucket int64, dst []int64) ([]int64, error) {
	dst, err := int8ArrayColumn(rows, c, dst)
	if err != nil {
		return nil, err
	}
	raw, err := byteaColumn(rows, c+1)
	if err != nil || raw == nil {
		return dst, err
	}
	return appendHourEntries(dst, raw, bucket)
}

// listColumn is the (bigint[]) entry list column of a folded table.
func listColumn(table string) string {
	if table == "insights_p_user" {
		return "actors"
	}
	return "routes"
}

// actorPrefix selects an actor's rows of insights_p_actor by its type and
// id ($2, $3); an actor never recorded has no ref and no rows.
const actorPrefix = "org = $1 AND actor = (SELECT ref FROM insights_actors WHERE actor_type = $2 AND actor_id = $3)"

// scopeSQL picks the roll-up table and key prefix of a scope.
func scopeSQL(s insights.Scope) (table, prefix string, args []any) {
	switch {
	case s.UserID != 0:
		return "insights_p_user", "org = $1 AND user_id = $2", []any{s.Org, s.UserID}
	case s.Actor.ID != 0:
		return "insights_p_actor", actorPrefix, []any{s.Org, string(s.Actor.Type), s.Actor.ID}
	}
	return "insights_r_org", "org = $1", []any{s.Org}
}

// InsightsTotals sums a scope's requests over segs.
func (db *DB) InsightsTotals(ctx context.Context, s insights.Scope, segs []insights.Segment) (insights.Counts, error) {
	var c insights.Counts
	if len(segs) == 0 {
		return c, nil
	}
	table, prefix, args := scopeSQL(s)
	whole, detail, hours := storedSegs(table, segs)
	inner, qargs := segmentRows("total, rl", table, prefix, args, whole)
	err := db.pool.QueryRow(ctx, `SELECT COALESCE(SUM(total), 0)::bigint, COALESCE(SUM(rl), 0)::bigint FROM (`+inner+`) s`,
		qargs...).Scan(&c.Total, &c.RateLimited)
	add := func(e insights.Counts) {
		c.Total += e.Total
		c.RateLimited += e.RateLimited
	}
	if err == nil && len(detail) > 0 {
		err = db.minuteDetail(ctx, listColumn(table), table, prefix, args, detail, func(_, _ int64, e insights.Counts) { add(e) })
	}
	if err == nil {
		err = db.hourMinutes(ctx, table, hourMinutesCol, prefix, args, hours, func(_ insights.Segment, _ int64, e insights.Counts) { add(e) })
	}
	return c, wrap(err, "insights totals")
}

// InsightsSeries returns a scope's stored buckets within segs (one row per
// bucket in every table).
func (db *DB) InsightsSeries(ctx context.Context, s insights.Scope, segs []insights.Segment) ([]insights.BucketCounts, error) {
	if len(segs) == 0 {
		return nil, nil
	}
	table, prefix, args := scopeSQL(s)
	whole, detail, hours := storedSegs(table, segs)
	inner, qargs := segmentRows("lvl, bucket, total, rl", table, prefix, args, whole)
	rows, err := db.pool.Query(ctx, inner, qargs...)
	if err != nil {
		return nil, wrap(err, "insights series")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (insights.BucketCounts, error) {
		var b insights.BucketCounts
		var lvl int16
		err := row.Scan(&lvl, &b.Bucket, &b.Total, &b.RateLimited)
		b.Level = insights.Level(lvl)
		if lvl == lvlMinuteDetail {
			b.Level = insights.FiveMinutes
		}
		return b, err
	})
	if err != nil || (len(detail) == 0 && len(hours) == 0 && len(whole) == len(segs)) {
		return out, wrap(err, "insights series")
	}
	// A folded table: minutes from their five-minute rows' entries (one
	// row's minutes at a time), minutes and five minutes from their hour
	// rows' minutes, and buckets stored at several lvls summed.
	minutes := insights.NewMinuteFolder(out)
	err = db.minuteDetail(ctx, listColumn(table), table, prefix, args, detail, func(bucket, _ int64, c insights.Counts) { minutes.Add(bucket, c) })
	if err != nil {
		return nil, wrap(err, "insights series")
	}
	out = minutes.Buckets()
	err = db.hourMinutes(ctx, table, hourMinutesCol, prefix, args, hours, func(s insights.Segment, _ int64, c insights.Counts) {
		b := s.Level.Floor(c.Last)
		if k := len(out) - 1; k >= 0 && out[k].Bucket == b && out[k].Level == s.Level { // a row's minutes of one bucket come in a row
			out[k].Total += c.Total
			out[k].RateLimited += c.RateLimited
			return
		}
		out = append(out, insights.BucketCounts{Level: s.Level, Bucket: b, Total: c.Total, RateLimited: c.RateLimited})
	})
	if err != nil {
		return nil, wrap(err, "insights series")
	}
	return insights.SumBuckets(out), nil
}

// InsightsGroups reads the entry lists of the scope's rows in the
// segments and sums them by ref into g, in Go: a list is read whole once,
// where indexing a stored (TOASTed) array in SQL would decompress it for
// every element. One row's list is held at a time; its binary form is read
// in place (decoding it into a slice would allocate one per row).
func (db *DB) InsightsGroups(ctx context.Context, s insights.Scope, segs []insights.Segment, g *insights.Groups) error {
	if len(segs) == 0 {
		return nil
	}
	list, table, prefix, args := "subjects", "insights_p_subjects", "org = $1", []any{s.Org}
	switch {
	case s.UserID != 0:
		list, table, prefix, args = "actors", "insights_p_user", "org = $1 AND user_id = $2", []any{s.Org, s.UserID}
	case s.Actor.ID != 0:
		list, table, prefix, args = "routes", "insights_p_actor", actorPrefix, []any{s.Org, string(s.Actor.Type), s.Actor.ID}
	}
	whole, detail, hours := storedSegs(table, segs)
	inner, qargs := segmentRows("bucket, "+list+", "+list+listVarSuffix, table, prefix, args, whole)
	rows, err := db.pool.Query(ctx, inner, qargs...)
	if err != nil {
		return wrap(err, "insights groups")
	}
	defer rows.Close()
	var l []int64
	var bucket int64
	for rows.Next() {
		err := rows.Scan(&bucket, nil, nil)
		if err == nil {
			l, err = int8ArrayColumn(rows, 1, l[:0])
		}
		if err != nil {
			return wrap(fmt.Errorf("%s: %w", table, err), "insights groups")
		}
		if len(l)%entryWidth != 0 {
			return fmt.Errorf("%s: entry list of %d values", table, len(l))
		}
		for i := 0; i < len(l); i += entryWidth {
			g.Add(l[i], insights.Counts{Total: l[i+1], RateLimited: l[i+2], Last: l[i+3], LastRateLimited: l[i+4]})
		}
		raw, err := byteaColumn(rows, 2)
		if err == nil {
			err = eachHourEntry(raw, bucket, g.Add)
		}
		if err != nil {
			return wrap(fmt.Errorf("%s: %w", table, err), "insights groups")
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(err, "insights groups")
	}
	rows.Close()
	err = db.minuteDetail(ctx, list, table, prefix, args, detail, func(_, ref int64, c insights.Counts) { g.Add(ref, c) })
	if err == nil {
		err = db.hourMinutes(ctx, table, hourDetailCol, prefix, args, hours, func(_ insights.Segment, ref int64, c insights.Counts) { g.Add(ref, c) })
	}
	return wrap(err, "insights groups")
}

// int8ArrayOID is PostgreSQL's type oid of bigint[].
const int8ArrayOID = 1016

// appendInt8Array appends the elements of a one-dimensional bigint[]
// without NULLs, in PostgreSQL's binary array format, to dst.
func appendInt8Array(dst []int64, b []byte) ([]int64, error) {
	if b == nil {
		return dst, nil
	}
	if len(b) < 12 {
		return nil, fmt.Errorf("bigint[] of %d bytes", len(b))
	}
	ndim := int32(binary.BigEndian.Uint32(b))
	if ndim == 0 {
		return dst, nil
	}
	if ndim != 1 || binary.BigEndian.Uint32(b[4:]) != 0 || len(b) < 20 {
		return nil, fmt.Errorf("bigint[] with %d dimensions or NULLs", ndim)
	}
	n := int(int32(binary.BigEndian.Uint32(b[12:])))
	b = b[20:]
	if n < 0 || len(b) != 12*n {
		return nil, fmt.Errorf("bigint[] of %d elements in %d bytes", n, len(b))
	}
	dst = slices.Grow(dst, n)
	for i := 0; i < n; i++ {
		if binary.BigEndian.Uint32(b) != 8 {
			return nil, fmt.Errorf("bigint[] element of %d bytes", int32(binary.BigEndian.Uint32(b)))
		}
		dst = append(dst, int64(binary.BigEndian.Uint64(b[4:])))
		b = b[12:]
	}
	return dst, nil
}

func (db *DB) InsightsSubjectInfo(ctx context.Context, refs []int64, fn func(ref int64, r insights.SubjectRow) error) error {
	rows, err := db.pool.Query(ctx, `SELECT ref, subject_type, subject_id, subject_name FROM insights_subjects WHERE ref = ANY($1)`, refs)
	if err != nil {
		return wrap(err, "insights subjects")
	}
	var r insights.SubjectRow
	var ref int64
	_, err = pgx.ForEachRow(rows, []any{&ref, &r.Type, &r.ID, &r.Name}, func() error { return fn(ref, r) })
	return wrap(err, "insights subjects")
}

func (db *DB) InsightsActorInfo(ctx context.Context, refs []int64, fn func(ref int64, r insights.ActorRow) error) error {
	rows, err := db.pool.Query(ctx, `SELECT ref, actor_type, actor_id, actor_name, oauth_application_id, integration_id
		FROM insights_actors WHERE ref = ANY($1)`, refs)
	if err != nil {
		return wrap(err, "insights actors")
	}
	var r insights.ActorRow
	var ref int64
	var typ string
	_, err = pgx.ForEachRow(rows, []any{&ref, &typ, &r.ID, &r.Name, &r.OAuthApplicationID, &r.IntegrationID}, func() error {
		r.Type = usage.ActorType(typ)
		return fn(ref, r)
	})
	return wrap(err, "insights actors")
}

func (db *DB) InsightsRouteInfo(ctx context.Context, refs []int64, fn func(ref int64, r insights.RouteRow) error) error {
	rows, err := db.pool.Query(ctx, `SELECT ref, http_method, api_route FROM insights_routes WHERE ref = ANY($1)`, refs)
	if err != nil {
		return wrap(err, "insights routes")
	}
	var r insights.RouteRow
	var ref int64
	_, err = pgx.ForEachRow(rows, []any{&ref, &r.Method, &r.Route}, func() error { return fn(ref, r) })
	return wrap(err, "insights routes")
}

// InsightsPrune deletes the roll-up buckets and remembered ids the cutoffs
// no longer keep. Each table is pruned in its own statement, so a prune
// never holds locks on every table at once.
func (db *DB) InsightsPrune(ctx context.Context, cut insights.Cutoffs) (int64, error) {
	var total int64
	for _, table := range []string{"insights_r_org", "insights_p_subjects", "insights_p_actor", "insights_p_user"} {
		for _, l := range insights.Levels {
			if cut.Level[l] == 0 {
				continue
			}
			lvls := []int16{int16(l)}
			if foldedTable(table) && l == insights.FiveMinutes {
				lvls = append(lvls, lvlMinuteDetail)
			}
			for _, lvl := range lvls {
				tag, err := db.pool.Exec(ctx, "DELETE FROM "+table+" WHERE lvl = $1 AND bucket < $2", lvl, cut.Level[l])
				if err != nil {
					return total, wrap(err, "insights prune")
				}
				total += tag.RowsAffected()
			}
			if foldedTable(table) && l == insights.FiveMinutes {
				// the minutes of hours wholly before the five-minute
				// cutoff, which no answer reads (the rows stay, so they
				// are not counted)
				_, err := db.pool.Exec(ctx, "UPDATE "+table+" SET "+hourMinutesCol+" = NULL, "+hourDetailCol+" = NULL WHERE lvl = $1 AND bucket < $2 AND "+
					hourMinutesCol+" IS NOT NULL", int16(insights.Hour), insights.Hour.Floor(cut.Level[l]))
				if err != nil {
					return total, wrap(err, "insights prune")
				}
			}
		}
	}
	if cut.Seen > 0 {
		// A batch claiming ids holds a minute's head (its last row in key
		// order) before it locks the minute's other rows, the DELETE locks
		// them in key order: the two can deadlock at the cutoff minute, and
		// the DELETE, which waited first, is the one aborted. It is retried.
		var n int64
		err := db.inTx(ctx, "insights prune", func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, "DELETE FROM insights_seen_keys WHERE minute < $1", cut.Seen)
			n = tag.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
