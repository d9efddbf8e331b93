-- The billing ledger packed for speed (see doc/billing.md, "Performance",
-- and the embedded store's 0013, same formats).
--
-- billing_row_packs: the rows of one account, level and bucket as one
-- text value, a line per row of tab-separated sku, org, repo, username,
-- model, public (0/1) and quantity (billionths of the unit). Writers create
-- missing packs with INSERT ... ON CONFLICT DO NOTHING, then lock a batch's
-- packs with SELECT ... FOR UPDATE in key order and rewrite them.
--
-- billing_record_ids and billing_record_chunks: the ids of every record
-- (a concurrent batch carrying the same id waits for the first and skips
-- it), and the records as a chunk per batch, account and UTC hour (its
-- start in Unix seconds), a line per record of tab-separated id, ts (Unix ns), product,
-- sku, quantity, unit, enterprise, organization, repository, username,
-- workflow_path, model, public (0/1).
--
-- In both, tab, newline and backslash in a field are escaped as \t, \n, \\.
-- Both values are stored uncompressed (STORAGE EXTERNAL): compressing every
-- chunk and every rewritten pack with pglz cost more server CPU than the
-- ingest's whole insert work, for space the former row tables took anyway.
CREATE TABLE billing_row_packs (
	account text COLLATE "C" NOT NULL,
	lvl     smallint NOT NULL,
	bucket  bigint NOT NULL,
	data    text NOT NULL,
	PRIMARY KEY (account, lvl, bucket)
);
ALTER TABLE billing_row_packs ALTER COLUMN data SET STORAGE EXTERNAL;

INSERT INTO billing_row_packs (account, lvl, bucket, data)
SELECT account, lvl, bucket, string_agg(sku || chr(9) || org || chr(9) || repo || chr(9) || username || chr(9) ||
	replace(replace(replace(model, '\', '\\'), chr(9), '\t'), chr(10), '\n') || chr(9) ||
	(CASE WHEN public THEN '1' ELSE '0' END) || chr(9) || quantity::text, chr(10))
FROM billing_rows GROUP BY account, lvl, bucket;

DROP TABLE billing_rows;

CREATE TABLE billing_record_ids (
	id text COLLATE "C" PRIMARY KEY
);

INSERT INTO billing_record_ids (id) SELECT id FROM billing_records;

CREATE TABLE billing_record_chunks (
	seq     bigserial PRIMARY KEY,
	account text COLLATE "C" NOT NULL,
	hour    bigint NOT NULL,
	data    text NOT NULL
);
ALTER TABLE billing_record_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE INDEX billing_record_chunks_by_hour ON billing_record_chunks (account, hour);

INSERT INTO billing_record_chunks (account, hour, data)
SELECT account, (ts / 3600000000000) * 3600, string_agg(
	replace(replace(replace(id, '\', '\\'), chr(9), '\t'), chr(10), '\n') || chr(9) || ts::text || chr(9) ||
	product || chr(9) || sku || chr(9) || quantity::text || chr(9) || unit || chr(9) || enterprise || chr(9) ||
	organization || chr(9) || repository || chr(9) || username || chr(9) ||
	replace(replace(replace(workflow_path, '\', '\\'), chr(9), '\t'), chr(10), '\n') || chr(9) ||
	replace(replace(replace(model, '\', '\\'), chr(9), '\t'), chr(10), '\n') || chr(9) ||
	(CASE WHEN public THEN '1' ELSE '0' END), chr(10))
FROM billing_records GROUP BY account, ts / 3600000000000;

DROP TABLE billing_records;
