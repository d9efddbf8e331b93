-- An hour row's requests by group and minute (detail) move out of the
-- actor and user roll-up tables into tables of their own, keyed by the
-- hour. In a WITHOUT ROWID table every row a range scan steps over is
-- read whole to compare it with the range's end, overflow pages included,
-- so on busy traffic (an hour's detail of a busy actor is tens of
-- kilobytes) a series scanning 720 hour rows read every hour's detail it
-- never used. The detail is read only for the few hours at the edges of a
-- range, by key. The roll-up tables are rebuilt without the column (and
-- with minutes before the list, which a five-minute series reads).
CREATE TABLE insights_d_actor (
	org INTEGER NOT NULL, actor INTEGER NOT NULL, bucket INTEGER NOT NULL, detail BLOB NOT NULL,
	PRIMARY KEY (org, actor, bucket)
) WITHOUT ROWID;
INSERT INTO insights_d_actor (org, actor, bucket, detail)
	SELECT org, actor, bucket, detail FROM insights_r_actor WHERE lvl = 2 AND detail IS NOT NULL;
CREATE TABLE insights_r_actor_0020 (
	org INTEGER NOT NULL, actor INTEGER NOT NULL, lvl INTEGER NOT NULL, bucket INTEGER NOT NULL,
	total INTEGER NOT NULL, rl INTEGER NOT NULL, minutes BLOB, routes BLOB NOT NULL,
	PRIMARY KEY (org, actor, lvl, bucket)
) WITHOUT ROWID;
INSERT INTO insights_r_actor_0020 (org, actor, lvl, bucket, total, rl, minutes, routes)
	SELECT org, actor, lvl, bucket, total, rl, minutes, routes FROM insights_r_actor;
DROP TABLE insights_r_actor;
ALTER TABLE insights_r_actor_0020 RENAME TO insights_r_actor;

CREATE TABLE insights_d_user (
	org INTEGER NOT NULL, user_id INTEGER NOT NULL, bucket INTEGER NOT NULL, detail BLOB NOT NULL,
	PRIMARY KEY (org, user_id, bucket)
) WITHOUT ROWID;
INSERT INTO insights_d_user (org, user_id, bucket, detail)
	SELECT org, user_id, bucket, detail FROM insights_r_user WHERE lvl = 2 AND detail IS NOT NULL;
CREATE TABLE insights_r_user_0020 (
	org INTEGER NOT NULL, user_id INTEGER NOT NULL, lvl INTEGER NOT NULL, bucket INTEGER NOT NULL,
	total INTEGER NOT NULL, rl INTEGER NOT NULL, minutes BLOB, actors BLOB NOT NULL,
	PRIMARY KEY (org, user_id, lvl, bucket)
) WITHOUT ROWID;
INSERT INTO insights_r_user_0020 (org, user_id, lvl, bucket, total, rl, minutes, actors)
	SELECT org, user_id, lvl, bucket, total, rl, minutes, actors FROM insights_r_user;
DROP TABLE insights_r_user;
ALTER TABLE insights_r_user_0020 RENAME TO insights_r_user;
