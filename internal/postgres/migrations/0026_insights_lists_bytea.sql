-- The entry lists of the packed roll-ups (subjects, routes, actors) are
-- written as bytea in the compact varint form of the hour rows' minutes
-- and detail (migration 0024, see insights_hourlists.go), in new columns
-- beside the bigint[] ones: PostgreSQL parses a bigint[] sent by COPY or
-- as a parameter element by element, and a list of some 46 entries (230
-- bigints, an organization's minute) is over 2 KB and so compressed and
-- stored out of line on every write, where its varint form (some 370
-- bytes) stays in the row: COPY of 10,000 such rows took 120-180 ms as
-- bigint[] against 36-43 ms as bytea. Rows written before keep their
-- bigint[] list (the bytea one NULL); a row rewritten by a merge gets its
-- merged list as bytea and the bigint[] one NULL. Readers read both (a
-- row's entries are in one of them, or in both added up), so nothing is
-- converted here.
ALTER TABLE insights_p_subjects ALTER COLUMN subjects DROP NOT NULL, ADD COLUMN subjects_v bytea;
ALTER TABLE insights_p_actor ALTER COLUMN routes DROP NOT NULL, ADD COLUMN routes_v bytea;
ALTER TABLE insights_p_user ALTER COLUMN actors DROP NOT NULL, ADD COLUMN actors_v bytea;
DO $$
BEGIN
	ALTER TABLE insights_p_subjects ALTER COLUMN subjects_v SET COMPRESSION lz4;
	ALTER TABLE insights_p_actor ALTER COLUMN routes_v SET COMPRESSION lz4;
	ALTER TABLE insights_p_user ALTER COLUMN actors_v SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	NULL;
END
$$;
