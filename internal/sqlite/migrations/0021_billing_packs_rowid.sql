-- billing_row_packs becomes a rowid table with its key in a unique index.
-- A pack is one text value of up to megabytes, and in a WITHOUT ROWID
-- table every comparison of a seek or of a range scan's end with a row
-- whose payload overflows its page reads the whole payload, overflow
-- pages and all (interior pages hold whole rows as separators too): each
-- pack ingest read and each day a usage answer read cost several packs'
-- worth of reads. The unique index holds only the key and the rowid.
CREATE TABLE billing_row_packs_0021 (
	account TEXT NOT NULL,
	lvl     INTEGER NOT NULL,
	bucket  INTEGER NOT NULL,
	data    TEXT NOT NULL,
	UNIQUE (account, lvl, bucket)
);

INSERT INTO billing_row_packs_0021 (account, lvl, bucket, data)
SELECT account, lvl, bucket, data FROM billing_row_packs ORDER BY account, lvl, bucket;

DROP TABLE billing_row_packs;

ALTER TABLE billing_row_packs_0021 RENAME TO billing_row_packs;

-- the ledger versions' triggers (0016), which went with the old table
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
