-- Record ids are deduplicated by their key (billing.IDKey, see
-- doc/billing.md, "Storage"): hex2(length of the id less its trailing
-- digits in bytes) || that prefix || hex2(number of trailing digits) ||
-- the digits, so that the consecutive ids of a counter scheme go into the
-- index as a run at its right edge rather than scattered over it.
CREATE TABLE billing_record_keys (
	k text COLLATE "C" PRIMARY KEY
);

INSERT INTO billing_record_keys (k)
SELECT lpad(to_hex(octet_length(p)), 2, '0') || p || lpad(to_hex(length(d)), 2, '0') || d
FROM (SELECT left(id, length(id) - length(d)) AS p, d
	FROM (SELECT id, substring(id from '[0-9]*$') AS d FROM billing_record_ids) i) s
ORDER BY 1;

DROP TABLE billing_record_ids;
