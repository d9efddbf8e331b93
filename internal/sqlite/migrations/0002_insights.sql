-- API insights roll-ups (see doc/insights.md). Dimensions are interned into
-- small integer refs. Each roll-up row holds one bucket (lvl 0 minute,
-- 1 hour, 2 day; bucket = its start in Unix seconds) of one key: the
-- request totals (total, rl = rate limited) and a packed list of the
-- groups an endpoint breaks that key down by, each with its totals and
-- last request / last rate-limited request times (see insights_pack.go).
-- So a bucket costs one row per actor and per user (two per organization),
-- whatever the number of routes, subjects or actors inside it.
CREATE TABLE insights_orgs (
	ref   INTEGER PRIMARY KEY,
	login TEXT NOT NULL UNIQUE
);
CREATE TABLE insights_actors (
	ref                  INTEGER PRIMARY KEY,
	actor_type           TEXT NOT NULL,
	actor_id             INTEGER NOT NULL,
	actor_name           TEXT NOT NULL,
	oauth_application_id INTEGER NOT NULL DEFAULT 0,
	integration_id       INTEGER NOT NULL DEFAULT 0,
	seen                 INTEGER NOT NULL DEFAULT 0,
	UNIQUE (actor_type, actor_id)
);
CREATE TABLE insights_subjects (
	ref          INTEGER PRIMARY KEY,
	subject_type TEXT NOT NULL,
	subject_id   INTEGER NOT NULL,
	subject_name TEXT NOT NULL,
	seen         INTEGER NOT NULL DEFAULT 0,
	UNIQUE (subject_type, subject_id)
);
CREATE TABLE insights_routes (
	ref         INTEGER PRIMARY KEY,
	http_method TEXT NOT NULL,
	api_route   TEXT NOT NULL,
	UNIQUE (http_method, api_route)
);
-- Event ids already counted: for each minute of event time and each of
-- 16 shards (the first four bits of the key), the sorted 16-byte keys
-- (first bytes of SHA-256 of the id) of the events recorded. One row per
-- minute and shard, so remembering an event costs bytes, not an index
-- entry, and pruning is a range delete.
CREATE TABLE insights_seen (
	bucket INTEGER NOT NULL,
	shard  INTEGER NOT NULL,
	keys   BLOB NOT NULL,
	PRIMARY KEY (bucket, shard)
) WITHOUT ROWID;
-- summary-stats, time-stats: totals only, so a long series scans narrow rows
CREATE TABLE insights_r_org (
	org INTEGER NOT NULL, lvl INTEGER NOT NULL, bucket INTEGER NOT NULL,
	total INTEGER NOT NULL, rl INTEGER NOT NULL,
	PRIMARY KEY (org, lvl, bucket)
) WITHOUT ROWID;
-- subject-stats
CREATE TABLE insights_r_subjects (
	org INTEGER NOT NULL, lvl INTEGER NOT NULL, bucket INTEGER NOT NULL,
	total INTEGER NOT NULL, rl INTEGER NOT NULL, subjects BLOB NOT NULL,
	PRIMARY KEY (org, lvl, bucket)
) WITHOUT ROWID;
-- summary-stats and time-stats by actor; routes: route-stats
CREATE TABLE insights_r_actor (
	org INTEGER NOT NULL, actor INTEGER NOT NULL, lvl INTEGER NOT NULL, bucket INTEGER NOT NULL,
	total INTEGER NOT NULL, rl INTEGER NOT NULL, routes BLOB NOT NULL,
	PRIMARY KEY (org, actor, lvl, bucket)
) WITHOUT ROWID;
-- summary-stats and time-stats by user; actors: user-stats
CREATE TABLE insights_r_user (
	org INTEGER NOT NULL, user_id INTEGER NOT NULL, lvl INTEGER NOT NULL, bucket INTEGER NOT NULL,
	total INTEGER NOT NULL, rl INTEGER NOT NULL, actors BLOB NOT NULL,
	PRIMARY KEY (org, user_id, lvl, bucket)
) WITHOUT ROWID;
