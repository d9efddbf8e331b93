-- Cost centers, their membership intervals, enterprise teams, budgets and
-- budget alerts. Times are Unix nanoseconds (0 = unset). Keys (name_key,
-- resource_key, target_key) are lower-cased in Go, so both stores compare
-- names the same way.
CREATE TABLE cost_centers (
	seq            INTEGER PRIMARY KEY,
	id             TEXT NOT NULL UNIQUE,
	enterprise_id  INTEGER NOT NULL,
	name           TEXT NOT NULL,
	name_key       TEXT NOT NULL,
	state          TEXT NOT NULL,
	ai_credit_pool INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL,
	deleted_at     INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX cost_centers_active_name ON cost_centers (enterprise_id, name_key) WHERE state = 'active';
CREATE INDEX cost_centers_enterprise ON cost_centers (enterprise_id, state);

-- One row per interval a resource spent in a cost center; ended_at = 0
-- while it lasts. A resource has at most one open interval.
CREATE TABLE cost_center_members (
	id             INTEGER PRIMARY KEY,
	enterprise_id  INTEGER NOT NULL,
	cost_center_id TEXT NOT NULL REFERENCES cost_centers (id),
	resource_type  TEXT NOT NULL,
	resource_name  TEXT NOT NULL,
	resource_key   TEXT NOT NULL,
	started_at     INTEGER NOT NULL,
	ended_at       INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX cost_center_members_open ON cost_center_members (enterprise_id, resource_key) WHERE ended_at = 0;
CREATE INDEX cost_center_members_cc ON cost_center_members (cost_center_id, ended_at, id);
CREATE INDEX cost_center_members_time ON cost_center_members (enterprise_id, started_at);

CREATE TABLE enterprise_teams (
	id            INTEGER PRIMARY KEY,
	enterprise_id INTEGER NOT NULL,
	slug          TEXT NOT NULL COLLATE NOCASE,
	name          TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	UNIQUE (enterprise_id, slug)
);
CREATE TABLE enterprise_team_members (
	team_id INTEGER NOT NULL REFERENCES enterprise_teams (id),
	user_id INTEGER NOT NULL REFERENCES users (id),
	PRIMARY KEY (team_id, user_id)
);

-- Budgets of an enterprise (org_id 0) or of one of its organizations.
CREATE TABLE budgets (
	seq                   INTEGER PRIMARY KEY,
	id                    TEXT NOT NULL UNIQUE,
	enterprise_id         INTEGER NOT NULL,
	org_id                INTEGER NOT NULL DEFAULT 0,
	budget_type           TEXT NOT NULL,
	product_sku           TEXT NOT NULL,
	scope                 TEXT NOT NULL,
	entity_name           TEXT NOT NULL,
	user_login            TEXT NOT NULL DEFAULT '',
	amount                INTEGER NOT NULL,
	prevent_further_usage INTEGER NOT NULL,
	will_alert            INTEGER NOT NULL,
	alert_recipients      TEXT NOT NULL DEFAULT '[]',
	target_key            TEXT NOT NULL,
	created_at            INTEGER NOT NULL,
	updated_at            INTEGER NOT NULL
);
CREATE UNIQUE INDEX budgets_target ON budgets (enterprise_id, org_id, target_key);

-- Thresholds raised, once per budget, month (YYYY-MM) and threshold.
CREATE TABLE budget_alerts (
	budget_id       TEXT NOT NULL,
	month           TEXT NOT NULL,
	threshold       INTEGER NOT NULL,
	delivery_id     TEXT NOT NULL,
	consumed        TEXT NOT NULL,
	raised_at       INTEGER NOT NULL,
	PRIMARY KEY (budget_id, month, threshold)
);
-- The outgoing webhook deliveries of raised alerts, one per URL, retried
-- until delivered or out of attempts.
CREATE TABLE budget_alert_deliveries (
	delivery_id     TEXT NOT NULL,
	url             TEXT NOT NULL,
	payload         TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	delivered_at    INTEGER NOT NULL DEFAULT 0,
	failed          INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (delivery_id, url)
);
CREATE INDEX budget_alert_deliveries_due ON budget_alert_deliveries (delivered_at, failed, next_attempt_at);
