-- Accounts, apps and tokens. Times are Unix nanoseconds (0 = unset);
-- permissions and scopes are JSON.
CREATE TABLE enterprises (
	id         INTEGER PRIMARY KEY,
	slug       TEXT NOT NULL COLLATE NOCASE UNIQUE,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE TABLE organizations (
	id            INTEGER PRIMARY KEY,
	login         TEXT NOT NULL COLLATE NOCASE UNIQUE,
	enterprise_id INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
);
CREATE TABLE users (
	id         INTEGER PRIMARY KEY,
	login      TEXT NOT NULL COLLATE NOCASE UNIQUE,
	name       TEXT NOT NULL DEFAULT '',
	site_admin INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE TABLE org_roles (
	org_id  INTEGER NOT NULL REFERENCES organizations(id),
	user_id INTEGER NOT NULL REFERENCES users(id),
	role    TEXT NOT NULL,
	PRIMARY KEY (org_id, user_id)
);
CREATE TABLE enterprise_roles (
	enterprise_id INTEGER NOT NULL REFERENCES enterprises(id),
	user_id       INTEGER NOT NULL REFERENCES users(id),
	role          TEXT NOT NULL,
	PRIMARY KEY (enterprise_id, user_id)
);
CREATE TABLE teams (
	id     INTEGER PRIMARY KEY,
	org_id INTEGER NOT NULL REFERENCES organizations(id),
	slug   TEXT NOT NULL COLLATE NOCASE,
	name   TEXT NOT NULL,
	UNIQUE (org_id, slug)
);
CREATE TABLE team_members (
	team_id INTEGER NOT NULL REFERENCES teams(id),
	user_id INTEGER NOT NULL REFERENCES users(id),
	PRIMARY KEY (team_id, user_id)
);
CREATE TABLE repositories (
	id          INTEGER PRIMARY KEY,
	owner_login TEXT NOT NULL COLLATE NOCASE,
	name        TEXT NOT NULL COLLATE NOCASE,
	private     INTEGER NOT NULL DEFAULT 0,
	UNIQUE (owner_login, name)
);
CREATE TABLE apps (
	id          INTEGER PRIMARY KEY,
	slug        TEXT NOT NULL COLLATE NOCASE UNIQUE,
	name        TEXT NOT NULL,
	owner_login TEXT NOT NULL DEFAULT '',
	client_id   TEXT NOT NULL DEFAULT '',
	permissions TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE installations (
	id            INTEGER PRIMARY KEY,
	app_id        INTEGER NOT NULL REFERENCES apps(id),
	account_login TEXT NOT NULL COLLATE NOCASE,
	account_type  TEXT NOT NULL,
	permissions   TEXT NOT NULL DEFAULT '{}',
	repositories  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE oauth_apps (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL,
	client_id   TEXT NOT NULL DEFAULT '',
	owner_login TEXT NOT NULL DEFAULT ''
);
CREATE TABLE tokens (
	id              INTEGER PRIMARY KEY,
	type            TEXT NOT NULL,
	hash            BLOB NOT NULL UNIQUE,
	last_eight      TEXT NOT NULL,
	user_id         INTEGER NOT NULL DEFAULT 0,
	oauth_app_id    INTEGER NOT NULL DEFAULT 0,
	app_id          INTEGER NOT NULL DEFAULT 0,
	installation_id INTEGER NOT NULL DEFAULT 0,
	note            TEXT NOT NULL DEFAULT '',
	scopes          TEXT NOT NULL DEFAULT '[]',
	permissions     TEXT NOT NULL DEFAULT '{}',
	resource_owner  TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL DEFAULT 0,
	revoked_at      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens (user_id);
