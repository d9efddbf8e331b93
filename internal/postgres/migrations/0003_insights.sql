-- API insights roll-ups (see doc/insights.md and doc/scale-out.md). Every
-- roll-up row is keyed by the organization (lower-case login, the column
-- to distribute by on Citus), the dimensions its endpoints group by, a
-- level (0 minute, 1 hour, 2 day) and a bucket start (Unix seconds).
-- Counts: total and rate limited; last and last_rl are the last request
-- and last rate-limited request times (Unix seconds, 0 for none). Writers
-- add deltas with INSERT ... ON CONFLICT DO UPDATE, so replicas writing
-- the same bucket at once both count. Key columns compare bytes (COLLATE
-- "C"): cheaper than a locale's rules, and the order writers sort rows in.

-- Names of actors and subjects, from their latest event (seen).
CREATE TABLE insights_actors (
	actor_type           text COLLATE "C" NOT NULL,
	actor_id             bigint NOT NULL,
	actor_name           text NOT NULL,
	oauth_application_id bigint NOT NULL DEFAULT 0,
	integration_id       bigint NOT NULL DEFAULT 0,
	seen                 bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (actor_type, actor_id)
);
CREATE TABLE insights_subjects (
	subject_type text COLLATE "C" NOT NULL,
	subject_id   bigint NOT NULL,
	subject_name text NOT NULL,
	seen         bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (subject_type, subject_id)
);
-- Event ids already counted: the minute of the event's time and the first
-- 16 bytes of SHA-256 of its id, so a re-sent batch never double counts.
-- Leading with the minute keeps a batch's inserts on a few recent index
-- pages, and retention is a range delete on the same index.
CREATE TABLE insights_seen (
	minute bigint NOT NULL,
	k      bytea NOT NULL,
	PRIMARY KEY (minute, k)
);

-- summary-stats, time-stats
CREATE TABLE insights_r_org (
	org text COLLATE "C" NOT NULL, lvl smallint NOT NULL, bucket bigint NOT NULL,
	total bigint NOT NULL, rl bigint NOT NULL,
	PRIMARY KEY (org, lvl, bucket)
);
-- summary-stats and time-stats by actor
CREATE TABLE insights_r_actor (
	org text COLLATE "C" NOT NULL, actor_type text COLLATE "C" NOT NULL, actor_id bigint NOT NULL, lvl smallint NOT NULL, bucket bigint NOT NULL,
	total bigint NOT NULL, rl bigint NOT NULL,
	PRIMARY KEY (org, actor_type, actor_id, lvl, bucket)
);
-- user-stats, and summary-stats and time-stats by user
CREATE TABLE insights_r_user (
	org text COLLATE "C" NOT NULL, user_id bigint NOT NULL, lvl smallint NOT NULL, bucket bigint NOT NULL,
	actor_type text COLLATE "C" NOT NULL, actor_id bigint NOT NULL,
	total bigint NOT NULL, rl bigint NOT NULL, last bigint NOT NULL, last_rl bigint NOT NULL,
	PRIMARY KEY (org, user_id, lvl, bucket, actor_type, actor_id)
);
-- route-stats
CREATE TABLE insights_r_route (
	org text COLLATE "C" NOT NULL, actor_type text COLLATE "C" NOT NULL, actor_id bigint NOT NULL, lvl smallint NOT NULL, bucket bigint NOT NULL,
	http_method text COLLATE "C" NOT NULL, api_route text COLLATE "C" NOT NULL,
	total bigint NOT NULL, rl bigint NOT NULL, last bigint NOT NULL, last_rl bigint NOT NULL,
	PRIMARY KEY (org, actor_type, actor_id, lvl, bucket, http_method, api_route)
);
-- subject-stats
CREATE TABLE insights_r_subject (
	org text COLLATE "C" NOT NULL, lvl smallint NOT NULL, bucket bigint NOT NULL,
	subject_type text COLLATE "C" NOT NULL, subject_id bigint NOT NULL,
	total bigint NOT NULL, rl bigint NOT NULL, last bigint NOT NULL, last_rl bigint NOT NULL,
	PRIMARY KEY (org, lvl, bucket, subject_type, subject_id)
);
