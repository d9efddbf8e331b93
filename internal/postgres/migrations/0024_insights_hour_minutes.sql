-- The minutes of actors and users live in their hour rows (lvl 2), as on
-- the embedded store: minutes holds the hour's requests by minute (an
-- entry list whose refs are the minute's index in the hour, 0-59), detail
-- its requests by group and minute (an entry list of one entry per ref
-- and minute, the minute of its last time, as lvl 4 rows hold them), both
-- in a compact varint form (see insights_hourlists.go). No
-- minute, five-minute or lvl 4 row is written for actors and users any
-- more: on sparse traffic most five-minute buckets of an actor hold a
-- request or two, and those rows were four fifths of the rows a batch
-- wrote. A row written before has neither (NULL); its minutes are in rows
-- of lvl 0, 1 or 4, which are still read (an event is in exactly one of
-- them or in its hour row's minutes), so nothing is converted here.
-- Retention empties both once the hour is older than the five-minute
-- cutoff.
ALTER TABLE insights_p_actor ADD COLUMN minutes bytea, ADD COLUMN detail bytea;
ALTER TABLE insights_p_user ADD COLUMN minutes bytea, ADD COLUMN detail bytea;
DO $$
BEGIN
	ALTER TABLE insights_p_actor ALTER COLUMN minutes SET COMPRESSION lz4, ALTER COLUMN detail SET COMPRESSION lz4;
	ALTER TABLE insights_p_user ALTER COLUMN minutes SET COMPRESSION lz4, ALTER COLUMN detail SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	NULL;
END
$$;
