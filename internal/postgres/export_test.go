package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/insights"
)

// SetLegacyFold makes db write insights as builds before migration 0024
// did: minutes of actors and users in lvlMinuteDetail rows, none in their
// hour rows.
func SetLegacyFold(db *DB, on bool) { db.legacyFold = on }

// ClaimSeen claims the ids of events in tx as InsightsIngest does and
// returns how many were not stored before.
func ClaimSeen(ctx context.Context, tx pgx.Tx, events []insights.Event) (int, error) {
	return claimSeen(ctx, tx, newDedupKeys(events).sorted, func(seenKey) {})
}
