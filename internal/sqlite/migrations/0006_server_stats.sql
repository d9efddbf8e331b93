-- Server statistics (doc/server-statistics.md): one snapshot per GitHub
-- Enterprise Server and collection day (UTC, YYYY-MM-DD); a second snapshot
-- of the same day replaces the first. A server belongs to one account (a
-- lower-case enterprise slug or organization login). item is the snapshot
-- as GitHub's server-statistics item (JSON, kept byte for byte and served
-- as it is), sections absent when the source did not give them;
-- security_products holds GHES's security-products figures, or NULL.
CREATE TABLE server_stats_servers (
	server_id TEXT PRIMARY KEY,
	account   TEXT NOT NULL
);
CREATE TABLE server_stats_snapshots (
	server_id    TEXT NOT NULL REFERENCES server_stats_servers(server_id),
	day          TEXT NOT NULL,
	account      TEXT NOT NULL,
	collected_at INTEGER NOT NULL, -- Unix seconds
	item         TEXT NOT NULL,
	security_products TEXT,
	PRIMARY KEY (server_id, day)
);
CREATE INDEX server_stats_snapshots_account ON server_stats_snapshots (account, day, server_id);
