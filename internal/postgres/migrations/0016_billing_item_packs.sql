-- Day item packs (see doc/billing.md, "Storage", and the embedded store's
-- 0015, same format): billing_row_packs rows at lvl 2 hold, per account
-- and UTC day, the day pack's lines with the user left out (summed over
-- users), sorted by key (bytewise). The usage endpoint's items and the
-- model reports read them: a few lines per item whatever the number of
-- users. Ingest keeps them up to date from now on; the days recorded
-- before are built here from their day packs (lvl 1). A line is sku, org,
-- repo, username, model, public, quantity separated by tabs (the model
-- escaped, so it holds no tab).
INSERT INTO billing_row_packs (account, lvl, bucket, data)
SELECT account, 2, bucket, string_agg(k || chr(9) || q::text, chr(10) ORDER BY k COLLATE "C")
FROM (
	SELECT p.account, p.bucket,
		split_part(l, chr(9), 1) || chr(9) || split_part(l, chr(9), 2) || chr(9) || split_part(l, chr(9), 3) || chr(9) || chr(9) ||
		split_part(l, chr(9), 5) || chr(9) || split_part(l, chr(9), 6) AS k,
		sum(split_part(l, chr(9), 7)::bigint)::bigint AS q
	FROM billing_row_packs p, string_to_table(p.data, chr(10)) AS l
	WHERE p.lvl = 1 AND l <> ''
	GROUP BY 1, 2, 3
) s
GROUP BY account, bucket
ON CONFLICT (account, lvl, bucket) DO NOTHING;
