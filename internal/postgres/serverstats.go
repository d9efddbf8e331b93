package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/usage"
)

var _ serverstats.Store = (*DB)(nil)

// ServerStatsPut stores snapshots in one transaction (serverstats.Store).
// Rows are written in (server, day) order, so concurrent uploads from
// several replicas lock them in the same order and do not deadlock.
func (db *DB) ServerStatsPut(ctx context.Context, snaps []serverstats.Snapshot) (int, error) {
	order := make([]*serverstats.Snapshot, len(snaps))
	for i := range snaps {
		order[i] = &snaps[i]
	}
	slices.SortFunc(order, func(a, b *serverstats.Snapshot) int {
		return cmp.Or(strings.Compare(a.ServerID, b.ServerID), strings.Compare(string(a.Day()), string(b.Day())))
	})
	replaced := 0
	err := db.inTx(ctx, "server statistics put", func(tx pgx.Tx) error {
		replaced = 0 // a retried transaction counts again
		for _, s := range order {
			item, err := s.MarshalItem()
			if err != nil {
				return err
			}
			sec, err := s.MarshalSecurity()
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO server_stats_servers (server_id, account) VALUES ($1, $2) ON CONFLICT (server_id) DO NOTHING`,
				s.ServerID, s.Account); err != nil {
				return err
			}
			var owner string
			if err := tx.QueryRow(ctx, `SELECT account FROM server_stats_servers WHERE server_id = $1`, s.ServerID).Scan(&owner); err != nil {
				return err
			}
			if owner != s.Account {
				return serverstats.ErrOtherAccount(s.ServerID)
			}
			var updated bool
			if err := tx.QueryRow(ctx, `INSERT INTO server_stats_snapshots (server_id, day, account, collected_at, item, security_products)
				VALUES ($1, $2::date, $3, $4, $5::json, $6::json)
				ON CONFLICT (server_id, day) DO UPDATE SET account = excluded.account, collected_at = excluded.collected_at,
					item = excluded.item, security_products = excluded.security_products
				RETURNING xmax <> 0`,
				s.ServerID, string(s.Day()), s.Account, s.CollectionDate.UTC(), string(item), nullText(sec)).Scan(&updated); err != nil {
				return err
			}
			if updated {
				replaced++
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
	const what = "server statistics list"
	rows, err := db.pool.Query(ctx, `SELECT item::text FROM server_stats_snapshots
		WHERE account = $1 AND day >= $2::date AND day <= $3::date ORDER BY day, server_id`, account, string(w.Start), string(w.End))
	if err != nil {
		return nil, wrap(err, what)
	}
	defer rows.Close()
	var out []json.RawMessage
	for rows.Next() {
		var item string
		if err := rows.Scan(&item); err != nil {
			return nil, wrap(err, what)
		}
		out = append(out, json.RawMessage(item))
	}
	return out, wrap(rows.Err(), what)
}

// ServerStatsLatest returns each server's latest snapshot (serverstats.Store).
func (db *DB) ServerStatsLatest(ctx context.Context, serverID string) ([]serverstats.Snapshot, error) {
	const what = "server statistics latest"
	rows, err := db.pool.Query(ctx, `SELECT DISTINCT ON (server_id) account, item::text, security_products::text FROM server_stats_snapshots
		WHERE $1 = '' OR server_id = $1 ORDER BY server_id, day DESC`, serverID)
	if err != nil {
		return nil, wrap(err, what)
	}
	defer rows.Close()
	var out []serverstats.Snapshot
	for rows.Next() {
		var account, item string
		var sec *string
		if err := rows.Scan(&account, &item, &sec); err != nil {
			return nil, wrap(err, what)
		}
		var secb []byte
		if sec != nil {
			secb = []byte(*sec)
		}
		s, err := serverstats.UnmarshalStored([]byte(item), secb, account)
		if err != nil {
			return nil, &usage.Error{Kind: usage.KindInternal, Err: errors.Join(errors.New("postgres: a stored server-statistics snapshot does not decode"), err)}
		}
		out = append(out, s)
	}
	return out, wrap(rows.Err(), what)
}

// nullText stores a nil byte slice as NULL.
func nullText(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}
