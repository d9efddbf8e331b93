package sqlite

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

var _ insights.Store = (*DB)(nil)

// insightsRefs caches the integer refs of interned insights dimensions.
// Entries are added only after the transaction that created them commits.
type insightsRefs struct {
	mu       sync.Mutex
	orgs     map[string]int64
	actors   map[insights.ActorRef]actorRef
	subjects map[insights.SubjectRef]subjectRef
	routes   map[insights.RouteRef]int64
	// stmts are ingest statements kept prepared on the writer connection
	// across transactions, by query (see txStmts); copied on write
	stmts map[string]*sql.Stmt
}

type actorRef struct {
	ref  int64
	info insights.ActorInfo
}

type subjectRef struct {
	ref  int64
	name string
}

// refBatch holds the refs one ingest transaction uses: cached ones and new
// ones, published to the cache after commit.
type refBatch struct {
	orgs     map[string]int64
	actors   map[insights.ActorRef]actorRef
	subjects map[insights.SubjectRef]subjectRef
	routes   map[insights.RouteRef]int64
	fresh    bool // some refs were created or changed in this transaction
}

// rowsPerStatement is how many rows one multi-row INSERT carries.
const rowsPerStatement = 512

// statementRows is how many rows the next multi-row statement over n rows
// carries: rowsPerStatement, or for the rest of a batch the largest of a
// few fixed sizes, so that a handful of statements, prepared once and kept
// (see txStmts), serve every batch.
func statementRows(n int) int {
	for _, m := range [...]int{rowsPerStatement, 64, 8} {
		if n >= m {
			return m
		}
	}
	return 1
}

// txStmts hands out the statements of one write transaction: one the
// writer connection keeps prepared, or, for a query not kept yet, one
// prepared in the transaction and kept once it has ended (keep). Preparing
// a 512-row upsert costs about a tenth of executing it.
type txStmts struct {
	tx   *sql.Tx
	kept map[string]*sql.Stmt
	own  map[string]*sql.Stmt
	want []string
}

func (db *DB) txStmts(tx *sql.Tx) *txStmts {
	c := &db.insights
	c.mu.Lock()
	defer c.mu.Unlock()
	return &txStmts{tx: tx, kept: c.stmts, own: map[string]*sql.Stmt{}}
}

// get returns the statement of query, valid until the transaction ends.
func (s *txStmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := s.own[query]; st != nil {
		return st, nil
	}
	var st *sql.Stmt
	if k := s.kept[query]; k != nil {
		st = s.tx.StmtContext(ctx, k) // the connection's prepared statement
	} else {
		var err error
		if st, err = s.tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		s.want = append(s.want, query)
	}
	s.own[query] = st
	return st, nil
}

// keep prepares, on the writer, the queries the transaction of s prepared
// for itself, for the transactions after it. Call it after the
// transaction has ended, outside db.write; it is an optimization only, so
// a failure to prepare is ignored (the next transaction prepares again).
func (db *DB) keep(ctx context.Context, s *txStmts) {
	if s == nil || len(s.want) == 0 {
		return
	}
	c := &db.insights
	c.mu.Lock()
	have := c.stmts
	c.mu.Unlock()
	add := map[string]*sql.Stmt{}
	for _, q := range s.want {
		if have[q] != nil || add[q] != nil {
			continue
		}
		if st, err := db.writer.PrepareContext(ctx, q); err == nil {
			add[q] = st
		}
	}
	if len(add) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	stmts := make(map[string]*sql.Stmt, len(c.stmts)+len(add))
	for q, st := range c.stmts {
		stmts[q] = st
	}
	for q, st := range add {
		if stmts[q] != nil {
			st.Close()
			continue
		}
		stmts[q] = st
	}
	c.stmts = stmts
}

// InsightsIngest records events in one transaction: new event ids, then
// the roll-up deltas of the events not seen before. The single writer is
// held for writes alone: the events are aggregated, their id keys hashed
// and grouped, and (when every dimension already has a ref) the roll-up
// rows built, sorted and encoded before the transaction starts. Inside it
// they are aggregated again only when some turn out to be duplicates.
// It returns once the transaction has committed.
func (db *DB) InsightsIngest(ctx context.Context, events []insights.Event, cut insights.Cutoffs) (insights.IngestResult, error) {
	res := insights.IngestResult{Received: len(events)}
	if len(events) == 0 {
		return res, nil
	}
	roll := insights.AggregatePackedWith(events, cut, packOptions)
	keys := newDedupKeys(events)
	var rows *rollupRows
	if cached := db.snapshotRefs(); cached.has(roll) {
		rows = buildRows(roll, cached) // refs never change once committed
	}
	var refs *refBatch
	var stmts *txStmts
	err := db.write(ctx, func(tx *sql.Tx) error {
		stmts = db.txStmts(tx)
		fresh, err := dedup(ctx, stmts, events, keys)
		if err != nil {
			return err
		}
		res.Recorded, res.Duplicates = len(fresh), len(events)-len(fresh)
		if len(fresh) == 0 {
			return nil
		}
		roll, rows := roll, rows
		if len(fresh) != len(events) {
			roll, rows = insights.AggregatePackedWith(fresh, cut, packOptions), nil
		}
		if refs, err = db.intern(ctx, tx, roll); err != nil {
			return err
		}
		if rows == nil {
			rows = buildRows(roll, refs)
		}
		return writeRollup(ctx, stmts, rows)
	})
	db.keep(ctx, stmts)
	if err != nil {
		return insights.IngestResult{}, fmt.Errorf("insights ingest: %w", err)
	}
	if refs != nil && refs.fresh {
		db.publishRefs(refs)
	}
	return res, nil
}

// has reports whether b holds a ref for every dimension of roll.
func (b *refBatch) has(roll *insights.Packed) bool {
	for _, o := range roll.Orgs {
		if _, ok := b.orgs[o]; !ok {
			return false
		}
	}
	for _, a := range roll.Actors {
		if _, ok := b.actors[a]; !ok {
			return false
		}
	}
	for _, r := range roll.Routes {
		if _, ok := b.routes[r]; !ok {
			return false
		}
	}
	for _, sub := range roll.Subjects {
		if _, ok := b.subjects[sub]; !ok {
			return false
		}
	}
	return true
}

// seenGroup is one insights_seen row: a minute and a shard.
type seenGroup struct {
	bucket int64
	shard  int
}

// dedupKeys are the id keys of a batch, grouped by insights_seen row, each
// group sorted and without repeats; computed before the transaction.
type dedupKeys struct {
	ids    [][16]byte // by event; zero for events without an id
	withID int
	unique int          // distinct keys
	order  []seenGroup  // sorted
	keys   [][][16]byte // keys[i]: those of order[i]
}

func newDedupKeys(events []insights.Event) *dedupKeys {
	d := &dedupKeys{ids: make([][16]byte, len(events))}
	// Sorting by (minute, key) groups the keys: a key's shard is its
	// first four bits, so the keys of a minute come in shard order. The
	// key is compared as two big-endian words, and a batch in time order
	// (the common case) is sorted minute by minute, a few dozen keys each.
	type minuteKey struct {
		bucket int64
		hi, lo uint64
	}
	all := make([]minuteKey, 0, len(events))
	inOrder := true
	for i := range events {
		if events[i].ID == "" {
			continue
		}
		d.withID++
		k := insights.EventKey(events[i].ID)
		d.ids[i] = k
		mk := minuteKey{insights.Minute.Floor(events[i].Timestamp.Unix()), binary.BigEndian.Uint64(k[:8]), binary.BigEndian.Uint64(k[8:])}
		if n := len(all); n > 0 && mk.bucket < all[n-1].bucket {
			inOrder = false
		}
		all = append(all, mk)
	}
	byKey := func(a, b minuteKey) int {
		return cmp.Or(cmp.Compare(a.bucket, b.bucket), cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo))
	}
	if inOrder {
		for first := 0; first < len(all); {
			end := first + 1
			for end < len(all) && all[end].bucket == all[first].bucket {
				end++
			}
			slices.SortFunc(all[first:end], byKey)
			first = end
		}
	} else {
		slices.SortFunc(all, byKey)
	}
	flat := make([][16]byte, 0, len(all))
	for i, mk := range all {
		if i > 0 && mk == all[i-1] {
			continue // repeated within the batch
		}
		var k [16]byte
		binary.BigEndian.PutUint64(k[:8], mk.hi)
		binary.BigEndian.PutUint64(k[8:], mk.lo)
		g := seenGroup{mk.bucket, int(k[0] >> 4)}
		if n := len(d.order); n == 0 || d.order[n-1] != g {
			d.order = append(d.order, g)
			d.keys = append(d.keys, flat[len(flat):len(flat)])
		}
		flat = append(flat, k)
		d.keys[len(d.keys)-1] = d.keys[len(d.keys)-1][:len(d.keys[len(d.keys)-1])+1]
	}
	d.unique = len(flat)
	return d
}

// dedup records the (minute, id key) of events in insights_seen and
// returns the events whose key was new (and those without an id), in
// order; an event repeated within the batch counts once. dk holds the
// events' keys.
func dedup(ctx context.Context, st *txStmts, events []insights.Event, dk *dedupKeys) ([]insights.Event, error) {
	if dk.withID == 0 {
		return events, nil
	}
	ids, order, withID := dk.ids, dk.order, dk.withID
	var buckets []int64
	for _, g := range order {
		if n := len(buckets); n == 0 || buckets[n-1] != g.bucket {
			buckets = append(buckets, g.bucket)
		}
	}
	stored, err := loadSeen(ctx, st, buckets)
	if err != nil {
		return nil, err
	}
	// fresh[key] is true for keys of this batch not recorded before.
	type seenKey struct {
		bucket int64
		k      [16]byte
	}
	newKeys := make([]seenKey, 0, dk.unique)
	w := &seenWriter{st: st}
	type shardKeys struct {
		shard       int
		have, added []byte // stored keys; added: new ones, sorted
	}
	var shards []shardKeys
	for first := 0; first < len(order); {
		bucket := order[first].bucket
		n := 1
		for first+n < len(order) && order[first+n].bucket == bucket {
			n++
		}
		gs, gkeys := order[first:first+n], dk.keys[first:first+n]
		first += n
		sm := stored[bucket]
		if sm == nil {
			sm = &seenMinute{}
		}
		existing := &sm.keys
		whole, hasWhole := existing[insights.SeenWholeMinute], sm.present[insights.SeenWholeMinute]
		shards = shards[:0]
		nAdded := 0
		for gi, g := range gs {
			have := existing[g.shard]
			var added []byte
			for _, k := range gkeys[gi] {
				if !insights.KeysContain(have, &k) && !insights.KeysContain(whole, &k) {
					newKeys = append(newKeys, seenKey{g.bucket, k})
					added = append(added, k[:]...)
				}
			}
			if len(added) > 0 {
				shards = append(shards, shardKeys{g.shard, have, added})
				nAdded += len(added) / 16
			}
		}
		if nAdded == 0 {
			continue
		}
		// A minute stored in its whole-minute row only (or not at all)
		// stays in it while it holds few keys: the groups are in shard
		// order and a shard is the first four bits of its keys, so their
		// keys, one group after the other, are sorted.
		onlyWhole := sm.rows == 0 || (sm.rows == 1 && hasWhole)
		if onlyWhole && len(whole)/16+nAdded <= insights.SeenWholeMinuteKeys {
			var all []byte
			for _, sk := range shards {
				all = append(all, sk.added...)
			}
			if err := w.add(ctx, bucket, insights.SeenWholeMinute, mergeKeyBytes(whole, all)); err != nil {
				return nil, err
			}
			continue
		}
		for _, sk := range shards {
			if err := w.add(ctx, bucket, sk.shard, mergeKeyBytes(sk.have, sk.added)); err != nil {
				return nil, err
			}
		}
	}
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	if len(newKeys) == withID { // every key new, none repeated: the common case
		return events, nil
	}
	fresh := make(map[seenKey]bool, len(newKeys))
	for _, k := range newKeys {
		fresh[k] = true
	}
	out := make([]insights.Event, 0, len(events))
	for i := range events {
		if events[i].ID == "" {
			out = append(out, events[i])
			continue
		}
		k := seenKey{insights.Minute.Floor(events[i].Timestamp.Unix()), ids[i]}
		if fresh[k] {
			out = append(out, events[i])
			fresh[k] = false // a repeated event within the batch counts once
		}
	}
	return out, nil
}

// seenMinute is the insights_seen rows of one minute.
type seenMinute struct {
	keys    [insights.SeenWholeMinute + 1][]byte // by shard
	present [insights.SeenWholeMinute + 1]bool   // the shard has a row
	rows    int
}

// loadSeen reads the insights_seen rows of the minutes buckets (sorted):
// with one range scan when they are dense (a batch in time order, the
// common case), else one lookup per minute.
func loadSeen(ctx context.Context, st *txStmts, buckets []int64) (map[int64]*seenMinute, error) {
	out := make(map[int64]*seenMinute, len(buckets))
	if len(buckets) == 0 {
		return out, nil
	}
	read := func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var bucket int64
			var shard int
			var keys []byte
			if err := rows.Scan(&bucket, &shard, &keys); err != nil {
				return err
			}
			if len(keys)%16 != 0 || shard < 0 || shard > insights.SeenWholeMinute {
				return errCorrupt
			}
			sm := out[bucket]
			if sm == nil {
				sm = &seenMinute{}
				out[bucket] = sm
			}
			if !sm.present[shard] {
				sm.rows++
			}
			sm.keys[shard], sm.present[shard] = keys, true
		}
		return rows.Close()
	}
	lo, hi := buckets[0], buckets[len(buckets)-1]
	if (hi-lo)/60+1 <= 4*int64(len(buckets)) {
		sel, err := st.get(ctx, "SELECT bucket, shard, keys FROM insights_seen WHERE bucket >= ? AND bucket <= ?")
		if err != nil {
			return nil, err
		}
		return out, read(sel.QueryContext(ctx, lo, hi))
	}
	sel, err := st.get(ctx, "SELECT bucket, shard, keys FROM insights_seen WHERE bucket = ?")
	if err != nil {
		return nil, err
	}
	for _, b := range buckets {
		if err := read(sel.QueryContext(ctx, b)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mergeKeyBytes merges the sorted 16-byte keys add into the sorted key
// list have.
func mergeKeyBytes(have, add []byte) []byte {
	out := make([]byte, 0, len(have)+len(add))
	i := 0
	for j := 0; j < len(add); j += 16 {
		k := add[j : j+16]
		for i < len(have) && bytes.Compare(have[i:i+16], k) < 0 {
			out = append(out, have[i:i+16]...)
			i += 16
		}
		out = append(out, k...)
	}
	return append(out, have[i:]...)
}

// seenWriter writes insights_seen rows with multi-row upserts.
type seenWriter struct {
	st   *txStmts
	args []any
	n    int
}

func (w *seenWriter) add(ctx context.Context, bucket int64, shard int, keys []byte) error {
	w.args = append(w.args, bucket, shard, keys)
	w.n++
	if w.n == rowsPerStatement {
		return w.flush(ctx)
	}
	return nil
}

// flush writes the rows added, in statements of statementRows rows.
func (w *seenWriter) flush(ctx context.Context) error {
	for rest := w.args; len(rest) > 0; {
		m := statementRows(len(rest) / 3)
		st, err := w.st.get(ctx, "INSERT INTO insights_seen (bucket, shard, keys) VALUES "+placeholders(m, 3)+
			" ON CONFLICT (bucket, shard) DO UPDATE SET keys = excluded.keys")
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, rest[:3*m]...); err != nil {
			return err
		}
		rest = rest[3*m:]
	}
	w.args, w.n = w.args[:0], 0
	return nil
}

// placeholders returns "(?,?),(?,?)…": n groups of cols.
func placeholders(n, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", n), ",")
}

func (db *DB) snapshotRefs() *refBatch {
	c := &db.insights
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.orgs == nil {
		c.orgs = map[string]int64{}
		c.actors = map[insights.ActorRef]actorRef{}
		c.subjects = map[insights.SubjectRef]subjectRef{}
		c.routes = map[insights.RouteRef]int64{}
	}
	return &refBatch{orgs: c.orgs, actors: c.actors, subjects: c.subjects, routes: c.routes}
}

func (db *DB) publishRefs(b *refBatch) {
	c := &db.insights
	c.mu.Lock()
	defer c.mu.Unlock()
	// Copy on write: readers of the old maps (other batches) keep them.
	orgs := make(map[string]int64, len(c.orgs)+len(b.orgs))
	for k, v := range c.orgs {
		orgs[k] = v
	}
	for k, v := range b.orgs {
		orgs[k] = v
	}
	actors := make(map[insights.ActorRef]actorRef, len(c.actors)+len(b.actors))
	for k, v := range c.actors {
		actors[k] = v
	}
	for k, v := range b.actors {
		actors[k] = v
	}
	subjects := make(map[insights.SubjectRef]subjectRef, len(c.subjects)+len(b.subjects))
	for k, v := range c.subjects {
		subjects[k] = v
	}
	for k, v := range b.subjects {
		subjects[k] = v
	}
	routes := make(map[insights.RouteRef]int64, len(c.routes)+len(b.routes))
	for k, v := range c.routes {
		routes[k] = v
	}
	for k, v := range b.routes {
		routes[k] = v
	}
	c.orgs, c.actors, c.subjects, c.routes = orgs, actors, subjects, routes
}

// intern finds or creates the refs of every dimension in roll, updating
// actor and subject names to those of their latest event.
func (db *DB) intern(ctx context.Context, tx *sql.Tx, roll *insights.Packed) (*refBatch, error) {
	cached := db.snapshotRefs()
	b := &refBatch{orgs: map[string]int64{}, actors: map[insights.ActorRef]actorRef{},
		subjects: map[insights.SubjectRef]subjectRef{}, routes: map[insights.RouteRef]int64{}}
	for _, org := range roll.Orgs {
		if ref, ok := cached.orgs[org]; ok {
			b.orgs[org] = ref
			continue
		}
		var ref int64
		err := tx.QueryRowContext(ctx, `INSERT INTO insights_orgs (login) VALUES (?)
			ON CONFLICT (login) DO UPDATE SET login = excluded.login RETURNING ref`, org).Scan(&ref)
		if err != nil {
			return nil, err
		}
		b.orgs[org], b.fresh = ref, true
	}
	for a, info := range roll.ActorInfo {
		if c, ok := cached.actors[a]; ok && (c.info.Seen > info.Seen || sameActor(c.info, info)) {
			b.actors[a] = c
			continue
		}
		var c actorRef
		err := tx.QueryRowContext(ctx, `INSERT INTO insights_actors (actor_type, actor_id, actor_name, oauth_application_id, integration_id, seen)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (actor_type, actor_id) DO UPDATE SET
				actor_name = CASE WHEN excluded.seen >= seen THEN excluded.actor_name ELSE actor_name END,
				oauth_application_id = CASE WHEN excluded.seen >= seen THEN excluded.oauth_application_id ELSE oauth_application_id END,
				integration_id = CASE WHEN excluded.seen >= seen THEN excluded.integration_id ELSE integration_id END,
				seen = max(seen, excluded.seen)
			RETURNING ref, actor_name, oauth_application_id, integration_id, seen`,
			string(a.Type), a.ID, info.Name, info.OAuthApplicationID, info.IntegrationID, info.Seen).
			Scan(&c.ref, &c.info.Name, &c.info.OAuthApplicationID, &c.info.IntegrationID, &c.info.Seen)
		if err != nil {
			return nil, err
		}
		b.actors[a], b.fresh = c, true
	}
	for s, info := range roll.SubjectInfo {
		if c, ok := cached.subjects[s]; ok && (c.name == info.Name) {
			b.subjects[s] = c
			continue
		}
		var c subjectRef
		err := tx.QueryRowContext(ctx, `INSERT INTO insights_subjects (subject_type, subject_id, subject_name, seen) VALUES (?, ?, ?, ?)
			ON CONFLICT (subject_type, subject_id) DO UPDATE SET
				subject_name = CASE WHEN excluded.seen >= seen THEN excluded.subject_name ELSE subject_name END,
				seen = max(seen, excluded.seen)
			RETURNING ref, subject_name`, s.Type, s.ID, info.Name, info.Seen).Scan(&c.ref, &c.name)
		if err != nil {
			return nil, err
		}
		b.subjects[s], b.fresh = c, true
	}
	for _, r := range roll.Routes {
		if ref, ok := cached.routes[r]; ok {
			b.routes[r] = ref
			continue
		}
		var ref int64
		err := tx.QueryRowContext(ctx, `INSERT INTO insights_routes (http_method, api_route) VALUES (?, ?)
			ON CONFLICT (http_method, api_route) DO UPDATE SET api_route = excluded.api_route RETURNING ref`, r.Method, r.Route).Scan(&ref)
		if err != nil {
			return nil, err
		}
		b.routes[r], b.fresh = ref, true
	}
	return b, nil
}

func sameActor(a, b insights.ActorInfo) bool {
	return a.Name == b.Name && a.OAuthApplicationID == b.OAuthApplicationID && a.IntegrationID == b.IntegrationID
}

// packedTable describes a roll-up table: its key columns (ending with lvl
// and bucket) and its packed group-list column. A folded table's minutes
// are written into its hour rows (see hourMinutes); rows written before
// keep them in lvlMinuteDetail rows.
type packedTable struct {
	name   string
	keys   []string
	list   string
	folded bool
	// detail is the table of a folded table's hour detail lists, keyed
	// by its key columns but lvl (see hourDetailCol)
	detail string
}

var (
	// orgTable holds organization totals only (no list): series scan it.
	orgTable     = packedTable{"insights_r_org", []string{"org", "lvl", "bucket"}, "", false, ""}
	subjectTable = packedTable{"insights_r_subjects", []string{"org", "lvl", "bucket"}, "subjects", false, ""}
	actorTable   = packedTable{"insights_r_actor", []string{"org", "actor", "lvl", "bucket"}, "routes", true, "insights_d_actor"}
	userTable    = packedTable{"insights_r_user", []string{"org", "user_id", "lvl", "bucket"}, "actors", true, "insights_d_user"}
)

// lvlMinuteDetail is the lvl of the five-minute rows the actor and user
// tables were written with before their minutes moved into their hour rows
// (hourMinutes): lists of one entry per group and minute (the minute of its
// last request time). Such rows, and rows of lvl 0 and 1 written before
// them, are still read: each event is in exactly one of lvl 0 and 1, lvl
// 4, or the minutes of its hour row, so adding up all three stays exact
// without converting stored rows.
const lvlMinuteDetail = 4

// The actor and user tables keep their minutes in their hour rows (lvl 2):
// minutes, the hour's requests by minute (a packed list whose refs are
// minute indexes in the hour, 0-59), a column of the hour row; and detail,
// its requests by group and minute (a packed list of minute entries, as
// lvlMinuteDetail rows hold), a row of the table's detail table keyed by
// the hour. The detail stays out of the roll-up rows because a range scan
// of a WITHOUT ROWID table reads each row it steps over whole (overflow
// pages included) to compare it with the range's end, and a busy hour's
// detail is tens of kilobytes that series never read; only the hours at
// the edges of a range read it, by key. No minute or five-minute row is written for
// actors and users: on sparse traffic most of an actor's five-minute
// buckets hold a request or two, and their rows were three quarters of the
// rows a batch wrote. Minute and five-minute series and totals read the
// minutes column of the hour rows overlapping the range (at most 60
// entries a row), lists of minute and five-minute ranges their detail
// column; both are filtered by minute.
const (
	hourMinutesCol = "minutes"
	hourDetailCol  = "detail"
)

// packOptions is how the embedded store aggregates a batch: with the
// minutes of actors and users in their hour rows.
var packOptions = insights.PackOptions{HourMinutes: true}

// packedRow is the delta of one roll-up row.
type packedRow struct {
	key     [4]int64 // key column values, in order; bucket is key[len(keys)-1]
	total   int64
	rl      int64
	entries []entry
	blob    []byte // entries, encoded
	// an hour row of a folded table: its requests by minute and by
	// group and minute, encoded (nil: none)
	minutes, detail []byte
}

// toRows maps packed rows to table rows, turning dictionary indexes into
// refs, encodes their lists and sorts them by key (n key columns, the
// last one the bucket).
func toRows(src []insights.PackedRow, key func(r *insights.PackedRow) [4]int64, ref []int64, n int) []*packedRow {
	out := make([]*packedRow, len(src))
	all := make([]packedRow, len(src))
	total := 0
	for i := range src {
		total += len(src[i].Entries)
	}
	ents := make([]entry, total) // every row's entries, in one allocation
	var lists []byte
	ends := make([]int, len(src))
	for i := range src {
		r := &src[i]
		pr := &all[i]
		es := ents[:len(r.Entries):len(r.Entries)]
		ents = ents[len(r.Entries):]
		*pr = packedRow{key: key(r), total: r.Total, rl: r.RateLimited, entries: es}
		for j, e := range r.Entries {
			pr.entries[j] = entry{Ref: ref[e.Ref], Counts: e.Counts}
		}
		lists = encodeEntries(lists, pr.entries, pr.key[n-1])
		ends[i] = len(lists)
		out[i] = pr
	}
	start := 0
	for i := range all {
		all[i].blob = lists[start:ends[i]:ends[i]]
		start = ends[i]
	}
	encodeHourMinutes(src, all, ref, n)
	slices.SortFunc(out, func(a, b *packedRow) int { return compareKeys(&a.key, &b.key) })
	return out
}

// encodeHourMinutes encodes the minutes and detail lists of the rows of src
// (already mapped to rows) that have Minutes.
func encodeHourMinutes(src []insights.PackedRow, rows []packedRow, ref []int64, n int) {
	total := 0
	for i := range src {
		total += len(src[i].Minutes)
	}
	if total == 0 {
		return
	}
	ents := make([]entry, 0, total)
	var buf []byte
	type span struct{ m0, m1, d0, d1 int }
	spans := make([]span, len(src))
	for i := range src {
		r := &src[i]
		if len(r.Minutes) == 0 {
			continue
		}
		bucket := rows[i].key[n-1]
		// by minute: at most 60 entries, ref the minute's index
		var mins [60]insights.Counts
		for _, e := range r.Minutes {
			m := &mins[(insights.Minute.Floor(e.Last)-bucket)/60%60]
			m.Add(e.Counts)
		}
		es := ents[:0]
		for m := range mins {
			if mins[m].Total != 0 || mins[m].RateLimited != 0 {
				es = append(es, entry{Ref: int64(m), Counts: mins[m]})
			}
		}
		sp := span{m0: len(buf)}
		buf = encodeEntries(buf, es, bucket)
		sp.m1, sp.d0 = len(buf), len(buf)
		es = es[:0]
		for _, e := range r.Minutes {
			es = append(es, entry{Ref: ref[e.Ref], Counts: e.Counts})
		}
		buf = encodeEntries(buf, es, bucket)
		sp.d1 = len(buf)
		spans[i] = sp
	}
	for i := range src {
		if sp := spans[i]; sp.d1 > 0 {
			rows[i].minutes = buf[sp.m0:sp.m1:sp.m1]
			rows[i].detail = buf[sp.d0:sp.d1:sp.d1]
		}
	}
}

// rollupRows are a batch's roll-up rows, sorted by key, lists encoded.
type rollupRows struct {
	orgs, actors, users []*packedRow
}

// buildRows maps roll's rows to table rows with refs.
func buildRows(roll *insights.Packed, refs *refBatch) *rollupRows {
	orgRefs := make([]int64, len(roll.Orgs))
	for i, o := range roll.Orgs {
		orgRefs[i] = refs.orgs[o]
	}
	actorRefs := make([]int64, len(roll.Actors))
	for i, a := range roll.Actors {
		actorRefs[i] = refs.actors[a].ref
	}
	routeRefs := make([]int64, len(roll.Routes))
	for i, r := range roll.Routes {
		routeRefs[i] = refs.routes[r]
	}
	subjectRefs := make([]int64, len(roll.Subjects))
	for i, s := range roll.Subjects {
		subjectRefs[i] = refs.subjects[s].ref
	}
	rows := &rollupRows{
		orgs: toRows(roll.OrgRows, func(r *insights.PackedRow) [4]int64 {
			return [4]int64{orgRefs[r.Org], int64(r.Level), r.Bucket}
		}, subjectRefs, 3),
		actors: toRows(roll.ActorRows, func(r *insights.PackedRow) [4]int64 {
			return [4]int64{orgRefs[r.Org], actorRefs[r.Key], int64(r.Level), r.Bucket}
		}, routeRefs, 4),
		users: toRows(roll.UserRows, func(r *insights.PackedRow) [4]int64 {
			return [4]int64{orgRefs[r.Org], r.Key, int64(r.Level), r.Bucket}
		}, actorRefs, 4),
	}
	return rows
}

func writeRollup(ctx context.Context, tx *txStmts, rows *rollupRows) error {
	for _, w := range []struct {
		t    packedTable
		rows []*packedRow
	}{{subjectTable, rows.orgs}, {actorTable, rows.actors}, {userTable, rows.users}} {
		if err := writePacked(ctx, tx, w.t, w.rows); err != nil {
			return err // names the table
		}
	}
	return writeTotals(ctx, tx, orgTable, rows.orgs)
}

// writeTotals adds the totals of rows to a table without a list.
func writeTotals(ctx context.Context, tx *txStmts, t packedTable, rows []*packedRow) error {
	cols := strings.Join(t.keys, ", ")
	return upsertRows(ctx, tx, t, rows, false, func(m int) string {
		return fmt.Sprintf("INSERT INTO %s (%s, total, rl) VALUES %s ON CONFLICT (%s) DO UPDATE SET total = total + excluded.total, rl = rl + excluded.rl",
			t.name, cols, placeholders(m, len(t.keys)+2), cols)
	})
}

// writePacked adds rows to table t in key order with multi-row upserts:
// a row that already exists gets the totals added and its list merged
// with insights_merge, inside SQLite, without being read back.
func writePacked(ctx context.Context, tx *txStmts, t packedTable, sorted []*packedRow) error {
	cols := strings.Join(t.keys, ", ")
	merge := fmt.Sprintf("%s(%s, excluded.%s, excluded.bucket)", mergeListsFunc, t.list, t.list)
	if t.folded {
		merge = fmt.Sprintf("CASE WHEN excluded.lvl = %d THEN %s(%s, excluded.%s, excluded.bucket) ELSE %s END",
			lvlMinuteDetail, mergeMinutesFunc, t.list, t.list, merge)
	}
	if !t.folded {
		return upsertRows(ctx, tx, t, sorted, true, func(m int) string {
			return fmt.Sprintf("INSERT INTO %s (%s, total, rl, %s) VALUES %s ON CONFLICT (%s) DO UPDATE SET total = total + excluded.total, rl = rl + excluded.rl, %s = %s",
				t.name, cols, t.list, placeholders(m, len(t.keys)+3), cols, t.list, merge)
		})
	}
	// an hour row's minutes: kept when the batch has none, merged when
	// both have some
	err := upsertRows(ctx, tx, t, sorted, true, func(m int) string {
		return fmt.Sprintf("INSERT INTO %[1]s (%[2]s, total, rl, %[3]s, %[4]s) VALUES %[5]s ON CONFLICT (%[2]s) DO UPDATE SET total = total + excluded.total, rl = rl + excluded.rl, %[3]s = %[6]s, "+
			"%[4]s = CASE WHEN excluded.%[4]s IS NULL THEN %[4]s WHEN %[4]s IS NULL THEN excluded.%[4]s ELSE %[7]s(%[4]s, excluded.%[4]s, excluded.bucket) END",
			t.name, cols, t.list, hourMinutesCol, placeholders(m, len(t.keys)+4), merge, mergeListsFunc)
	})
	if err != nil {
		return err
	}
	return writeDetail(ctx, tx, t, sorted)
}

// writeDetail adds the detail lists of the hour rows among sorted (in key
// order) to t's detail table, merging a list with the stored one.
func writeDetail(ctx context.Context, tx *txStmts, t packedTable, sorted []*packedRow) error {
	var rows []*packedRow
	for _, r := range sorted {
		if r.detail != nil {
			rows = append(rows, r)
		}
	}
	// the key columns but lvl: the detail table's key
	n := len(t.keys)
	keys := append(slices.Clone(t.keys[:n-2]), t.keys[n-1])
	cols := strings.Join(keys, ", ")
	args := make([]any, 0, (len(keys)+1)*rowsPerStatement)
	for rest := rows; len(rest) > 0; {
		m := statementRows(len(rest))
		q := fmt.Sprintf("INSERT INTO %[1]s (%[2]s, %[3]s) VALUES %[4]s ON CONFLICT (%[2]s) DO UPDATE SET %[3]s = %[5]s(%[3]s, excluded.%[3]s, excluded.bucket)",
			t.detail, cols, hourDetailCol, placeholders(m, len(keys)+1), mergeMinutesFunc)
		st, err := tx.get(ctx, q)
		if err != nil {
			return err
		}
		args = args[:0]
		for _, r := range rest[:m] {
			for _, v := range r.key[:n-2] {
				args = append(args, v)
			}
			args = append(args, r.key[n-1], r.detail)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("%s: %w", t.detail, err)
		}
		rest = rest[m:]
	}
	return nil
}

// upsertRows runs the statement query(m) over rows, rowsPerStatement rows
// at a time, binding each row's key columns, its totals and, with list,
// its packed list. Statements are prepared once per row count.
func upsertRows(ctx context.Context, tx *txStmts, t packedTable, rows []*packedRow, list bool, query func(m int) string) error {
	n := len(t.keys)
	args := make([]any, 0, (n+4)*rowsPerStatement)
	for rest := rows; len(rest) > 0; {
		m := statementRows(len(rest))
		st, err := tx.get(ctx, query(m))
		if err != nil {
			return err
		}
		args = args[:0]
		for _, r := range rest[:m] {
			for _, v := range r.key[:n] {
				args = append(args, v)
			}
			args = append(args, r.total, r.rl)
			if list {
				args = append(args, r.blob)
			}
			if list && t.folded {
				if r.minutes == nil {
					args = append(args, nil) // NULL
				} else {
					args = append(args, r.minutes)
				}
			}
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		rest = rest[m:]
	}
	return nil
}

// compareKeys orders roll-up keys (unused trailing columns are zero).
func compareKeys(a, b *[4]int64) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// storedSeg is a range of stored rows: those of lvl whose bucket is in
// [start, end), holding buckets of level.
type storedSeg struct {
	lvl        int64
	start, end int64
	level      insights.Level
}

// storedSegs maps segments to the rows of t that hold them whole. In a
// folded table a five-minute segment is also its lvlMinuteDetail rows, and
// a minute segment also the minutes it returns in detail: those to read
// from the lvlMinuteDetail rows, by entry (see minuteDetail); and both are
// also in hours, the segments to read from the minutes of hour rows (see
// hourMinutes).
func storedSegs(t packedTable, segs []insights.Segment) (whole []storedSeg, detail, hours []insights.Segment) {
	whole = make([]storedSeg, 0, len(segs)+2)
	for _, s := range segs {
		whole = append(whole, storedSeg{int64(s.Level), s.Start, s.End, s.Level})
		if !t.folded {
			continue
		}
		switch s.Level {
		case insights.FiveMinutes:
			whole = append(whole, storedSeg{lvlMinuteDetail, s.Start, s.End, s.Level})
			hours = append(hours, s)
		case insights.Minute:
			detail = append(detail, s)
			hours = append(hours, s)
		}
	}
	return whole, detail, hours
}

// hourMinutes calls fn with every entry of the scope's hour minutes
// (col hourMinutesCol: of the hour rows of folded table t) or hour detail
// (hourDetailCol: of t's detail table) whose minute lies in one of the
// segments (of minutes or five minutes), with the segment, in segment and
// row order. One statement reads, for each segment, the hours overlapping
// it; each keeps its own minutes, so no entry is given twice.
func (db *DB) hourMinutes(ctx context.Context, t packedTable, col, prefix string, prefixArgs []any, segs []insights.Segment,
	fn func(s insights.Segment, ref int64, c insights.Counts)) error {
	if len(segs) == 0 {
		return nil
	}
	table, hours := t.name, fmt.Sprintf("lvl = %d AND ", insights.Hour)
	if col == hourDetailCol {
		table, hours = t.detail, ""
	}
	var b strings.Builder
	var args []any
	for i, s := range segs {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, "SELECT * FROM (SELECT %d, bucket, %s FROM %s WHERE %s AND %sbucket >= ? AND bucket < ? AND %s IS NOT NULL ORDER BY bucket)",
			i, col, table, prefix, hours, col)
		args = append(args, prefixArgs...)
		args = append(args, insights.Hour.Floor(s.Start), s.End)
	}
	rows, err := db.reader.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var list sql.RawBytes
	for rows.Next() {
		var seg int
		var bucket int64
		if err := rows.Scan(&seg, &bucket, &list); err != nil {
			return err
		}
		if seg < 0 || seg >= len(segs) {
			return errCorrupt
		}
		s := segs[seg]
		err := decodeEntries(list, bucket, func(ref int64, c insights.Counts) {
			if m := insights.Minute.Floor(c.Last); m >= s.Start && m < s.End {
				fn(s, ref, c)
			}
		})
		if err != nil {
			return err
		}
	}
	return rows.Err()
}

// segmentSQL returns "SELECT cols FROM table WHERE prefix AND lvl = ? AND
// bucket >= ? AND bucket < ?" for each segment, joined by UNION ALL, and
// its arguments: each branch is one range scan of the primary key.
func segmentSQL(cols, table, prefix string, prefixArgs []any, segs []storedSeg) (string, []any) {
	var b strings.Builder
	var args []any
	for i, s := range segs {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, "SELECT %s FROM %s WHERE %s AND lvl = ? AND bucket >= ? AND bucket < ?", cols, table, prefix)
		args = append(args, prefixArgs...)
		args = append(args, s.lvl, s.start, s.end)
	}
	return b.String(), args
}

// minuteDetail calls fn with every entry of the scope's lvlMinuteDetail
// rows (of folded table t) whose minute lies in one of the minute
// segments, and the start of its row, in row order. Each segment reads the
// five-minute rows overlapping it and keeps its own minutes, so no entry
// is given twice.
func (db *DB) minuteDetail(ctx context.Context, t packedTable, prefix string, prefixArgs []any, segs []insights.Segment,
	fn func(row, ref int64, c insights.Counts)) error {
	for _, s := range segs {
		q, args := segmentSQL("bucket, "+t.list, t.name, prefix, prefixArgs,
			[]storedSeg{{lvlMinuteDetail, insights.FiveMinutes.Floor(s.Start), s.End, insights.FiveMinutes}})
		rows, err := db.reader.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		var list sql.RawBytes
		for rows.Next() {
			var bucket int64
			if err := rows.Scan(&bucket, &list); err != nil {
				rows.Close()
				return err
			}
			err := decodeEntries(list, bucket, func(ref int64, c insights.Counts) {
				if m := insights.Minute.Floor(c.Last); m >= s.Start && m < s.End {
					fn(bucket, ref, c)
				}
			})
			if err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) orgRef(ctx context.Context, org string) (int64, bool, error) {
	if ref, ok := db.snapshotRefs().orgs[org]; ok {
		return ref, true, nil
	}
	var ref int64
	err := db.reader.QueryRowContext(ctx, "SELECT ref FROM insights_orgs WHERE login = ?", org).Scan(&ref)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	return ref, err == nil, err
}

func (db *DB) actorRef(ctx context.Context, a insights.ActorRef) (int64, bool, error) {
	if c, ok := db.snapshotRefs().actors[a]; ok {
		return c.ref, true, nil
	}
	var ref int64
	err := db.reader.QueryRowContext(ctx, "SELECT ref FROM insights_actors WHERE actor_type = ? AND actor_id = ?",
		string(a.Type), a.ID).Scan(&ref)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	return ref, err == nil, err
}

// scopeSQL picks the roll-up table for a scope and its key prefix.
func (db *DB) scopeSQL(ctx context.Context, s insights.Scope) (t packedTable, prefix string, args []any, ok bool, err error) {
	org, ok, err := db.orgRef(ctx, s.Org)
	if !ok || err != nil {
		return t, "", nil, false, err
	}
	switch {
	case s.UserID != 0:
		return userTable, "org = ? AND user_id = ?", []any{org, s.UserID}, true, nil
	case s.Actor.ID != 0:
		actor, ok, err := db.actorRef(ctx, s.Actor)
		if !ok || err != nil {
			return t, "", nil, false, err
		}
		return actorTable, "org = ? AND actor = ?", []any{org, actor}, true, nil
	}
	return orgTable, "org = ?", []any{org}, true, nil
}

func (db *DB) InsightsTotals(ctx context.Context, s insights.Scope, segs []insights.Segment) (insights.Counts, error) {
	var c insights.Counts
	t, prefix, args, ok, err := db.scopeSQL(ctx, s)
	if !ok || err != nil || len(segs) == 0 {
		return c, err
	}
	whole, detail, hours := storedSegs(t, segs)
	inner, qargs := segmentSQL("total, rl", t.name, prefix, args, whole)
	err = db.reader.QueryRowContext(ctx, "SELECT COALESCE(SUM(total), 0), COALESCE(SUM(rl), 0) FROM ("+inner+")", qargs...).
		Scan(&c.Total, &c.RateLimited)
	if err != nil {
		return c, err
	}
	add := func(e insights.Counts) {
		c.Total += e.Total
		c.RateLimited += e.RateLimited
	}
	if err := db.minuteDetail(ctx, t, prefix, args, detail, func(_, _ int64, e insights.Counts) { add(e) }); err != nil {
		return c, err
	}
	err = db.hourMinutes(ctx, t, hourMinutesCol, prefix, args, hours, func(_ insights.Segment, _ int64, e insights.Counts) { add(e) })
	return c, err
}

// InsightsSeries reads the scope's buckets in the segments with one
// statement: the segments are a table of constant rows joined to the
// roll-up table, so each segment is one range scan of its primary key, as
// with segmentSQL, but the statement is a single flat loop and returns only
// the three columns the series needs (a 30-day series in five-minute
// buckets is 8,640 rows, and each column of each row costs a driver call).
// A row's level is the level of the segment holding its bucket.
func (db *DB) InsightsSeries(ctx context.Context, s insights.Scope, segs []insights.Segment) ([]insights.BucketCounts, error) {
	t, prefix, args, ok, err := db.scopeSQL(ctx, s)
	if !ok || err != nil || len(segs) == 0 {
		return nil, err
	}
	whole, detail, hours := storedSegs(t, segs)
	out, err := db.seriesRows(ctx, t, prefix, args, whole, seriesCap(segs))
	if err != nil || (len(detail) == 0 && len(hours) == 0 && len(whole) == len(segs)) {
		return out, err
	}
	// A folded table: minutes from their five-minute rows' entries (one
	// five-minute row's minutes at a time, in time order), minutes and
	// five minutes from their hour rows' minutes, and buckets stored at
	// several lvls (rows written before) summed.
	minutes := insights.NewMinuteFolder(out)
	err = db.minuteDetail(ctx, t, prefix, args, detail, func(bucket, _ int64, c insights.Counts) { minutes.Add(bucket, c) })
	if err != nil {
		return nil, err
	}
	out = minutes.Buckets()
	err = db.hourMinutes(ctx, t, hourMinutesCol, prefix, args, hours, func(s insights.Segment, _ int64, c insights.Counts) {
		b := s.Level.Floor(c.Last)
		if k := len(out) - 1; k >= 0 && out[k].Bucket == b && out[k].Level == s.Level { // the minutes of one bucket come in a row
			out[k].Total += c.Total
			out[k].RateLimited += c.RateLimited
			return
		}
		out = append(out, insights.BucketCounts{Level: s.Level, Bucket: b, Total: c.Total, RateLimited: c.RateLimited})
	})
	if err != nil {
		return nil, err
	}
	return insights.SumBuckets(out), nil
}

// seriesRows reads the rows of the stored segments segs, as InsightsSeries
// describes.
func (db *DB) seriesRows(ctx context.Context, t packedTable, prefix string, args []any, segs []storedSeg, capacity int) ([]insights.BucketCounts, error) {
	q, args := seriesSQL(t.name, prefix, args, segs)
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]insights.BucketCounts, 0, capacity)
	seg := 0
	// Scanning into any skips database/sql's reflection; the driver
	// returns INTEGER columns as int64.
	var bucket, total, rl any
	for rows.Next() {
		if err := rows.Scan(&bucket, &total, &rl); err != nil {
			return nil, err
		}
		bv, ok1 := bucket.(int64)
		tv, ok2 := total.(int64)
		rv, ok3 := rl.(int64)
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("sqlite: %s: a bucket row is not integers (%T, %T, %T)", t.name, bucket, total, rl)
		}
		if g := segs[seg]; bv < g.start || bv >= g.end {
			if seg = segmentOf(segs, bv); seg < 0 {
				return nil, fmt.Errorf("sqlite: %s: bucket %d is outside the segments read", t.name, bv)
			}
		}
		out = append(out, insights.BucketCounts{Level: segs[seg].level, Bucket: bv, Total: tv, RateLimited: rv})
	}
	return out, rows.Err()
}

// seriesSQL returns the statement InsightsSeries runs and its arguments:
// "WITH s(...) AS (VALUES (lvl, start, end), ...) SELECT bucket, total, rl
// FROM s CROSS JOIN table WHERE prefix AND lvl = s.lvl AND bucket in
// [start, end)". CROSS JOIN keeps the segments as the outer loop.
func seriesSQL(table, prefix string, prefixArgs []any, segs []storedSeg) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 3*len(segs)+len(prefixArgs))
	b.WriteString("WITH seg(seg_lvl, seg_start, seg_end) AS (VALUES ")
	for i, s := range segs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?)")
		args = append(args, s.lvl, s.start, s.end)
	}
	fmt.Fprintf(&b, ") SELECT bucket, total, rl FROM seg CROSS JOIN %s WHERE %s AND lvl = seg_lvl AND bucket >= seg_start AND bucket < seg_end",
		table, prefix)
	return b.String(), append(args, prefixArgs...)
}

// segmentOf returns the index of the segment holding bucket start t, or -1.
func segmentOf(segs []storedSeg, t int64) int {
	for i, s := range segs {
		if t >= s.start && t < s.end {
			return i
		}
	}
	return -1
}

// seriesCap is the number of buckets in segs, at most 1<<16: the most rows
// InsightsSeries can return, and enough for any series that is answered.
func seriesCap(segs []insights.Segment) int {
	n := int64(0)
	for _, s := range segs {
		n += (s.End - s.Start) / s.Level.Seconds()
		if n >= 1<<16 {
			return 1 << 16
		}
	}
	return int(n)
}

// InsightsGroups adds the packed group lists of the scope's rows in the
// segments to g, one row at a time (the list bytes are not copied).
func (db *DB) InsightsGroups(ctx context.Context, s insights.Scope, segs []insights.Segment, g *insights.Groups) error {
	if len(segs) == 0 {
		return nil
	}
	org, ok, err := db.orgRef(ctx, s.Org)
	if !ok || err != nil {
		return err
	}
	t, prefix, args := subjectTable, "org = ?", []any{org}
	switch {
	case s.UserID != 0:
		t, prefix, args = userTable, "org = ? AND user_id = ?", []any{org, s.UserID}
	case s.Actor.ID != 0:
		actor, ok, err := db.actorRef(ctx, s.Actor)
		if !ok || err != nil {
			return err
		}
		t, prefix, args = actorTable, "org = ? AND actor = ?", []any{org, actor}
	}
	whole, detail, hours := storedSegs(t, segs)
	q, qargs := segmentSQL("bucket, "+t.list, t.name, prefix, args, whole)
	rows, err := db.reader.QueryContext(ctx, q, qargs...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var list sql.RawBytes
	for rows.Next() {
		var bucket int64
		if err := rows.Scan(&bucket, &list); err != nil {
			return err
		}
		if err := decodeEntries(list, bucket, g.Add); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	if err := db.minuteDetail(ctx, t, prefix, args, detail, func(_, ref int64, c insights.Counts) { g.Add(ref, c) }); err != nil {
		return err
	}
	return db.hourMinutes(ctx, t, hourDetailCol, prefix, args, hours, func(_ insights.Segment, ref int64, c insights.Counts) { g.Add(ref, c) })
}

// info runs q (which selects ref first, from a table keyed by ref) for
// refs, calling scan for each row. Dense refs (the common case: a scope's
// groups were mostly created together) are read with one range scan,
// sparse ones with an IN list.
func (db *DB) info(ctx context.Context, q string, refs []int64, scan func(rows *sql.Rows) error) error {
	if len(refs) == 0 {
		return nil
	}
	var rows *sql.Rows
	var err error
	lo, hi := refs[0], refs[len(refs)-1]
	if span := hi - lo + 1; span <= 4*int64(len(refs)) {
		rows, err = db.reader.QueryContext(ctx, q+" WHERE ref BETWEEN ? AND ?", lo, hi)
	} else {
		args := make([]any, len(refs))
		for i, r := range refs {
			args[i] = r
		}
		rows, err = db.reader.QueryContext(ctx, q+" WHERE ref IN ("+strings.TrimSuffix(strings.Repeat("?,", len(refs)), ",")+")", args...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// wanted reports whether ref is one of the sorted refs.
func wanted(refs []int64, ref int64) bool {
	_, ok := slices.BinarySearch(refs, ref)
	return ok
}

func (db *DB) InsightsSubjectInfo(ctx context.Context, refs []int64, fn func(ref int64, r insights.SubjectRow) error) error {
	return db.info(ctx, "SELECT ref, subject_type, subject_id, subject_name FROM insights_subjects", refs, func(rows *sql.Rows) error {
		var r insights.SubjectRow
		var ref int64
		if err := rows.Scan(&ref, &r.Type, &r.ID, &r.Name); err != nil {
			return err
		}
		if !wanted(refs, ref) {
			return nil
		}
		return fn(ref, r)
	})
}

func (db *DB) InsightsActorInfo(ctx context.Context, refs []int64, fn func(ref int64, r insights.ActorRow) error) error {
	return db.info(ctx, "SELECT ref, actor_type, actor_id, actor_name, oauth_application_id, integration_id FROM insights_actors", refs, func(rows *sql.Rows) error {
		var r insights.ActorRow
		var ref int64
		var typ string
		if err := rows.Scan(&ref, &typ, &r.ID, &r.Name, &r.OAuthApplicationID, &r.IntegrationID); err != nil {
			return err
		}
		if !wanted(refs, ref) {
			return nil
		}
		r.Type = usage.ActorType(typ)
		return fn(ref, r)
	})
}

func (db *DB) InsightsRouteInfo(ctx context.Context, refs []int64, fn func(ref int64, r insights.RouteRow) error) error {
	return db.info(ctx, "SELECT ref, http_method, api_route FROM insights_routes", refs, func(rows *sql.Rows) error {
		var r insights.RouteRow
		var ref int64
		if err := rows.Scan(&ref, &r.Method, &r.Route); err != nil {
			return err
		}
		if !wanted(refs, ref) {
			return nil
		}
		return fn(ref, r)
	})
}

// InsightsPrune deletes the roll-up buckets and remembered ids the cutoffs
// no longer keep.
func (db *DB) InsightsPrune(ctx context.Context, cut insights.Cutoffs) (int64, error) {
	var total int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		for _, t := range []packedTable{orgTable, subjectTable, actorTable, userTable} {
			for _, l := range insights.Levels {
				if cut.Level[l] == 0 {
					continue
				}
				lvls := []int64{int64(l)}
				if t.folded && l == insights.FiveMinutes {
					lvls = append(lvls, lvlMinuteDetail)
				}
				for _, lvl := range lvls {
					res, err := tx.ExecContext(ctx, "DELETE FROM "+t.name+" WHERE lvl = ? AND bucket < ?", lvl, cut.Level[l])
					if err != nil {
						return err
					}
					n, _ := res.RowsAffected()
					total += n
				}
				if t.folded && l == insights.Hour {
					// the detail of the hour rows deleted (not counted:
					// an hour's detail belongs to its row)
					if _, err := tx.ExecContext(ctx, "DELETE FROM "+t.detail+" WHERE bucket < ?", cut.Level[l]); err != nil {
						return err
					}
				}
				if t.folded && l == insights.FiveMinutes {
					// the minutes of hours wholly before the five-minute
					// cutoff, which no answer reads (the rows stay, so
					// they are not counted)
					_, err := tx.ExecContext(ctx, "UPDATE "+t.name+" SET "+hourMinutesCol+" = NULL WHERE lvl = ? AND bucket < ? AND "+
						hourMinutesCol+" IS NOT NULL", int64(insights.Hour), insights.Hour.Floor(cut.Level[l]))
					if err != nil {
						return err
					}
					// and their detail
					_, err = tx.ExecContext(ctx, "DELETE FROM "+t.detail+" WHERE bucket < ?", insights.Hour.Floor(cut.Level[l]))
					if err != nil {
						return err
					}
				}
			}
		}
		if cut.Seen > 0 {
			res, err := tx.ExecContext(ctx, "DELETE FROM insights_seen WHERE bucket < ?", cut.Seen)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	return total, err
}
