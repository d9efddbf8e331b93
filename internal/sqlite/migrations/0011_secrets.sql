-- Secrets generated once and kept with the data (the download-link signing key).
CREATE TABLE shared_secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
