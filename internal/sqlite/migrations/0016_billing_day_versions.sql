-- Ledger versions (see doc/billing.md, "Performance"): per account and UTC
-- day (its start in Unix seconds), a number bumped in the writing
-- transaction whenever the day's pack (billing_row_packs, lvl 1) is
-- written, which every ingested record does. The usage and summary
-- answers are cached under the sum of the versions of the months they
-- cover, so a write to a month invalidates them on every process.
CREATE TABLE billing_day_versions (
	account TEXT NOT NULL,
	day     INTEGER NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (account, day)
) WITHOUT ROWID;

INSERT INTO billing_day_versions (account, day, version)
SELECT account, bucket, 1 FROM billing_row_packs WHERE lvl = 1;

CREATE TRIGGER billing_row_packs_version_insert AFTER INSERT ON billing_row_packs WHEN NEW.lvl = 1
BEGIN
	INSERT INTO billing_day_versions (account, day, version) VALUES (NEW.account, NEW.bucket, 1)
	ON CONFLICT (account, day) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER billing_row_packs_version_update AFTER UPDATE ON billing_row_packs WHEN NEW.lvl = 1
BEGIN
	INSERT INTO billing_day_versions (account, day, version) VALUES (NEW.account, NEW.bucket, 1)
	ON CONFLICT (account, day) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER billing_row_packs_version_delete AFTER DELETE ON billing_row_packs WHEN OLD.lvl = 1
BEGIN
	INSERT INTO billing_day_versions (account, day, version) VALUES (OLD.account, OLD.bucket, 1)
	ON CONFLICT (account, day) DO UPDATE SET version = version + 1;
END;
