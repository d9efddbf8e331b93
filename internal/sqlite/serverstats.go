package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/usage"
)

var _ serverstats.Store = (*DB)(nil)

// ServerStatsPut stores snapshots in one transaction (serverstats.Store).
func (db *DB) ServerStatsPut(ctx context.Context, snaps []serverstats.Snapshot) (int, error) {
	replaced := 0
	err := db.write(ctx, func(tx *sql.Tx) error {
		for i := range snaps {
			s := &snaps[i]
			doc, err := s.MarshalDoc()
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO server_stats_servers (server_id, account) VALUES (?, ?)`, s.ServerID, s.Account); err != nil {
				return err
			}
			var owner string
			if err := tx.QueryRowContext(ctx, `SELECT account FROM server_stats_servers WHERE server_id = ?`, s.ServerID).Scan(&owner); err != nil {
				return err
			}
			if owner != s.Account {
				return serverstats.ErrOtherAccount(s.ServerID)
			}
			var exists int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM server_stats_snapshots WHERE server_id = ? AND day = ?`, s.ServerID, string(s.Day())).Scan(&exists); err != nil {
				return err
			}
			replaced += exists
			if _, err := tx.ExecContext(ctx, `INSERT INTO server_stats_snapshots (server_id, day, account, collected_at, doc) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (server_id, day) DO UPDATE SET account = excluded.account, collected_at = excluded.collected_at, doc = excluded.doc`,
				s.ServerID, string(s.Day()), s.Account, s.CollectionDate.Unix(), string(doc)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return replaced, nil
}

// ServerStatsList returns an account's snapshots within w (serverstats.Store).
func (db *DB) ServerStatsList(ctx context.Context, account string, w serverstats.Window) ([]serverstats.Snapshot, error) {
	return db.scanSnapshots(ctx, `SELECT account, doc FROM server_stats_snapshots
		WHERE account = ? AND day >= ? AND day <= ? ORDER BY day, server_id`, account, string(w.Start), string(w.End))
}

// ServerStatsLatest returns each server's latest snapshot (serverstats.Store).
func (db *DB) ServerStatsLatest(ctx context.Context, serverID string) ([]serverstats.Snapshot, error) {
	return db.scanSnapshots(ctx, `SELECT s.account, s.doc FROM server_stats_snapshots s
		JOIN (SELECT server_id, MAX(day) AS day FROM server_stats_snapshots WHERE ? = '' OR server_id = ? GROUP BY server_id) l
		ON s.server_id = l.server_id AND s.day = l.day ORDER BY s.server_id`, serverID, serverID)
}

func (db *DB) scanSnapshots(ctx context.Context, q string, args ...any) ([]serverstats.Snapshot, error) {
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []serverstats.Snapshot
	for rows.Next() {
		var account, doc string
		if err := rows.Scan(&account, &doc); err != nil {
			return nil, err
		}
		s, err := serverstats.UnmarshalDoc([]byte(doc), account)
		if err != nil {
			return nil, &usage.Error{Kind: usage.KindInternal, Err: errors.Join(errors.New("sqlite: a stored server-statistics document does not decode"), err)}
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
