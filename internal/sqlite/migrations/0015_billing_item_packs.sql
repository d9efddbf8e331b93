-- Day item packs (see doc/billing.md, "Storage"): billing_row_packs rows
-- at lvl 2 hold, per account and UTC day, the day pack's lines with the
-- user left out (summed over users), sorted by key. The usage endpoint's
-- items and the model reports read them: a few lines per item whatever
-- the number of users. Ingest keeps them up to date from now on; the
-- days recorded before are built here from their day packs (lvl 1) by
-- billing_item_pack, a Go function of the writer connection.
INSERT INTO billing_row_packs (account, lvl, bucket, data)
SELECT account, 2, bucket, billing_item_pack(data) FROM billing_row_packs WHERE lvl = 1
ON CONFLICT (account, lvl, bucket) DO NOTHING;
