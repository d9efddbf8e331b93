package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
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
			item, err := s.MarshalItem()
			if err != nil {
				return err
			}
			sec, err := s.MarshalSecurity()
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
			if _, err := tx.ExecContext(ctx, `INSERT INTO server_stats_snapshots (server_id, day, account, collected_at, item, security_products)
				VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (server_id, day) DO UPDATE SET account = excluded.account, collected_at = excluded.collected_at,
					item = excluded.item, security_products = excluded.security_products`,
				s.ServerID, string(s.Day()), s.Account, s.CollectionDate.Unix(), string(item), nullText(sec)); err != nil {
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

// ServerStatsList returns an account's item documents within w (serverstats.Store).
func (db *DB) ServerStatsList(ctx context.Context, account string, w serverstats.Window) ([]json.RawMessage, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT item FROM server_stats_snapshots
		WHERE account = ? AND day >= ? AND day <= ? ORDER BY day, server_id`, account, string(w.Start), string(w.End))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []json.RawMessage
	for rows.Next() {
		var item []byte
		if err := rows.Scan(&item); err != nil {
			return nil, err
		}
		out = append(out, item)
	}
	return out, rows.Err()
}

// ServerStatsLatest returns each server's latest snapshot (serverstats.Store).
func (db *DB) ServerStatsLatest(ctx context.Context, serverID string) ([]serverstats.Snapshot, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT s.account, s.item, s.security_products FROM server_stats_snapshots s
		JOIN (SELECT server_id, MAX(day) AS day FROM server_stats_snapshots WHERE ? = '' OR server_id = ? GROUP BY server_id) l
		ON s.server_id = l.server_id AND s.day = l.day ORDER BY s.server_id`, serverID, serverID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []serverstats.Snapshot
	for rows.Next() {
		var account string
		var item, sec []byte
		if err := rows.Scan(&account, &item, &sec); err != nil {
			return nil, err
		}
		s, err := serverstats.UnmarshalStored(item, sec, account)
		if err != nil {
			return nil, &usage.Error{Kind: usage.KindInternal, Err: errors.Join(errors.New("sqlite: a stored server-statistics snapshot does not decode"), err)}
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// nullText stores an empty byte slice as NULL.
func nullText(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
