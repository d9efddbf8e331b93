-- Server statistics (doc/server-statistics.md): one snapshot per GitHub
-- Enterprise Server and collection day (UTC); a second snapshot of the same
-- day replaces the first. A server belongs to one account (a lower-case
-- enterprise slug or organization login). doc is the snapshot's whole JSON
-- document, sections absent when the source did not give them.
CREATE TABLE server_stats_servers (
	server_id text COLLATE "C" PRIMARY KEY,
	account   text NOT NULL
);
CREATE TABLE server_stats_snapshots (
	server_id    text COLLATE "C" NOT NULL REFERENCES server_stats_servers(server_id),
	day          date NOT NULL,
	account      text NOT NULL,
	collected_at timestamptz NOT NULL,
	doc          jsonb NOT NULL,
	PRIMARY KEY (server_id, day)
);
CREATE INDEX server_stats_snapshots_account ON server_stats_snapshots (account, day, server_id);
