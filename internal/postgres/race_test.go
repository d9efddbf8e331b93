package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
)

// otherReplica is a transaction of "another replica", written in SQL by
// the test, that a store call is made to wait for: the test commits it
// once that call is blocked on one of its locks (waitBlockedBy), so the
// two interleave the same way every run.
type otherReplica struct {
	conn *pgx.Conn
	tx   pgx.Tx
}

func beginOtherReplica(t *testing.T, dsn string) *otherReplica {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return &otherReplica{conn: conn, tx: tx}
}

func (o *otherReplica) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := o.tx.Exec(t.Context(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

// waitBlockedBy returns once some session waits for a lock o's
// transaction holds, or fails t when errc reports first (the call it is
// made for returned without waiting).
func (o *otherReplica) waitBlockedBy(t *testing.T, errc <-chan error) {
	t.Helper()
	pid := o.conn.PgConn().PID()
	for {
		select {
		case err := <-errc:
			t.Fatalf("returned (%v) before waiting for the other replica's transaction", err)
		default:
		}
		var n int
		if err := o.conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))`, int32(pid)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (o *otherReplica) commit(t *testing.T) {
	t.Helper()
	if err := o.tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func openOne(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// copilotFilesAccounted fails t unless every file of files is in a stored
// report of sc and kind or is garbage: a file in neither is never deleted.
func copilotFilesAccounted(t *testing.T, db *postgres.DB, sc copilot.Scope, kind string, files ...string) {
	t.Helper()
	garbage, err := db.CopilotGarbage(t.Context(), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1000)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := db.CopilotReports(t.Context(), sc, kind, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		in := slices.Contains(garbage, f)
		for _, r := range reps {
			if slices.Contains(r.Files, f) {
				if in {
					t.Errorf("file %s of report %s is garbage", f, r.Day)
				}
				in = true
			}
		}
		if !in {
			t.Errorf("file %s is in no report and not garbage: never deleted (garbage %v, reports %v)", f, garbage, reps)
		}
	}
}

// The SQL of another replica's CopilotPutReport of report (7, aggregate,
// day) replacing the files $1 by $2, as any build writes it.
const (
	otherPutGarbage = `INSERT INTO copilot_garbage (name, due) SELECT unnest($1::text[]), now() + interval '1 hour'`
	otherPutUpdate  = `UPDATE copilot_reports SET files = $1 WHERE scope_type = 'o' AND scope_id = 7 AND kind = $2 AND day = $3`
)

// TestCopilotPutReportWaitsForAnotherReplica has two replicas (a CLI
// `copilot build` beside the copilot-reports job) replace one report at
// once: the second must retire the files the first wrote, not those it
// read before the first committed.
func TestCopilotPutReportWaitsForAnotherReplica(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := openOne(t, dsn)
	sc, kind, day := copilot.Scope{ID: 7}, copilot.KindAggregate1, copilot.Day(20000)
	put := func(files ...string) error {
		return db.CopilotPutReport(t.Context(), &copilot.Report{Scope: sc, Kind: kind, Day: day, Files: files, BuiltAt: time.Unix(0, 0)},
			time.Now().Add(time.Hour))
	}
	if err := put("f0"); err != nil {
		t.Fatal(err)
	}
	other := beginOtherReplica(t, dsn)
	other.exec(t, otherPutGarbage, []string{"f0"})
	other.exec(t, otherPutUpdate, []string{"fa"}, kind, int32(day))
	errc := make(chan error, 1)
	go func() { errc <- put("fb") }()
	other.waitBlockedBy(t, errc)
	other.commit(t)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	copilotFilesAccounted(t, db, sc, kind, "f0", "fa", "fb")
}

// TestCopilotPutReportNewAtOnce is TestCopilotPutReportWaitsForAnotherReplica
// for a report neither replica finds stored: the one inserting second
// replaces the first one's files, which become garbage.
func TestCopilotPutReportNewAtOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := openOne(t, dsn)
	sc, kind, day := copilot.Scope{ID: 7}, copilot.KindAggregate1, copilot.Day(20000)
	other := beginOtherReplica(t, dsn)
	other.exec(t, `INSERT INTO copilot_reports (scope_type, scope_id, kind, day, files, rows, built_at) VALUES ('o', 7, $1, $2, $3, 0, now())`,
		kind, int32(day), []string{"fa"})
	errc := make(chan error, 1)
	go func() {
		errc <- db.CopilotPutReport(t.Context(), &copilot.Report{Scope: sc, Kind: kind, Day: day, Files: []string{"fb"}, BuiltAt: time.Unix(0, 0)},
			time.Now().Add(time.Hour))
	}()
	other.waitBlockedBy(t, errc)
	other.commit(t)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	copilotFilesAccounted(t, db, sc, kind, "fa", "fb")
	r, err := db.CopilotReport(t.Context(), sc, kind, day)
	if err != nil || !slices.Equal(r.Files, []string{"fb"}) {
		t.Fatalf("report %+v (%v), want the later put's files [fb]", r, err)
	}
}

// TestCopilotPruneWaitsForAnotherReplica prunes a report another replica
// is rewriting: the files the prune deletes the report with become
// garbage, not those it read before the rewrite committed.
func TestCopilotPruneWaitsForAnotherReplica(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := openOne(t, dsn)
	sc, kind, day := copilot.Scope{ID: 7}, copilot.KindAggregate1, copilot.Day(20000)
	if err := db.CopilotPutReport(t.Context(), &copilot.Report{Scope: sc, Kind: kind, Day: day, Files: []string{"f0"}, BuiltAt: time.Unix(0, 0)},
		time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	other := beginOtherReplica(t, dsn)
	other.exec(t, otherPutGarbage, []string{"f0"})
	other.exec(t, otherPutUpdate, []string{"fa"}, kind, int32(day))
	errc := make(chan error, 1)
	go func() {
		_, err := db.CopilotPrune(t.Context(), day+1, time.Now())
		errc <- err
	}()
	other.waitBlockedBy(t, errc)
	other.commit(t)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if _, err := db.CopilotReport(t.Context(), sc, kind, day); err == nil {
		t.Fatal("the pruned report is still stored")
	}
	copilotFilesAccounted(t, db, sc, kind, "f0", "fa")
}

// TestCopilotDirtyMarkMovesWithEqualClocks has two replicas whose clocks
// read the same time change one day, a builder reading the day's mark
// between them: clearing the mark it read must leave the second change's.
func TestCopilotDirtyMarkMovesWithEqualClocks(t *testing.T) {
	dsn := pgtest.DSN(t)
	clock := func() time.Time { return time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC) }
	var dbs []*postgres.DB
	for range 2 {
		db, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	day := copilot.Day(20000)
	line := func(s string) []copilot.StoredRecord {
		return []copilot.StoredRecord{{Day: day, UserID: 1, UserLogin: "mona", Line: []byte(`{"n":"` + s + `"}`), Extra: []byte(`{}`)}}
	}
	if _, err := dbs[0].CopilotIngest(t.Context(), line("a")); err != nil {
		t.Fatal(err)
	}
	read, err := dbs[0].CopilotDirtyDays(t.Context())
	if err != nil || len(read) != 1 {
		t.Fatalf("dirty days %v (%v), want one", read, err)
	}
	if res, err := dbs[1].CopilotIngest(t.Context(), line("b")); err != nil || res.Replaced != 1 {
		t.Fatalf("second change: %+v, %v", res, err)
	}
	if err := dbs[0].CopilotClearDirty(t.Context(), read); err != nil {
		t.Fatal(err)
	}
	left, err := dbs[0].CopilotDirtyDays(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Day != day {
		t.Fatalf("dirty days after clearing the mark read before the second change: %v, want %v still dirty", left, day)
	}
}

// TestCopilotAddSeatsInKeyOrder has two replicas add the same two seats
// at once, given in different orders: each locks them in key order, so
// neither deadlocks (which failed one of them with a 503).
func TestCopilotAddSeatsInKeyOrder(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := openOne(t, dsn)
	seat := func(user int64) copilot.Seat {
		return copilot.Seat{EnterpriseID: 1, UserID: user, CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0), PlanType: "business"}
	}
	const insertSeat = `INSERT INTO copilot_seats (enterprise_id, org_id, user_id, created_at, updated_at, plan_type)
		VALUES (1, 0, $1, now(), now(), 'business') ON CONFLICT DO NOTHING`
	// the other replica adds seats 1 and 2, in key order
	other := beginOtherReplica(t, dsn)
	other.exec(t, insertSeat, int64(1))
	errc := make(chan error, 1)
	go func() {
		_, err := db.CopilotAddSeats(t.Context(), []copilot.Seat{seat(2), seat(1)})
		errc <- err
	}()
	other.waitBlockedBy(t, errc)
	// Blocked on seat 1, the first in key order, it has written nothing
	// (no transaction id): it holds no seat the other replica goes on to
	// add. (Seat 2 first would deadlock; inTx would retry it, so the
	// outcome alone cannot tell.)
	var wrote bool
	if err := other.conn.QueryRow(t.Context(), `SELECT bool_or(backend_xid IS NOT NULL) FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))`,
		int32(other.conn.PgConn().PID())).Scan(&wrote); err != nil || wrote {
		t.Fatalf("CopilotAddSeats wrote a seat before waiting for seat 1 (%v): not in key order", err)
	}
	if _, err := other.tx.Exec(t.Context(), insertSeat, int64(2)); err != nil {
		t.Fatalf("the other replica's second seat: %v", err)
	}
	other.commit(t)
	if err := <-errc; err != nil {
		t.Fatalf("adding the seats in another order: %v", err)
	}
	seats, err := db.CopilotSeats(t.Context(), 1, 0, 0)
	if err != nil || len(seats) != 2 {
		t.Fatalf("seats %+v (%v), want 2", seats, err)
	}
}
