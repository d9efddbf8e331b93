-- The billing ledger (see doc/billing.md and the embedded store's 0004).
-- billing_records holds every usage record, never edited; its id makes a
-- re-sent batch count once. billing_rows sums records per account
-- (enterprise:slug, organization:login, user:login), level (0 hour, 1 UTC
-- day), bucket start (Unix seconds) and key; billing_day_totals per account,
-- day, SKU and public flag for included quotas. Writers add deltas with
-- INSERT ... ON CONFLICT DO UPDATE in key order, so replicas writing the
-- same rows at once both count and never deadlock. Quantities are bigint
-- billionths of the SKU's unit; record times are Unix nanoseconds.
CREATE TABLE billing_records (
	id            text COLLATE "C" PRIMARY KEY,
	account       text COLLATE "C" NOT NULL,
	ts            bigint NOT NULL,
	product       text NOT NULL,
	sku           text NOT NULL,
	quantity      bigint NOT NULL,
	unit          text NOT NULL,
	enterprise    text NOT NULL,
	organization  text NOT NULL,
	repository    text NOT NULL,
	username      text NOT NULL,
	workflow_path text NOT NULL,
	model         text NOT NULL,
	public        boolean NOT NULL
);
CREATE INDEX billing_records_by_time ON billing_records (account, ts);

CREATE TABLE billing_rows (
	account  text COLLATE "C" NOT NULL,
	lvl      smallint NOT NULL,
	bucket   bigint NOT NULL,
	sku      text COLLATE "C" NOT NULL,
	org      text COLLATE "C" NOT NULL,
	repo     text COLLATE "C" NOT NULL,
	username text COLLATE "C" NOT NULL,
	model    text COLLATE "C" NOT NULL,
	public   boolean NOT NULL,
	quantity bigint NOT NULL,
	PRIMARY KEY (account, lvl, bucket, sku, org, repo, username, model, public)
);

CREATE TABLE billing_day_totals (
	account  text COLLATE "C" NOT NULL,
	day      bigint NOT NULL,
	sku      text COLLATE "C" NOT NULL,
	public   boolean NOT NULL,
	quantity bigint NOT NULL,
	PRIMARY KEY (account, day, sku, public)
);

-- Advanced Security: each user's latest push per repository.
CREATE TABLE billing_committers (
	account     text COLLATE "C" NOT NULL,
	repo        text COLLATE "C" NOT NULL,
	login       text COLLATE "C" NOT NULL,
	org         text NOT NULL,
	email       text NOT NULL,
	author_date bigint NOT NULL,
	pushed_at   bigint NOT NULL,
	PRIMARY KEY (account, repo, login)
);
CREATE INDEX billing_committers_by_push ON billing_committers (account, pushed_at);

-- Usage report exports: requested through the API, written by the
-- billing-reports job (once across replicas) into files (blob names).
CREATE TABLE billing_reports (
	id          text PRIMARY KEY,
	enterprise  text COLLATE "C" NOT NULL,
	report_type text NOT NULL,
	start_date  text NOT NULL,
	end_date    text NOT NULL,
	status      text NOT NULL,
	files       text[] NOT NULL DEFAULT '{}',
	actor       text NOT NULL,
	created_at  bigint NOT NULL,
	error       text NOT NULL DEFAULT ''
);
CREATE INDEX billing_reports_by_enterprise ON billing_reports (enterprise, created_at);
CREATE INDEX billing_reports_by_status ON billing_reports (status, created_at);
