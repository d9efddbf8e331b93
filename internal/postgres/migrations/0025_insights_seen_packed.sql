-- Event ids already counted, packed: for each minute of event time, the
-- sorted 16-byte keys (first bytes of SHA-256 of the id) of the events
-- recorded, in one row per minute and shard, as on the embedded store. A
-- sparse minute is one row (shard 16, up to 128 keys, the whole minute);
-- once it outgrows that, its further keys go to one row per shard (0-15,
-- the first four bits of the key), and both are looked up. Remembering an
-- event then costs 16 bytes, not a row and an index entry (a row per
-- event was half the rows a batch wrote and a third of its time in
-- PostgreSQL). Rows up to a page stay inline and uncompressed (keys do
-- not compress). The ids of insights_seen (one row per event, written by
-- builds before this migration) are converted into shard rows here.
CREATE TABLE insights_seen_keys (
	minute bigint NOT NULL,
	shard  smallint NOT NULL,
	keys   bytea NOT NULL,
	PRIMARY KEY (minute, shard)
) WITH (toast_tuple_target = 8160);
ALTER TABLE insights_seen_keys ALTER COLUMN keys SET STORAGE MAIN;

INSERT INTO insights_seen_keys (minute, shard, keys)
	SELECT minute, get_byte(k, 0) >> 4, string_agg(k, ''::bytea ORDER BY k)
	FROM insights_seen GROUP BY 1, 2;
DROP TABLE insights_seen;
