-- The site-admin API (internal/usage/admin.go): a user's email and when it
-- was suspended (NULL = not suspended).
ALTER TABLE users ADD COLUMN email text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN suspended_at timestamptz;
