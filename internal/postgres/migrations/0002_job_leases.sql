-- Job leases: one row per background job, shared by every replica.
-- A replica may run a job when expires_at has passed (no live lease) and
-- started_at is at least one period old (jobs.Locker).
CREATE TABLE job_leases (
	name       text PRIMARY KEY,
	holder     text NOT NULL,
	started_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
