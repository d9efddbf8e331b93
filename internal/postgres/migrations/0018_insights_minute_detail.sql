-- Five-minute rows with their minutes inside (lvl 4, see insights.go,
-- lvlMinuteDetail). insights_p_actor and insights_p_user no longer get
-- minute rows (lvl 0) and plain five-minute rows (lvl 1): each five
-- minutes of an actor or user is one row of lvl 4 whose entry list holds
-- one entry per ref and minute (the minute of its last request time).
-- On sparse traffic that halves the rows a batch upserts. Rows of lvl 0
-- and 1 written before stay and are read alongside (an event is in them
-- or in lvl 4, never both), so nothing is converted here.
--
-- insights_merge_minutes(a, b) is insights_merge for such lists: entries
-- add up when their ref and the minute of their last time are the same.
CREATE FUNCTION insights_merge_minutes(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT COALESCE(array_agg(v ORDER BY g.ref, g.l, u.o), '{}')
	FROM (
		SELECT f[1] AS ref, SUM(f[2])::bigint AS t, SUM(f[3])::bigint AS r, MAX(f[4]) AS l, MAX(f[5]) AS lr
		FROM (
			SELECT array_agg(v ORDER BY o) AS f
			FROM (SELECT 1 AS s, v, o FROM unnest(a) WITH ORDINALITY x(v, o)
				UNION ALL SELECT 2, v, o FROM unnest(b) WITH ORDINALITY x(v, o)) x
			GROUP BY s, (o - 1) / 5
		) e
		GROUP BY f[1], div(f[4], 60)
	) g, unnest(ARRAY[g.ref, g.t, g.r, g.l, g.lr]) WITH ORDINALITY u(v, o)
$$;
