-- Dashboard sign-in sessions (internal/session), shared by every replica:
-- the SHA-256 of the cookie's identifier, the SHA-256 of the API token it
-- acts with, and the CSRF secret of its forms.
CREATE TABLE ui_sessions (
	hash       bytea PRIMARY KEY,
	token_hash bytea NOT NULL,
	csrf       text NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at);
