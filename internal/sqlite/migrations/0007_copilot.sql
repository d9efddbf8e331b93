-- Copilot usage metrics: per-user daily activity (one line per user and
-- UTC day, days counted from 1970-01-01), days to rebuild, built reports
-- and their files, the "Copilot usage metrics" policy, seats.
CREATE TABLE copilot_activity (
	day         INTEGER NOT NULL,
	user_id     INTEGER NOT NULL,
	user_login  TEXT NOT NULL,
	flags       INTEGER NOT NULL,
	line        TEXT NOT NULL,
	extra       TEXT NOT NULL,
	last_at     INTEGER NOT NULL,
	last_editor TEXT NOT NULL,
	PRIMARY KEY (day, user_id)
) WITHOUT ROWID;
CREATE INDEX copilot_activity_user ON copilot_activity (user_id, day);
CREATE TABLE copilot_dirty (
	day INTEGER PRIMARY KEY,
	seq INTEGER NOT NULL
);
CREATE TABLE copilot_state (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
CREATE TABLE copilot_reports (
	scope_type TEXT NOT NULL, -- 'e' enterprise, 'o' organization
	scope_id   INTEGER NOT NULL,
	kind       TEXT NOT NULL,
	day        INTEGER NOT NULL,
	files      TEXT NOT NULL, -- JSON array of file names
	rows       INTEGER NOT NULL,
	body       BLOB,
	built_at   INTEGER NOT NULL,
	PRIMARY KEY (scope_type, scope_id, kind, day)
);
CREATE TABLE copilot_garbage (
	name TEXT PRIMARY KEY,
	due  INTEGER NOT NULL
);
CREATE INDEX copilot_garbage_due ON copilot_garbage (due);
CREATE TABLE copilot_policies (
	scope_type TEXT NOT NULL,
	scope_id   INTEGER NOT NULL,
	value      TEXT NOT NULL,
	PRIMARY KEY (scope_type, scope_id)
);
CREATE TABLE copilot_seats (
	enterprise_id        INTEGER NOT NULL,
	org_id               INTEGER NOT NULL, -- 0: assigned at the enterprise
	user_id              INTEGER NOT NULL,
	assigning_team_id    INTEGER NOT NULL DEFAULT 0,
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL,
	pending_cancellation INTEGER NOT NULL DEFAULT 0, -- a day, 0 when none
	plan_type            TEXT NOT NULL,
	PRIMARY KEY (enterprise_id, org_id, user_id)
);
CREATE INDEX copilot_seats_user ON copilot_seats (user_id);
-- Memberships by user, for attributing activity to organizations,
-- enterprises and teams.
CREATE INDEX copilot_org_roles_user ON org_roles (user_id, org_id);
CREATE INDEX copilot_enterprise_roles_user ON enterprise_roles (user_id, enterprise_id);
CREATE INDEX copilot_team_members_user ON team_members (user_id, team_id);
