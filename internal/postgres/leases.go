package postgres

import (
	"context"
	"time"
)

// Leases is the jobs.Locker of replicas sharing this database: a
// job_leases table updated by single atomic statements, so concurrent
// replicas agree on one holder, and leases that expire, so a replica that
// dies mid-job blocks nobody past its lease.
type Leases struct{ db *DB }

// Leases returns the database's job leases.
func (db *DB) Leases() *Leases { return &Leases{db: db} }

// Acquire grants holder the lease on name until now+ttl when no lease is
// live at now and the last run started at or before now-every.
func (l *Leases) Acquire(ctx context.Context, name, holder string, now time.Time, every, ttl time.Duration) (bool, error) {
	now = now.UTC()
	// INSERT ... ON CONFLICT DO UPDATE ... WHERE locks the row and
	// re-checks the condition against the latest committed version, so of
	// replicas racing here exactly one sees its row written.
	tag, err := l.db.pool.Exec(ctx, `
		INSERT INTO job_leases AS l (name, holder, started_at, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, started_at = excluded.started_at, expires_at = excluded.expires_at
		WHERE l.expires_at <= $3 AND l.started_at <= $5`,
		name, holder, now, now.Add(ttl), now.Add(-every))
	if err != nil {
		return false, wrap(err, "acquire job lease")
	}
	return tag.RowsAffected() == 1, nil
}

// Release ends holder's lease on name at now, keeping the run's start.
func (l *Leases) Release(ctx context.Context, name, holder string, now time.Time) error {
	_, err := l.db.pool.Exec(ctx, `UPDATE job_leases SET expires_at = LEAST(expires_at, $3) WHERE name = $1 AND holder = $2`,
		name, holder, now.UTC())
	return wrap(err, "release job lease")
}
