package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// refCache maps actors, subjects and routes to their refs (the identity
// columns of insights_actors, insights_subjects and insights_routes). A
// ref is cached only once committed, and never changes, so every replica
// keeps its own copy. Each map is dropped when it outgrows maxCachedRefs.
type refCache struct {
	mu       sync.RWMutex
	actors   map[insights.ActorRef]int64
	subjects map[insights.SubjectRef]int64
	routes   map[insights.RouteRef]int64
}

const maxCachedRefs = 1 << 20

// batchRefs are the refs of a batch's actors, subjects and routes.
type batchRefs struct {
	actors   map[insights.ActorRef]int64
	subjects map[insights.SubjectRef]int64
	routes   map[insights.RouteRef]int64
}

// refsOf returns the refs of every actor, subject and route of events,
// interning the ones not yet known, each kind in its own short
// transaction. Interning outside the batch's transaction means batches
// written at once do not wait for each other's commit to learn a ref; a
// ref a failed batch leaves unused is harmless (its name row, with an
// empty name, is overwritten by the first batch recorded for it).
func (db *DB) refsOf(ctx context.Context, events []insights.Event) (*batchRefs, error) {
	b := &batchRefs{actors: map[insights.ActorRef]int64{}, subjects: map[insights.SubjectRef]int64{}, routes: map[insights.RouteRef]int64{}}
	for i := range events {
		e := &events[i]
		b.actors[insights.ActorRef{Type: e.ActorType, ID: e.ActorID}] = 0
		b.subjects[insights.SubjectRef{Type: e.SubjectType, ID: e.SubjectID}] = 0
		b.routes[insights.RouteRef{Method: e.HTTPMethod, Route: e.APIRoute}] = 0
	}
	db.refs.mu.RLock()
	ma := fromCache(b.actors, db.refs.actors)
	ms := fromCache(b.subjects, db.refs.subjects)
	mr := fromCache(b.routes, db.refs.routes)
	db.refs.mu.RUnlock()
	err := internKind(ctx, db, ma, cmpActor, "insights_actors", "actor_type", "actor_id", "actor_name",
		func(a insights.ActorRef) (string, int64) { return string(a.Type), a.ID },
		func(typ string, id int64) insights.ActorRef {
			return insights.ActorRef{Type: usage.ActorType(typ), ID: id}
		}, b.actors)
	if err == nil {
		err = internKind(ctx, db, ms, cmpSubject, "insights_subjects", "subject_type", "subject_id", "subject_name",
			func(s insights.SubjectRef) (string, int64) { return s.Type, s.ID },
			func(typ string, id int64) insights.SubjectRef { return insights.SubjectRef{Type: typ, ID: id} }, b.subjects)
	}
	if err == nil {
		err = internKind(ctx, db, mr, cmpRoute, "insights_routes", "http_method", "api_route", "",
			func(r insights.RouteRef) (string, string) { return r.Method, r.Route },
			func(method, route string) insights.RouteRef { return insights.RouteRef{Method: method, Route: route} }, b.routes)
	}
	if err != nil {
		return nil, err
	}
	for _, m := range []int{missingIn(b.actors), missingIn(b.subjects), missingIn(b.routes)} {
		if m > 0 {
			return nil, fmt.Errorf("insights: %d names have no ref", m)
		}
	}
	if len(ma)+len(ms)+len(mr) > 0 {
		db.refs.mu.Lock()
		db.refs.actors = toCache(db.refs.actors, b.actors, ma)
		db.refs.subjects = toCache(db.refs.subjects, b.subjects, ms)
		db.refs.routes = toCache(db.refs.routes, b.routes, mr)
		db.refs.mu.Unlock()
	}
	return b, nil
}

// fromCache fills the refs of batch that cache knows and returns the others.
func fromCache[K comparable](batch, cache map[K]int64) []K {
	var missing []K
	for k := range batch {
		if ref, ok := cache[k]; ok {
			batch[k] = ref
		} else {
			missing = append(missing, k)
		}
	}
	return missing
}

func toCache[K comparable](cache, batch map[K]int64, added []K) map[K]int64 {
	if cache == nil || len(cache)+len(added) > maxCachedRefs {
		cache = make(map[K]int64, len(added))
	}
	for _, k := range added {
		cache[k] = batch[k]
	}
	return cache
}

func missingIn[K comparable](m map[K]int64) int {
	n := 0
	for _, ref := range m {
		if ref == 0 {
			n++
		}
	}
	return n
}

// internKind interns the keys of one kind that no cache knew, in key order
// (so concurrent batches lock name rows in one order), and records their
// refs in refs. split and join map a key to its two columns and back.
func internKind[K comparable, A, B any](ctx context.Context, db *DB, missing []K, cmpKey func(a, b K) int,
	table, c1, c2, name string, split func(K) (A, B), join func(A, B) K, refs map[K]int64) error {
	if len(missing) == 0 {
		return nil
	}
	slices.SortFunc(missing, cmpKey)
	as, bs := make([]A, len(missing)), make([]B, len(missing))
	for i, k := range missing {
		as[i], bs[i] = split(k)
	}
	return db.intern(ctx, table, c1, c2, name, as, bs, func(row pgx.Row) error {
		var ref int64
		var a A
		var b B
		if err := row.Scan(&ref, &a, &b); err != nil {
			return err
		}
		refs[join(a, b)] = ref
		return nil
	})
}

// intern inserts the keys (a[i], b[i]), sorted, into table (with an empty
// name column when name is set) unless present, then reads back their
// refs: "ref, c1, c2" rows for scan. Two statements: the SELECT's
// snapshot, taken after the INSERT waited for concurrent inserts of the
// same keys, sees their rows.
func (db *DB) intern(ctx context.Context, table, c1, c2, name string, a, b any, scan func(pgx.Row) error) error {
	t1, t2 := "text[]", "bigint[]"
	if _, ok := b.([]string); ok {
		t2 = "text[]"
	}
	cols, vals := c1+", "+c2, "u.a, u.b"
	if name != "" {
		cols, vals = cols+", "+name, vals+", ''"
	}
	if _, err := db.pool.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (%s) SELECT %s FROM unnest($1::%s, $2::%s) u(a, b) ON CONFLICT DO NOTHING`,
		table, cols, vals, t1, t2), a, b); err != nil {
		return err
	}
	rows, err := db.pool.Query(ctx, fmt.Sprintf(`SELECT t.ref, t.%[2]s, t.%[3]s FROM %[1]s t JOIN unnest($1::%[4]s, $2::%[5]s) u(a, b) ON t.%[2]s = u.a AND t.%[3]s = u.b`,
		table, c1, c2, t1, t2), a, b)
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

func cmpActor(a, b insights.ActorRef) int {
	return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
}

func cmpSubject(a, b insights.SubjectRef) int {
	return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
}

func cmpRoute(a, b insights.RouteRef) int {
	return cmp.Or(strings.Compare(a.Method, b.Method), strings.Compare(a.Route, b.Route))
}
