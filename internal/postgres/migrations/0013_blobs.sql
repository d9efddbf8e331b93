-- Files (Copilot report files, billing CSV exports) shared by every replica.
-- A file's bytes are chunks of one generation. A Put registers a new
-- generation in blob_uploads, writes its chunks one statement at a time
-- (holding no connection while it waits for the next bytes), then swaps the
-- file row to it in one short transaction, so readers see the old file or
-- the new one. Chunks of uploads that never finished (a crash) are removed
-- once their upload is a day old.
CREATE SEQUENCE blob_generations;

CREATE TABLE blob_files (
	name         text PRIMARY KEY,
	generation   bigint NOT NULL,
	content_type text NOT NULL,
	size         bigint NOT NULL,
	chunk_size   integer NOT NULL,
	modified_at  timestamptz NOT NULL
);

CREATE TABLE blob_chunks (
	generation bigint NOT NULL,
	seq        integer NOT NULL,
	data       bytea NOT NULL,
	PRIMARY KEY (generation, seq)
);

CREATE TABLE blob_uploads (
	generation bigint PRIMARY KEY,
	started_at timestamptz NOT NULL
);
CREATE INDEX blob_uploads_started ON blob_uploads (started_at);

-- Secrets every replica must share (the download-link signing key),
-- generated once by whichever replica asks first.
CREATE TABLE shared_secrets (
	name  text PRIMARY KEY,
	value bytea NOT NULL
);
