-- The billing ledger packed for speed (see doc/billing.md, "Performance").
--
-- billing_row_packs: the rows of one account, level and bucket as one
-- text value, a line per row of tab-separated sku, org, repo, username,
-- model, public (0/1) and quantity (billionths of the unit); a month of day
-- rows is about thirty values to read whatever the usage. Ingest rewrites
-- the packs a batch touches.
--
-- billing_record_ids and billing_record_chunks: the ids of every record
-- (a re-sent batch counts once), and the records themselves as a chunk per
-- batch, account and UTC hour (its start in Unix seconds), a line per record of
-- tab-separated id, ts (Unix ns), product, sku, quantity, unit, enterprise,
-- organization, repository, username, workflow_path, model, public (0/1).
--
-- In both, tab, newline and backslash in a field are escaped as \t, \n, \\.
CREATE TABLE billing_row_packs (
	account TEXT NOT NULL,
	lvl     INTEGER NOT NULL,
	bucket  INTEGER NOT NULL,
	data    TEXT NOT NULL,
	PRIMARY KEY (account, lvl, bucket)
) WITHOUT ROWID;

INSERT INTO billing_row_packs (account, lvl, bucket, data)
SELECT account, lvl, bucket, group_concat(sku || char(9) || org || char(9) || repo || char(9) || username || char(9) ||
	replace(replace(replace(model, '\', '\\'), char(9), '\t'), char(10), '\n') || char(9) ||
	(CASE WHEN public THEN '1' ELSE '0' END) || char(9) || quantity, char(10))
FROM billing_rows GROUP BY account, lvl, bucket;

DROP TABLE billing_rows;

CREATE TABLE billing_record_ids (
	id TEXT PRIMARY KEY
) WITHOUT ROWID;

INSERT INTO billing_record_ids (id) SELECT id FROM billing_records;

CREATE TABLE billing_record_chunks (
	seq     INTEGER PRIMARY KEY,
	account TEXT NOT NULL,
	hour    INTEGER NOT NULL,
	data    TEXT NOT NULL
);
CREATE INDEX billing_record_chunks_by_hour ON billing_record_chunks (account, hour);

INSERT INTO billing_record_chunks (account, hour, data)
SELECT account, (ts / 3600000000000) * 3600, group_concat(
	replace(replace(replace(id, '\', '\\'), char(9), '\t'), char(10), '\n') || char(9) || ts || char(9) ||
	product || char(9) || sku || char(9) || quantity || char(9) || unit || char(9) || enterprise || char(9) ||
	organization || char(9) || repository || char(9) || username || char(9) ||
	replace(replace(replace(workflow_path, '\', '\\'), char(9), '\t'), char(10), '\n') || char(9) ||
	replace(replace(replace(model, '\', '\\'), char(9), '\t'), char(10), '\n') || char(9) ||
	(CASE WHEN public THEN '1' ELSE '0' END), char(10))
FROM billing_records GROUP BY account, ts / 3600000000000;

DROP TABLE billing_records;
