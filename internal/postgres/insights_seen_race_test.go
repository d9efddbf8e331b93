package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
)

// minuteEvents returns events with ids prefix-lo … prefix-(hi-1), all in
// the minute of at.
func minuteEvents(at time.Time, prefix string, lo, hi int) []insights.Event {
	var out []insights.Event
	for i := lo; i < hi; i++ {
		out = append(out, insights.Event{ID: fmt.Sprintf("%s-%d", prefix, i), Timestamp: at})
	}
	return out
}

// claimResult is what a claim started by startClaim returned.
type claimResult struct {
	n   int
	err error
}

// startClaim claims events' ids in a transaction of its own, committed
// when the claim returns, on a connection whose backend pid it returns at
// once; the result comes on the channel.
func startClaim(t *testing.T, db *postgres.DB, events []insights.Event) (uint32, <-chan claimResult) {
	t.Helper()
	ctx := t.Context()
	conn, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := conn.Conn().PgConn().PID()
	done := make(chan claimResult, 1)
	go func() {
		defer conn.Release()
		var n int
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var err error
			n, err = postgres.ClaimSeen(ctx, tx, events)
			return err
		})
		done <- claimResult{n, err}
	}()
	return pid, done
}

// claimBehind claims first's ids in a transaction it leaves open, then
// second's in another, and waits until the second has either committed or
// waits for a lock; only then does it commit the first. It returns how
// many ids each claimed as new. A claim that commits without waiting for
// an open claim of the same minute has not seen that claim's ids.
func claimBehind(t *testing.T, db *postgres.DB, first, second []insights.Event) (int, int) {
	t.Helper()
	ctx := t.Context()
	txA, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback(context.Background())
	nA, err := postgres.ClaimSeen(ctx, txA, first)
	if err != nil {
		t.Fatal(err)
	}
	pidB, done := startClaim(t, db, second)
	var r claimResult
	finished := false
	for deadline := time.Now().Add(20 * time.Second); ; {
		select {
		case r = <-done:
			finished = true
		default:
		}
		if finished {
			break
		}
		var waiting bool
		if err := db.Pool().QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)", pidB).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second claim neither finished nor waited for a lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !finished {
		r = <-done
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return nA, r.n
}

// claimAll claims events in a transaction of its own.
func claimAll(t *testing.T, db *postgres.DB, events []insights.Event) int {
	t.Helper()
	var n int
	err := pgx.BeginFunc(t.Context(), db.Pool(), func(tx pgx.Tx) error {
		var err error
		n, err = postgres.ClaimSeen(t.Context(), tx, events)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInsightsSeenRaceNewMinute: while one batch holds a new minute's
// whole-minute row uncommitted, another batch with the same id and enough
// more ids for shard rows must not store that id again in a shard row.
func TestInsightsSeenRaceNewMinute(t *testing.T) {
	db := open(t)
	at := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	nA, nB := claimBehind(t, db, minuteEvents(at, "e", 0, 1), minuteEvents(at, "e", 0, 200))
	if nA != 1 || nB != 199 {
		t.Fatalf("claimed %d then %d as new, want 1 then 199", nA, nB)
	}
	if n := claimAll(t, db, minuteEvents(at, "e", 0, 200)); n != 0 {
		t.Fatalf("replay claimed %d as new, want 0", n)
	}
}

// TestInsightsSeenRaceShardRows: while one batch holds a stored minute
// and inserts its first shard rows uncommitted, another batch claiming
// some of those ids waits and then finds them, although they are in rows
// its transaction had not seen when it began to wait.
func TestInsightsSeenRaceShardRows(t *testing.T) {
	db := open(t)
	at := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	if n := claimAll(t, db, minuteEvents(at, "e", 0, 10)); n != 10 {
		t.Fatalf("first claim: %d new, want 10", n)
	}
	nA, nB := claimBehind(t, db, minuteEvents(at, "e", 10, 160), minuteEvents(at, "e", 150, 161))
	if nA != 150 || nB != 1 {
		t.Fatalf("claimed %d then %d as new, want 150 then 1", nA, nB)
	}
	if n := claimAll(t, db, minuteEvents(at, "e", 0, 161)); n != 0 {
		t.Fatalf("replay claimed %d as new, want 0", n)
	}
}

// TestInsightsPruneRetriesSeenDeadlock: a prune deleting a minute whose
// head a batch holds, the batch then locking the minute's other rows (as
// claimSeen does), deadlocks; the prune, aborted, is retried and deletes
// the minute once the batch has committed.
func TestInsightsPruneRetriesSeenDeadlock(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := openOne(t, dsn)
	minute := insights.Minute.Floor(time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC).Unix())
	// the shard rows first, the head last (as an old minute given a head
	// later): a prune meets the shard rows first in any plan
	if _, err := db.Pool().Exec(t.Context(), `INSERT INTO insights_seen_keys (minute, shard, keys)
		SELECT $1, s, ''::bytea FROM generate_series(0, $2 - 1) AS s`, minute, insights.SeenShards); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(t.Context(), `INSERT INTO insights_seen_keys (minute, shard, keys) VALUES ($1, $2, ''::bytea)`,
		minute, insights.SeenWholeMinute); err != nil {
		t.Fatal(err)
	}
	batch := beginOtherReplica(t, dsn)
	batch.exec(t, `SELECT 1 FROM insights_seen_keys WHERE minute = $1 AND shard = $2 FOR UPDATE`, minute, insights.SeenWholeMinute)
	errc := make(chan error, 1)
	go func() {
		_, err := db.InsightsPrune(t.Context(), insights.Cutoffs{Seen: minute + 60})
		errc <- err
	}()
	batch.waitBlockedBy(t, errc)
	batch.exec(t, `SELECT 1 FROM insights_seen_keys WHERE minute = $1 ORDER BY minute, shard FOR UPDATE`, minute)
	batch.commit(t)
	if err := <-errc; err != nil {
		t.Fatalf("prune: %v", err)
	}
	var left int
	if err := db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM insights_seen_keys WHERE minute = $1`, minute).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d rows of the pruned minute left (%v)", left, err)
	}
}

// waitBlockedBy waits until backend pid waits for a lock backend holder
// holds.
func waitBlockedBy(t *testing.T, db *postgres.DB, pid, holder uint32) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		var blocked bool
		if err := db.Pool().QueryRow(t.Context(), "SELECT $2::int = ANY(pg_blocking_pids($1))", int(pid), int(holder)).Scan(&blocked); err != nil {
			t.Fatal(err)
		}
		if blocked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backend %d never waited for backend %d", pid, holder)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openClaim claims events' ids in a transaction it leaves open (rolled
// back at the end of the test unless committed).
func openClaim(t *testing.T, db *postgres.DB, events []insights.Event) (pgx.Tx, int) {
	t.Helper()
	tx, err := db.Pool().Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	n, err := postgres.ClaimSeen(t.Context(), tx, events)
	if err != nil {
		t.Fatal(err)
	}
	return tx, n
}

// TestInsightsSeenRaceHeadAfterLock: a batch whose lock of its minutes'
// heads began before another batch committed a new minute's head does not
// hold that head, though its read (a new statement) sees it; a third
// batch may hold it meanwhile and add shard rows the read cannot see. The
// batch must lock the head and read again rather than write the minute.
//
// C holds minute 1's head; A inserts minute 2's head; B's lock of both
// heads waits for C; A commits; D takes minute 2's head and adds shard
// rows; C commits, so B's lock goes on without minute 2's head (A's
// commit came after its snapshot) and B's read waits for D; D commits.
func TestInsightsSeenRaceHeadAfterLock(t *testing.T) {
	db := open(t)
	ctx := t.Context()
	m1 := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	m2 := m1.Add(time.Minute)
	if n := claimAll(t, db, minuteEvents(m1, "c", 0, 5)); n != 5 {
		t.Fatalf("first claim: %d new, want 5", n)
	}
	txC, _ := openClaim(t, db, minuteEvents(m1, "c", 5, 6))
	txA, _ := openClaim(t, db, minuteEvents(m2, "a", 0, 5))

	pidB, done := startClaim(t, db, append(minuteEvents(m1, "c", 6, 7), minuteEvents(m2, "d", 0, 1)...))
	waitBlockedBy(t, db, pidB, txC.Conn().PgConn().PID())
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	txD, nD := openClaim(t, db, minuteEvents(m2, "d", 0, 200))
	if nD != 200 {
		t.Fatalf("D claimed %d new, want 200", nD)
	}
	if err := txC.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	waitBlockedBy(t, db, pidB, txD.Conn().PgConn().PID())
	if err := txD.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.n != 1 {
		t.Fatalf("B claimed %d ids as new, want 1 (c-6; d-0 is D's)", r.n)
	}
	all := append(append(minuteEvents(m1, "c", 0, 7), minuteEvents(m2, "a", 0, 5)...), minuteEvents(m2, "d", 0, 200)...)
	if n := claimAll(t, db, all); n != 0 {
		t.Fatalf("replay claimed %d as new, want 0", n)
	}
}
