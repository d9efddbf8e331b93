-- Item packs (see doc/billing.md, "Storage"): billing_row_packs rows at
-- lvl 2 (per account and UTC day) and lvl 3 (per account and hour) hold
-- the day's or hour's pack lines with the user left out (summed over
-- users), sorted by key. The usage endpoint's items, the model reports and
-- shared-storage read them: a few lines per item whatever the number of
-- users. Ingest keeps them up to date from now on; the buckets recorded
-- before are built here from their day (lvl 1) and hour (lvl 0) packs by
-- billing_item_pack, a Go function of the writer connection.
INSERT INTO billing_row_packs (account, lvl, bucket, data)
SELECT account, CASE lvl WHEN 1 THEN 2 ELSE 3 END, bucket, billing_item_pack(data) FROM billing_row_packs WHERE lvl IN (0, 1)
ON CONFLICT (account, lvl, bucket) DO NOTHING;
