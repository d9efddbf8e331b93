-- Billing rows packed per account, level and bucket (see doc/billing.md,
-- "Performance" and the embedded store's 0013): one text value holds all
-- rows of an hour or UTC day, a line per row of tab-separated sku, org,
-- repo, username, model (its tab, newline and backslash escaped as \t, \n,
-- \\), public (0/1) and quantity (billionths of the unit). Writers create
-- missing packs with INSERT ... ON CONFLICT DO NOTHING, then lock the
-- packs of a batch with SELECT ... FOR UPDATE in key order and rewrite them.
CREATE TABLE billing_row_packs (
	account text COLLATE "C" NOT NULL,
	lvl     smallint NOT NULL,
	bucket  bigint NOT NULL,
	data    text NOT NULL,
	PRIMARY KEY (account, lvl, bucket)
);

INSERT INTO billing_row_packs (account, lvl, bucket, data)
SELECT account, lvl, bucket, string_agg(sku || chr(9) || org || chr(9) || repo || chr(9) || username || chr(9) ||
	replace(replace(replace(model, '\', '\\'), chr(9), '\t'), chr(10), '\n') || chr(9) ||
	(CASE WHEN public THEN '1' ELSE '0' END) || chr(9) || quantity::text, chr(10))
FROM billing_rows GROUP BY account, lvl, bucket;

DROP TABLE billing_rows;
