-- Server statistics (doc/server-statistics.md): one snapshot per GitHub
-- Enterprise Server and collection day (UTC); a second snapshot of the same
-- day replaces the first. A server belongs to one account (a lower-case
-- enterprise slug or organization login). item is the snapshot as GitHub's
-- server-statistics item (json, not jsonb: kept byte for byte and served as
-- it is), sections absent when the source did not give them;
-- security_products holds GHES's security-products figures, or NULL.
CREATE TABLE server_stats_servers (
	server_id text COLLATE "C" PRIMARY KEY,
	account   text NOT NULL
);
CREATE TABLE server_stats_snapshots (
	server_id    text COLLATE "C" NOT NULL REFERENCES server_stats_servers(server_id),
	day          date NOT NULL,
	account      text NOT NULL,
	collected_at timestamptz NOT NULL,
	item         json NOT NULL,
	security_products json,
	PRIMARY KEY (server_id, day)
);
CREATE INDEX server_stats_snapshots_account ON server_stats_snapshots (account, day, server_id);
