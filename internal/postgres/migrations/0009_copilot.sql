-- Copilot usage metrics: per-user daily activity (one line per user and
-- UTC day; days are counted from 1970-01-01), days to rebuild, built
-- reports and their files, the "Copilot usage metrics" policy, seats.
-- Lines are kept as text, byte for byte: report files splice them.
CREATE TABLE copilot_activity (
	day         integer NOT NULL,
	user_id     bigint NOT NULL,
	user_login  text NOT NULL,
	flags       integer NOT NULL,
	line        text NOT NULL,
	extra       text NOT NULL,
	last_at     bigint NOT NULL,
	last_editor text NOT NULL,
	PRIMARY KEY (day, user_id)
);
CREATE INDEX copilot_activity_user ON copilot_activity (user_id, day);

CREATE TABLE copilot_dirty (
	day integer PRIMARY KEY,
	seq bigint NOT NULL
);

CREATE TABLE copilot_state (
	key   text PRIMARY KEY,
	value bigint NOT NULL
);

CREATE TABLE copilot_reports (
	scope_type text NOT NULL, -- 'e' enterprise, 'o' organization
	scope_id   bigint NOT NULL,
	kind       text NOT NULL,
	day        integer NOT NULL,
	files      text[] NOT NULL,
	rows       bigint NOT NULL,
	body       bytea,
	built_at   timestamptz NOT NULL,
	PRIMARY KEY (scope_type, scope_id, kind, day)
);

CREATE TABLE copilot_garbage (
	name text PRIMARY KEY,
	due  timestamptz NOT NULL
);
CREATE INDEX copilot_garbage_due ON copilot_garbage (due);

CREATE TABLE copilot_policies (
	scope_type text NOT NULL,
	scope_id   bigint NOT NULL,
	value      text NOT NULL,
	PRIMARY KEY (scope_type, scope_id)
);

CREATE TABLE copilot_seats (
	enterprise_id        bigint NOT NULL,
	org_id               bigint NOT NULL, -- 0: assigned at the enterprise
	user_id              bigint NOT NULL,
	assigning_team_id    bigint NOT NULL DEFAULT 0,
	created_at           timestamptz NOT NULL,
	updated_at           timestamptz NOT NULL,
	pending_cancellation integer NOT NULL DEFAULT 0, -- a day, 0 when none
	plan_type            text NOT NULL,
	PRIMARY KEY (enterprise_id, org_id, user_id)
);
CREATE INDEX copilot_seats_user ON copilot_seats (user_id);

-- Team memberships by user, for attributing activity to teams.
CREATE INDEX copilot_team_members_user ON team_members (user_id, team_id);
