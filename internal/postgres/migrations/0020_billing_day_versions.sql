-- Ledger versions (see doc/billing.md, "Performance"): per account and UTC
-- day (its start in Unix seconds), a number bumped in the writing
-- transaction whenever the day's pack (billing_row_packs, lvl 1) is
-- written, which every ingested record does. The usage and summary
-- answers are cached under the sum of the versions of the months they
-- cover, so a write to a month invalidates them on every replica. A
-- version row is only written under the lock of its day pack's row, so it
-- adds no lock order of its own.
CREATE TABLE billing_day_versions (
	account text COLLATE "C" NOT NULL,
	day     bigint NOT NULL,
	version bigint NOT NULL,
	PRIMARY KEY (account, day)
);

INSERT INTO billing_day_versions (account, day, version)
SELECT account, bucket, 1 FROM billing_row_packs WHERE lvl = 1;

CREATE FUNCTION billing_bump_day_version() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
	r record;
BEGIN
	IF TG_OP = 'DELETE' THEN
		r := OLD;
	ELSE
		r := NEW;
	END IF;
	INSERT INTO billing_day_versions (account, day, version) VALUES (r.account, r.bucket, 1)
	ON CONFLICT (account, day) DO UPDATE SET version = billing_day_versions.version + 1;
	RETURN NULL;
END $$;

CREATE TRIGGER billing_row_packs_version AFTER INSERT OR UPDATE ON billing_row_packs
	FOR EACH ROW WHEN (NEW.lvl = 1) EXECUTE FUNCTION billing_bump_day_version();
CREATE TRIGGER billing_row_packs_version_delete AFTER DELETE ON billing_row_packs
	FOR EACH ROW WHEN (OLD.lvl = 1) EXECUTE FUNCTION billing_bump_day_version();
