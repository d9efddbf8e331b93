-- Files (Copilot report files, billing CSV exports) shared by every replica.
-- A file's bytes are chunks of one generation; a Put writes a new
-- generation and swaps the file row to it in one transaction, so readers
-- see the old file or the new one.
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

-- Secrets every replica must share (the download-link signing key),
-- generated once by whichever replica asks first.
CREATE TABLE shared_secrets (
	name  text PRIMARY KEY,
	value bytea NOT NULL
);
