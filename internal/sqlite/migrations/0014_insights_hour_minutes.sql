-- The minutes of actors and users live in their hour rows (lvl 2): minutes
-- holds the hour's requests by minute (a packed list whose refs are the
-- minute's index in the hour), detail its requests by group and minute (a
-- packed list of minute entries, as the lvl 4 rows hold them). A row
-- written before has neither (NULL); its minutes are in rows of lvl 0, 1
-- or 4, which are still read. Retention empties both once the hour is
-- older than the minute cutoff.
ALTER TABLE insights_r_actor ADD COLUMN minutes BLOB;
ALTER TABLE insights_r_actor ADD COLUMN detail BLOB;
ALTER TABLE insights_r_user ADD COLUMN minutes BLOB;
ALTER TABLE insights_r_user ADD COLUMN detail BLOB;
