-- The billing ledger (see doc/billing.md). billing_records holds every
-- usage record as ingested, never edited (its id makes a re-sent batch
-- count once); billing_rows sums records per account (enterprise:slug,
-- organization:login or user:login), level (0 hour, 1 UTC day), bucket
-- start (Unix seconds) and key; billing_day_totals sums them per account,
-- day, SKU and public flag for included quotas. Quantities are integers in
-- billionths of the SKU's unit. Timestamps of records are Unix nanoseconds.
CREATE TABLE billing_records (
	id            TEXT PRIMARY KEY,
	account       TEXT NOT NULL,
	ts            INTEGER NOT NULL,
	product       TEXT NOT NULL,
	sku           TEXT NOT NULL,
	quantity      INTEGER NOT NULL,
	unit          TEXT NOT NULL,
	enterprise    TEXT NOT NULL,
	organization  TEXT NOT NULL,
	repository    TEXT NOT NULL,
	username      TEXT NOT NULL,
	workflow_path TEXT NOT NULL,
	model         TEXT NOT NULL,
	public        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX billing_records_by_time ON billing_records (account, ts);

CREATE TABLE billing_rows (
	account  TEXT NOT NULL,
	lvl      INTEGER NOT NULL,
	bucket   INTEGER NOT NULL,
	sku      TEXT NOT NULL,
	org      TEXT NOT NULL,
	repo     TEXT NOT NULL,
	username TEXT NOT NULL,
	model    TEXT NOT NULL,
	public   INTEGER NOT NULL,
	quantity INTEGER NOT NULL,
	PRIMARY KEY (account, lvl, bucket, sku, org, repo, username, model, public)
) WITHOUT ROWID;

CREATE TABLE billing_day_totals (
	account  TEXT NOT NULL,
	day      INTEGER NOT NULL,
	sku      TEXT NOT NULL,
	public   INTEGER NOT NULL,
	quantity INTEGER NOT NULL,
	PRIMARY KEY (account, day, sku, public)
) WITHOUT ROWID;

-- Advanced Security: each user's latest push per repository.
CREATE TABLE billing_committers (
	account     TEXT NOT NULL,
	repo        TEXT NOT NULL,
	login       TEXT NOT NULL,
	org         TEXT NOT NULL,
	email       TEXT NOT NULL,
	author_date INTEGER NOT NULL,
	pushed_at   INTEGER NOT NULL,
	PRIMARY KEY (account, repo, login)
) WITHOUT ROWID;
CREATE INDEX billing_committers_by_push ON billing_committers (account, pushed_at);

-- Usage report exports: requested through the API, written by the
-- billing-reports job into files (blob names, one per line).
CREATE TABLE billing_reports (
	id          TEXT PRIMARY KEY,
	enterprise  TEXT NOT NULL,
	report_type TEXT NOT NULL,
	start_date  TEXT NOT NULL,
	end_date    TEXT NOT NULL,
	status      TEXT NOT NULL,
	files       TEXT NOT NULL DEFAULT '',
	actor       TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX billing_reports_by_enterprise ON billing_reports (enterprise, created_at);
CREATE INDEX billing_reports_by_status ON billing_reports (status, created_at);
