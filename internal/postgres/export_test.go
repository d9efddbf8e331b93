package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/blob"
	"github.com/ghusage/ghusage/internal/insights"
)

// SetLegacyFold makes db write insights as builds before migration 0024
// did: minutes of actors and users in lvlMinuteDetail rows, none in their
// hour rows.
func SetLegacyFold(db *DB, on bool) { db.legacyFold = on }

// ClaimSeen claims the ids of events in tx as InsightsIngest does and
// returns how many were not stored before.
func ClaimSeen(ctx context.Context, tx pgx.Tx, events []insights.Event) (int, error) {
	return claimSeen(ctx, tx, newDedupKeys(events).sorted, func(seenKey) {})
}

// ErrLostCommit is what the store of BlobsLosingCommits reports from the
// COMMIT of a Put.
var ErrLostCommit = errors.New("test: connection lost during COMMIT")

// BlobsLosingCommits returns db's blob store whose Put loses the outcome
// of its COMMIT, as when the context is cancelled during it or the
// connection drops: the transaction is committed when committed is true
// (the server had it) and rolled back otherwise; then after, unless nil,
// is called, and Put's commit step returns ErrLostCommit.
func BlobsLosingCommits(db *DB, committed bool, after func()) blob.Store {
	return &pgBlobs{db: db, commit: func(ctx context.Context, tx pgx.Tx) error {
		end := tx.Rollback
		if committed {
			end = tx.Commit
		}
		if err := end(ctx); err != nil {
			return err
		}
		if after != nil {
			after()
		}
		return ErrLostCommit
	}}
}

// BlobsCommittingLate returns db's blob store whose Put's commit step
// returns ErrLostCommit at once while the server has yet to commit, as
// when the context ends while the server waits on an fsync or a
// synchronous standby: a goroutine calls before, then commits the
// transaction and sends the result on the channel returned.
func BlobsCommittingLate(db *DB, before func()) (blob.Store, <-chan error) {
	done := make(chan error, 1)
	return &pgBlobs{db: db, commit: func(ctx context.Context, tx pgx.Tx) error {
		go func() {
			before()
			done <- tx.Commit(context.WithoutCancel(ctx))
		}()
		return ErrLostCommit
	}}, done
}
