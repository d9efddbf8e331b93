-- Record ids are deduplicated by their key (billing.IDKey, see
-- doc/billing.md, "Storage"): the id with its trailing digits moved behind
-- their count, so that the consecutive ids of a counter scheme go into the
-- index as a run at its right edge rather than scattered over it.
-- billing_id_key is a Go function of the writer connection.
CREATE TABLE billing_record_keys (
	k TEXT PRIMARY KEY
) WITHOUT ROWID;

INSERT INTO billing_record_keys (k) SELECT billing_id_key(id) FROM billing_record_ids ORDER BY 1;

DROP TABLE billing_record_ids;
