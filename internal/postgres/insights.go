package postgres

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

var _ insights.Store = (*DB)(nil)

// inTx runs fn in a transaction, retrying it when PostgreSQL aborts it for
// a deadlock or serialization failure (both replicas then retry cleanly).
func (db *DB) inTx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, db.pool, fn)
		if err == nil {
			return nil
		}
		var pe *pgconn.PgError
		if attempt < 5 && errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") {
			continue
		}
		return wrap(err, what)
	}
}

// InsightsIngest records events in one transaction: it claims their ids in
// insights_seen, then adds the roll-up deltas of the events not seen
// before. Rows are written in key order in every table, so concurrent
// batches from several replicas lock shared rows in the same order and
// never deadlock; a concurrent batch carrying the same id waits for the
// first and then skips it. It returns once the transaction has committed.
func (db *DB) InsightsIngest(ctx context.Context, events []insights.Event, cut insights.Cutoffs) (insights.IngestResult, error) {
	res := insights.IngestResult{Received: len(events)}
	if len(events) == 0 {
		return res, nil
	}
	err := db.inTx(ctx, "insights ingest", func(tx pgx.Tx) error {
		fresh, err := dedupEvents(ctx, tx, events)
		if err != nil {
			return err
		}
		res.Recorded, res.Duplicates = len(fresh), len(events)-len(fresh)
		if len(fresh) == 0 {
			return nil
		}
		return writeRollup(ctx, tx, insights.Aggregate(fresh, cut))
	})
	if err != nil {
		return insights.IngestResult{}, err
	}
	return res, nil
}

// seenKey is what insights_seen remembers of an event: the minute of its
// time and its id key (see insights.EventKey), as the embedded store does.
type seenKey struct {
	minute int64
	k      [16]byte
}

func keyOf(e *insights.Event) seenKey {
	return seenKey{insights.Minute.Floor(e.Timestamp.Unix()), insights.EventKey(e.ID)}
}

// dedupEvents inserts the keys of events into insights_seen and returns
// the events whose key was new (and those without an id), in order; an
// event repeated within the batch counts once.
func dedupEvents(ctx context.Context, tx pgx.Tx, events []insights.Event) ([]insights.Event, error) {
	isNew := map[seenKey]bool{}
	var keys []seenKey
	for i := range events {
		if events[i].ID == "" {
			continue
		}
		k := keyOf(&events[i])
		if _, dup := isNew[k]; !dup {
			isNew[k] = false
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return events, nil
	}
	slices.SortFunc(keys, func(a, b seenKey) int {
		return cmp.Or(cmp.Compare(a.minute, b.minute), bytes.Compare(a.k[:], b.k[:]))
	})
	minutes := make([]int64, len(keys))
	ks := make([][]byte, len(keys))
	for i := range keys {
		minutes[i], ks[i] = keys[i].minute, keys[i].k[:]
	}
	rows, err := tx.Query(ctx, `INSERT INTO insights_seen (minute, k)
		SELECT * FROM unnest($1::bigint[], $2::bytea[])
		ON CONFLICT DO NOTHING RETURNING minute, k`, minutes, ks)
	if err != nil {
		return nil, err
	}
	var m int64
	var kb []byte
	_, err = pgx.ForEachRow(rows, []any{&m, &kb}, func() error {
		isNew[seenKey{m, [16]byte(kb)}] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	fresh := make([]insights.Event, 0, len(events))
	for i := range events {
		if events[i].ID == "" {
			fresh = append(fresh, events[i])
			continue
		}
		k := keyOf(&events[i])
		if isNew[k] {
			fresh = append(fresh, events[i])
			isNew[k] = false
		}
	}
	return fresh, nil
}

// column is one column of an unnest-based multi-row upsert.
type column struct {
	name string
	typ  string // the PostgreSQL array type of values
	vals any    // []string, []int64 or []int16
}

// upsert adds rows given column by column to table: the first keys columns
// are the conflict key; on conflict, total and rl add up, last and last_rl
// keep the maximum, and any other column takes the new value where the
// given seen is newer. One statement carries any number of rows.
func upsert(ctx context.Context, tx pgx.Tx, table string, keys int, cols ...column) error {
	var names, types, set []string
	args := make([]any, len(cols))
	for i, c := range cols {
		names = append(names, c.name)
		types = append(types, fmt.Sprintf("$%d::%s", i+1, c.typ))
		args[i] = c.vals
		if i < keys {
			continue
		}
		switch c.name {
		case "total", "rl":
			set = append(set, fmt.Sprintf("%[1]s = t.%[1]s + excluded.%[1]s", c.name))
		case "last", "last_rl", "seen":
			set = append(set, fmt.Sprintf("%[1]s = GREATEST(t.%[1]s, excluded.%[1]s)", c.name))
		default:
			set = append(set, fmt.Sprintf("%[1]s = CASE WHEN excluded.seen >= t.seen THEN excluded.%[1]s ELSE t.%[1]s END", c.name))
		}
	}
	q := fmt.Sprintf("INSERT INTO %s AS t (%s) SELECT * FROM unnest(%s) ON CONFLICT (%s) DO UPDATE SET %s",
		table, strings.Join(names, ", "), strings.Join(types, ", "), strings.Join(names[:keys], ", "), strings.Join(set, ", "))
	_, err := tx.Exec(ctx, q, args...)
	return err
}

// sortedKeys returns m's keys in the order cmpKey gives.
func sortedKeys[K comparable, V any](m map[K]V, cmpKey func(a, b K) int) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, cmpKey)
	return ks
}

func cmpActor(a, b insights.ActorRef) int {
	return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
}

func cmpBucket(a, b insights.BucketKey) int {
	return cmp.Or(cmp.Compare(a.Level, b.Level), cmp.Compare(a.Bucket, b.Bucket))
}

// writeRollup adds a finished roll-up to the tables, each in key order.
func writeRollup(ctx context.Context, tx pgx.Tx, roll *insights.Rollup) error {
	{
		ks := sortedKeys(roll.ActorInfo, cmpActor)
		var typ, name []string
		var id, oauth, integ, seen []int64
		for _, k := range ks {
			v := roll.ActorInfo[k]
			typ, id, name = append(typ, string(k.Type)), append(id, k.ID), append(name, v.Name)
			oauth, integ, seen = append(oauth, v.OAuthApplicationID), append(integ, v.IntegrationID), append(seen, v.Seen)
		}
		// SET expressions all read the stored row, so names follow the
		// newer of the stored and the batch's seen.
		if err := upsert(ctx, tx, "insights_actors", 2,
			column{"actor_type", "text[]", typ}, column{"actor_id", "bigint[]", id},
			column{"actor_name", "text[]", name}, column{"oauth_application_id", "bigint[]", oauth},
			column{"integration_id", "bigint[]", integ}, column{"seen", "bigint[]", seen}); err != nil {
			return err
		}
	}
	{
		ks := sortedKeys(roll.SubjectInfo, func(a, b insights.SubjectRef) int {
			return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
		})
		var typ, name []string
		var id, seen []int64
		for _, k := range ks {
			v := roll.SubjectInfo[k]
			typ, id, name, seen = append(typ, k.Type), append(id, k.ID), append(name, v.Name), append(seen, v.Seen)
		}
		if err := upsert(ctx, tx, "insights_subjects", 2,
			column{"subject_type", "text[]", typ}, column{"subject_id", "bigint[]", id},
			column{"subject_name", "text[]", name}, column{"seen", "bigint[]", seen}); err != nil {
			return err
		}
	}
	var c counts
	{
		ks := sortedKeys(roll.Orgs, func(a, b insights.OrgKey) int {
			return cmp.Or(cmp.Compare(a.Org, b.Org), cmpBucket(a.BucketKey, b.BucketKey))
		})
		var org []string
		var lvl []int16
		var bucket []int64
		c.reset()
		for _, k := range ks {
			org, lvl, bucket = append(org, k.Org), append(lvl, int16(k.Level)), append(bucket, k.Bucket)
			c.add(roll.Orgs[k])
		}
		if err := upsert(ctx, tx, "insights_r_org", 3,
			column{"org", "text[]", org}, column{"lvl", "smallint[]", lvl}, column{"bucket", "bigint[]", bucket},
			c.total(), c.rl()); err != nil {
			return err
		}
	}
	{
		ks := sortedKeys(roll.Actors, func(a, b insights.ActorKey) int {
			return cmp.Or(cmp.Compare(a.Org, b.Org), cmpActor(a.Actor, b.Actor), cmpBucket(a.BucketKey, b.BucketKey))
		})
		var org, typ []string
		var id, bucket []int64
		var lvl []int16
		c.reset()
		for _, k := range ks {
			org, typ, id = append(org, k.Org), append(typ, string(k.Actor.Type)), append(id, k.Actor.ID)
			lvl, bucket = append(lvl, int16(k.Level)), append(bucket, k.Bucket)
			c.add(roll.Actors[k])
		}
		if err := upsert(ctx, tx, "insights_r_actor", 5,
			column{"org", "text[]", org}, column{"actor_type", "text[]", typ}, column{"actor_id", "bigint[]", id},
			column{"lvl", "smallint[]", lvl}, column{"bucket", "bigint[]", bucket},
			c.total(), c.rl()); err != nil {
			return err
		}
	}
	{
		ks := sortedKeys(roll.Users, func(a, b insights.UserKey) int {
			return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.UserID, b.UserID),
				cmpBucket(a.BucketKey, b.BucketKey), cmpActor(a.Actor, b.Actor))
		})
		var org, typ []string
		var user, id, bucket []int64
		var lvl []int16
		c.reset()
		for _, k := range ks {
			org, user = append(org, k.Org), append(user, k.UserID)
			lvl, bucket = append(lvl, int16(k.Level)), append(bucket, k.Bucket)
			typ, id = append(typ, string(k.Actor.Type)), append(id, k.Actor.ID)
			c.add(roll.Users[k])
		}
		if err := upsert(ctx, tx, "insights_r_user", 6,
			column{"org", "text[]", org}, column{"user_id", "bigint[]", user},
			column{"lvl", "smallint[]", lvl}, column{"bucket", "bigint[]", bucket},
			column{"actor_type", "text[]", typ}, column{"actor_id", "bigint[]", id},
			c.total(), c.rl(), c.last(), c.lastRL()); err != nil {
			return err
		}
	}
	{
		ks := sortedKeys(roll.Routes, func(a, b insights.RouteKey) int {
			return cmp.Or(cmp.Compare(a.Org, b.Org), cmpActor(a.Actor, b.Actor), cmpBucket(a.BucketKey, b.BucketKey),
				cmp.Compare(a.Route.Method, b.Route.Method), cmp.Compare(a.Route.Route, b.Route.Route))
		})
		var org, typ, method, route []string
		var id, bucket []int64
		var lvl []int16
		c.reset()
		for _, k := range ks {
			org, typ, id = append(org, k.Org), append(typ, string(k.Actor.Type)), append(id, k.Actor.ID)
			lvl, bucket = append(lvl, int16(k.Level)), append(bucket, k.Bucket)
			method, route = append(method, k.Route.Method), append(route, k.Route.Route)
			c.add(roll.Routes[k])
		}
		if err := upsert(ctx, tx, "insights_r_route", 7,
			column{"org", "text[]", org}, column{"actor_type", "text[]", typ}, column{"actor_id", "bigint[]", id},
			column{"lvl", "smallint[]", lvl}, column{"bucket", "bigint[]", bucket},
			column{"http_method", "text[]", method}, column{"api_route", "text[]", route},
			c.total(), c.rl(), c.last(), c.lastRL()); err != nil {
			return err
		}
	}
	{
		ks := sortedKeys(roll.Subjects, func(a, b insights.SubjectKey) int {
			return cmp.Or(cmp.Compare(a.Org, b.Org), cmpBucket(a.BucketKey, b.BucketKey),
				cmp.Compare(a.Subject.Type, b.Subject.Type), cmp.Compare(a.Subject.ID, b.Subject.ID))
		})
		var org, typ []string
		var id, bucket []int64
		var lvl []int16
		c.reset()
		for _, k := range ks {
			org, lvl, bucket = append(org, k.Org), append(lvl, int16(k.Level)), append(bucket, k.Bucket)
			typ, id = append(typ, k.Subject.Type), append(id, k.Subject.ID)
			c.add(roll.Subjects[k])
		}
		if err := upsert(ctx, tx, "insights_r_subject", 5,
			column{"org", "text[]", org}, column{"lvl", "smallint[]", lvl}, column{"bucket", "bigint[]", bucket},
			column{"subject_type", "text[]", typ}, column{"subject_id", "bigint[]", id},
			c.total(), c.rl(), c.last(), c.lastRL()); err != nil {
			return err
		}
	}
	return nil
}

// counts collects the count columns of a table's rows.
type counts struct{ tot, rls, lst, lstRL []int64 }

func (c *counts) reset() { c.tot, c.rls, c.lst, c.lstRL = c.tot[:0], c.rls[:0], c.lst[:0], c.lstRL[:0] }
func (c *counts) add(v *insights.Counts) {
	c.tot, c.rls = append(c.tot, v.Total), append(c.rls, v.RateLimited)
	c.lst, c.lstRL = append(c.lst, v.Last), append(c.lstRL, v.LastRateLimited)
}
func (c *counts) total() column  { return column{"total", "bigint[]", c.tot} }
func (c *counts) rl() column     { return column{"rl", "bigint[]", c.rls} }
func (c *counts) last() column   { return column{"last", "bigint[]", c.lst} }
func (c *counts) lastRL() column { return column{"last_rl", "bigint[]", c.lstRL} }

// segmentRows returns "SELECT cols FROM table WHERE prefix AND lvl = $n
// AND bucket >= $n+1 AND bucket < $n+2", one per segment joined by UNION
// ALL, numbering parameters after the prefix's args, and the args with the
// segments' appended. Each arm is one range scan of the primary key, so a
// query reads only the buckets it sums, however much else the key prefix
// holds (an OR of the ranges would scan the whole prefix).
func segmentRows(cols, table, prefix string, args []any, segs []insights.Segment) (string, []any) {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		n := len(args)
		fmt.Fprintf(&b, "SELECT %s FROM %s WHERE %s AND lvl = $%d AND bucket >= $%d AND bucket < $%d", cols, table, prefix, n+1, n+2, n+3)
		args = append(args, int16(s.Level), s.Start, s.End)
	}
	return b.String(), args
}

// scopeSQL picks the roll-up table and key prefix of a scope.
func scopeSQL(s insights.Scope) (table, prefix string, args []any) {
	switch {
	case s.UserID != 0:
		return "insights_r_user", "org = $1 AND user_id = $2", []any{s.Org, s.UserID}
	case s.Actor.ID != 0:
		return "insights_r_actor", "org = $1 AND actor_type = $2 AND actor_id = $3", []any{s.Org, string(s.Actor.Type), s.Actor.ID}
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
	inner, args := segmentRows("total, rl", table, prefix, args, segs)
	err := db.pool.QueryRow(ctx, `SELECT COALESCE(SUM(total), 0)::bigint, COALESCE(SUM(rl), 0)::bigint FROM (`+inner+`) s`,
		args...).Scan(&c.Total, &c.RateLimited)
	return c, wrap(err, "insights totals")
}

// InsightsSeries returns a scope's stored buckets within segs.
func (db *DB) InsightsSeries(ctx context.Context, s insights.Scope, segs []insights.Segment) ([]insights.BucketCounts, error) {
	if len(segs) == 0 {
		return nil, nil
	}
	table, prefix, args := scopeSQL(s)
	inner, args := segmentRows("lvl, bucket, total, rl", table, prefix, args, segs)
	rows, err := db.pool.Query(ctx, `SELECT lvl, bucket, SUM(total)::bigint, SUM(rl)::bigint FROM (`+inner+`) s
		GROUP BY lvl, bucket`, args...)
	if err != nil {
		return nil, wrap(err, "insights series")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (insights.BucketCounts, error) {
		var b insights.BucketCounts
		var lvl int16
		err := row.Scan(&lvl, &b.Bucket, &b.Total, &b.RateLimited)
		b.Level = insights.Level(lvl)
		return b, err
	})
	return out, wrap(err, "insights series")
}

const groupCounts = `SUM(total)::bigint AS total, SUM(rl)::bigint AS rl, MAX(last) AS last, MAX(last_rl) AS last_rl`

// InsightsSubjects groups an organization's requests by subject.
func (db *DB) InsightsSubjects(ctx context.Context, org string, segs []insights.Segment) ([]insights.SubjectRow, error) {
	if len(segs) == 0 {
		return nil, nil
	}
	inner, args := segmentRows("subject_type, subject_id, total, rl, last, last_rl", "insights_r_subject", "org = $1", []any{org}, segs)
	rows, err := db.pool.Query(ctx, `SELECT g.subject_type, g.subject_id, COALESCE(s.subject_name, ''), g.total, g.rl, g.last, g.last_rl
		FROM (SELECT subject_type, subject_id, `+groupCounts+` FROM (`+inner+`) r GROUP BY subject_type, subject_id) g
		LEFT JOIN insights_subjects s USING (subject_type, subject_id)`, args...)
	if err != nil {
		return nil, wrap(err, "insights subjects")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (insights.SubjectRow, error) {
		var r insights.SubjectRow
		err := row.Scan(&r.Type, &r.ID, &r.Name, &r.Total, &r.RateLimited, &r.Last, &r.LastRateLimited)
		return r, err
	})
	return out, wrap(err, "insights subjects")
}

// InsightsUserActors groups one user's requests by actor.
func (db *DB) InsightsUserActors(ctx context.Context, org string, userID int64, segs []insights.Segment) ([]insights.ActorRow, error) {
	if len(segs) == 0 {
		return nil, nil
	}
	inner, args := segmentRows("actor_type, actor_id, total, rl, last, last_rl", "insights_r_user", "org = $1 AND user_id = $2", []any{org, userID}, segs)
	rows, err := db.pool.Query(ctx, `SELECT g.actor_type, g.actor_id, COALESCE(a.actor_name, ''),
			COALESCE(a.oauth_application_id, 0), COALESCE(a.integration_id, 0), g.total, g.rl, g.last, g.last_rl
		FROM (SELECT actor_type, actor_id, `+groupCounts+` FROM (`+inner+`) r GROUP BY actor_type, actor_id) g
		LEFT JOIN insights_actors a USING (actor_type, actor_id)`, args...)
	if err != nil {
		return nil, wrap(err, "insights user actors")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (insights.ActorRow, error) {
		var r insights.ActorRow
		var typ string
		err := row.Scan(&typ, &r.ID, &r.Name, &r.OAuthApplicationID, &r.IntegrationID,
			&r.Total, &r.RateLimited, &r.Last, &r.LastRateLimited)
		r.Type = usage.ActorType(typ)
		return r, err
	})
	return out, wrap(err, "insights user actors")
}

// InsightsActorRoutes groups one actor's requests by method and route.
func (db *DB) InsightsActorRoutes(ctx context.Context, org string, actor insights.ActorRef, segs []insights.Segment) ([]insights.RouteRow, error) {
	if len(segs) == 0 {
		return nil, nil
	}
	inner, args := segmentRows("http_method, api_route, total, rl, last, last_rl", "insights_r_route",
		"org = $1 AND actor_type = $2 AND actor_id = $3", []any{org, string(actor.Type), actor.ID}, segs)
	rows, err := db.pool.Query(ctx, `SELECT http_method, api_route, `+groupCounts+` FROM (`+inner+`) r
		GROUP BY http_method, api_route`, args...)
	if err != nil {
		return nil, wrap(err, "insights actor routes")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (insights.RouteRow, error) {
		var r insights.RouteRow
		err := row.Scan(&r.Method, &r.Route, &r.Total, &r.RateLimited, &r.Last, &r.LastRateLimited)
		return r, err
	})
	return out, wrap(err, "insights actor routes")
}

// InsightsPrune deletes the roll-up buckets and remembered ids the cutoffs
// no longer keep. Each table is pruned in its own statement, so a prune
// never holds locks on every table at once.
func (db *DB) InsightsPrune(ctx context.Context, cut insights.Cutoffs) (int64, error) {
	var total int64
	for _, table := range []string{"insights_r_org", "insights_r_actor", "insights_r_user", "insights_r_route", "insights_r_subject"} {
		for _, l := range insights.Levels {
			if cut.Level[l] == 0 {
				continue
			}
			tag, err := db.pool.Exec(ctx, "DELETE FROM "+table+" WHERE lvl = $1 AND bucket < $2", int16(l), cut.Level[l])
			if err != nil {
				return total, wrap(err, "insights prune")
			}
			total += tag.RowsAffected()
		}
	}
	if cut.Seen > 0 {
		tag, err := db.pool.Exec(ctx, "DELETE FROM insights_seen WHERE minute < $1", cut.Seen)
		if err != nil {
			return total, wrap(err, "insights prune")
		}
		total += tag.RowsAffected()
	}
	return total, nil
}
