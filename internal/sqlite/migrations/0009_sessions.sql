-- Dashboard sign-in sessions (internal/session): the SHA-256 of the cookie's
-- identifier, the SHA-256 of the API token it acts with, the CSRF secret of
-- its forms; times are Unix nanoseconds.
CREATE TABLE ui_sessions (
	hash       BLOB PRIMARY KEY,
	token_hash BLOB NOT NULL,
	csrf       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at);
