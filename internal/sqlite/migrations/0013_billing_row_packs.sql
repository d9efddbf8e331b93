-- Billing rows packed per account, level and bucket (see doc/billing.md,
-- "Performance"): one text value holds all rows of an hour or UTC day, a
-- line per row of tab-separated sku, org, repo, username, model (its tab,
-- newline and backslash escaped as \t, \n, \\), public (0/1) and quantity
-- (billionths of the unit). A month of day rows is about thirty values to
-- read whatever the usage; ingest rewrites the packs a batch touches.
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
