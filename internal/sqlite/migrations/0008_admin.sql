-- The site-admin API (internal/usage/admin.go): a user's email and when it
-- was suspended (Unix nanoseconds, 0 = not suspended).
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN suspended_at INTEGER NOT NULL DEFAULT 0;
