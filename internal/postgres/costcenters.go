package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghusage/ghusage/internal/billing"
)

var _ billing.CostCenterStore = (*DB)(nil)

// costCenterLockClass is the first key of the transaction-scoped advisory
// lock every cost-center mutation takes on its enterprise (the second key
// is the enterprise id): replicas changing one enterprise's cost centers
// take turns, so the checks each transaction makes (name free, under the
// limit, the resource's current cost center) still hold at commit.
const costCenterLockClass = 0x6363

// costCenterTx runs fn in a transaction holding the enterprise's cost-center lock.
func (db *DB) costCenterTx(ctx context.Context, enterpriseID int64, what string, fn func(tx pgx.Tx) error) error {
	return db.inTx(ctx, what, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2::int)`, costCenterLockClass, int32(enterpriseID)); err != nil {
			return err
		}
		return fn(tx)
	})
}

const costCenterCols = `id, enterprise_id, name, state, ai_credit_pool, created_at, deleted_at`

func scanCostCenter(row pgx.Row) (*billing.CostCenter, error) {
	cc := &billing.CostCenter{}
	var deleted *time.Time
	if err := row.Scan(&cc.ID, &cc.EnterpriseID, &cc.Name, &cc.State, &cc.AICreditPoolEnabled, &cc.CreatedAt, &deleted); err != nil {
		return nil, err
	}
	cc.CreatedAt, cc.DeletedAt = cc.CreatedAt.UTC(), timeOf(deleted)
	return cc, nil
}

type pgQueryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func costCenterIn(ctx context.Context, q pgQueryer, enterpriseID int64, id string) (*billing.CostCenter, error) {
	cc, err := scanCostCenter(q.QueryRow(ctx, `SELECT `+costCenterCols+` FROM cost_centers WHERE enterprise_id = $1 AND id = $2`,
		enterpriseID, strings.ToLower(id)))
	return cc, wrap(err, "cost center")
}

func activeCostCenterIn(ctx context.Context, q pgQueryer, enterpriseID int64, id string) (*billing.CostCenter, error) {
	cc, err := costCenterIn(ctx, q, enterpriseID, id)
	if err == nil && cc.State != billing.CostCenterActive {
		return nil, billing.ErrCostCenterArchived
	}
	return cc, err
}

// CreateCostCenter stores cc unless its name is taken or the enterprise is at maxActive.
func (db *DB) CreateCostCenter(ctx context.Context, cc *billing.CostCenter, maxActive int) error {
	return db.costCenterTx(ctx, cc.EnterpriseID, "create cost center", func(tx pgx.Tx) error {
		var active, dup int
		if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE name_key = $2) FROM cost_centers WHERE enterprise_id = $1 AND state = 'active'`,
			cc.EnterpriseID, billing.NameKey(cc.Name)).Scan(&active, &dup); err != nil {
			return err
		}
		if dup > 0 {
			return billing.ErrDuplicateName
		}
		if active >= maxActive {
			return billing.ErrCostCenterLimit
		}
		_, err := tx.Exec(ctx, `INSERT INTO cost_centers (id, enterprise_id, name, name_key, state, ai_credit_pool, created_at)
			VALUES ($1, $2, $3, $4, 'active', $5, $6)`, strings.ToLower(cc.ID), cc.EnterpriseID, cc.Name, billing.NameKey(cc.Name), cc.AICreditPoolEnabled, cc.CreatedAt.UTC())
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == codeUniqueViolation && pe.ConstraintName == "cost_centers_active_name" {
			return billing.ErrDuplicateName
		}
		return err
	})
}

// CostCenter returns one cost center without its resources.
func (db *DB) CostCenter(ctx context.Context, enterpriseID int64, id string) (*billing.CostCenter, error) {
	return costCenterIn(ctx, db.pool, enterpriseID, id)
}

// ListCostCenters lists an enterprise's cost centers with their resources.
func (db *DB) ListCostCenters(ctx context.Context, enterpriseID int64, state string) ([]*billing.CostCenter, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+costCenterCols+` FROM cost_centers WHERE enterprise_id = $1 AND ($2 = '' OR state = $2) ORDER BY seq`,
		enterpriseID, state)
	if err != nil {
		return nil, wrap(err, "list cost centers")
	}
	ccs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*billing.CostCenter, error) { return scanCostCenter(r) })
	if err != nil {
		return nil, wrap(err, "list cost centers")
	}
	byID := map[string]*billing.CostCenter{}
	for _, cc := range ccs {
		cc.Resources = []billing.Resource{}
		byID[cc.ID] = cc
	}
	rows, err = db.pool.Query(ctx, `SELECT cost_center_id, resource_type, resource_name FROM cost_center_members
		WHERE enterprise_id = $1 AND ended_at IS NULL ORDER BY id`, enterpriseID)
	if err != nil {
		return nil, wrap(err, "list cost center resources")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var r billing.Resource
		if err := rows.Scan(&id, &r.Type, &r.Name); err != nil {
			return nil, wrap(err, "list cost center resources")
		}
		if cc := byID[id]; cc != nil {
			cc.Resources = append(cc.Resources, r)
		}
	}
	return ccs, wrap(rows.Err(), "list cost center resources")
}

// CostCenterResources returns a page of a cost center's current resources and their number.
func (db *DB) CostCenterResources(ctx context.Context, enterpriseID int64, id string, offset, limit int) ([]billing.Resource, int, error) {
	if _, err := costCenterIn(ctx, db.pool, enterpriseID, id); err != nil {
		return nil, 0, err
	}
	id = strings.ToLower(id)
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM cost_center_members WHERE cost_center_id = $1 AND ended_at IS NULL`, id).Scan(&total); err != nil {
		return nil, 0, wrap(err, "count cost center resources")
	}
	rows, err := db.pool.Query(ctx, `SELECT resource_type, resource_name FROM cost_center_members
		WHERE cost_center_id = $1 AND ended_at IS NULL ORDER BY id LIMIT $2 OFFSET $3`, id, limit, offset)
	if err != nil {
		return nil, 0, wrap(err, "cost center resources")
	}
	defer rows.Close()
	rs := []billing.Resource{}
	for rows.Next() {
		var r billing.Resource
		if err := rows.Scan(&r.Type, &r.Name); err != nil {
			return nil, 0, wrap(err, "cost center resources")
		}
		rs = append(rs, r)
	}
	return rs, total, wrap(rows.Err(), "cost center resources")
}

// UpdateCostCenter renames an active cost center and/or sets its pool flag.
func (db *DB) UpdateCostCenter(ctx context.Context, enterpriseID int64, id string, u billing.CostCenterUpdate) (*billing.CostCenter, error) {
	var out *billing.CostCenter
	err := db.costCenterTx(ctx, enterpriseID, "update cost center", func(tx pgx.Tx) error {
		cc, err := activeCostCenterIn(ctx, tx, enterpriseID, id)
		if err != nil {
			return err
		}
		if u.Name != nil && billing.NameKey(*u.Name) != billing.NameKey(cc.Name) {
			var dup int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM cost_centers WHERE enterprise_id = $1 AND state = 'active' AND name_key = $2 AND id <> $3`,
				enterpriseID, billing.NameKey(*u.Name), cc.ID).Scan(&dup); err != nil {
				return err
			}
			if dup > 0 {
				return billing.ErrDuplicateName
			}
		}
		if u.Name != nil {
			cc.Name = *u.Name
		}
		if u.AICreditPoolEnabled != nil {
			if *u.AICreditPoolEnabled && !cc.AICreditPoolEnabled {
				var n int
				if err := tx.QueryRow(ctx, `SELECT count(*) FROM cost_center_members WHERE cost_center_id = $1 AND ended_at IS NULL AND resource_type IN ('Org', 'Repo')`,
					cc.ID).Scan(&n); err != nil {
					return err
				}
				if n > 0 {
					return billing.ErrAIPoolResources
				}
			}
			cc.AICreditPoolEnabled = *u.AICreditPoolEnabled
		}
		_, err = tx.Exec(ctx, `UPDATE cost_centers SET name = $1, name_key = $2, ai_credit_pool = $3 WHERE id = $4`,
			cc.Name, billing.NameKey(cc.Name), cc.AICreditPoolEnabled, cc.ID)
		out = cc
		return err
	})
	return out, err
}

// ArchiveCostCenter marks a cost center deleted and ends its memberships at at.
func (db *DB) ArchiveCostCenter(ctx context.Context, enterpriseID int64, id string, at time.Time) (*billing.CostCenter, error) {
	var out *billing.CostCenter
	err := db.costCenterTx(ctx, enterpriseID, "archive cost center", func(tx pgx.Tx) error {
		cc, err := activeCostCenterIn(ctx, tx, enterpriseID, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE cost_center_members SET ended_at = $1 WHERE cost_center_id = $2 AND ended_at IS NULL`, at.UTC(), cc.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE cost_centers SET state = 'deleted', deleted_at = $1 WHERE id = $2`, at.UTC(), cc.ID); err != nil {
			return err
		}
		cc.State, cc.DeletedAt, cc.Resources = billing.CostCenterDeleted, at.UTC(), []billing.Resource{}
		out = cc
		return nil
	})
	return out, err
}

// resolveResources returns rs spelled as their accounts are, or an error naming the unknown ones.
func resolveResources(ctx context.Context, q pgQueryer, enterpriseID int64, rs []billing.Resource) ([]billing.Resource, error) {
	var out, unknown []billing.Resource
	for _, r := range rs {
		var name string
		var err error
		switch r.Type {
		case billing.ResourceUser:
			err = q.QueryRow(ctx, `SELECT login FROM users WHERE lower(login) = lower($1)`, r.Name).Scan(&name)
		case billing.ResourceOrg:
			err = q.QueryRow(ctx, `SELECT login FROM organizations WHERE lower(login) = lower($1) AND enterprise_id = $2`, r.Name, enterpriseID).Scan(&name)
		case billing.ResourceRepo:
			owner, repo, _ := strings.Cut(r.Name, "/")
			err = q.QueryRow(ctx, `SELECT o.login || '/' || r.name FROM repositories r JOIN organizations o ON lower(o.login) = lower(r.owner_login)
				WHERE lower(r.owner_login) = lower($1) AND lower(r.name) = lower($2) AND o.enterprise_id = $3`, owner, repo, enterpriseID).Scan(&name)
		case billing.ResourceTeam:
			err = q.QueryRow(ctx, `SELECT slug FROM enterprise_teams WHERE enterprise_id = $1 AND lower(slug) = lower($2)`, enterpriseID, r.Name).Scan(&name)
		}
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			unknown = append(unknown, r)
		case err != nil:
			return nil, err
		default:
			out = append(out, billing.Resource{Type: r.Type, Name: name})
		}
	}
	if len(unknown) > 0 {
		return nil, billing.UnknownResources(unknown)
	}
	return out, nil
}

// AddCostCenterResources moves rs into the cost center at at and reports the moves.
func (db *DB) AddCostCenterResources(ctx context.Context, enterpriseID int64, id string, rs []billing.Resource, at time.Time) ([]billing.Reassignment, error) {
	var moved []billing.Reassignment
	err := db.costCenterTx(ctx, enterpriseID, "add cost center resources", func(tx pgx.Tx) error {
		moved = nil
		cc, err := activeCostCenterIn(ctx, tx, enterpriseID, id)
		if err != nil {
			return err
		}
		rs, err := resolveResources(ctx, tx, enterpriseID, rs)
		if err != nil {
			return err
		}
		if cc.AICreditPoolEnabled {
			for _, r := range rs {
				if r.Type == billing.ResourceOrg || r.Type == billing.ResourceRepo {
					return billing.ErrAIPoolResources
				}
			}
		}
		for _, r := range rs {
			var prevID, prevName string
			var memberID int64
			err := tx.QueryRow(ctx, `SELECT m.id, m.cost_center_id, c.name FROM cost_center_members m JOIN cost_centers c ON c.id = m.cost_center_id
				WHERE m.enterprise_id = $1 AND m.resource_key = $2 AND m.ended_at IS NULL`, enterpriseID, r.Key()).Scan(&memberID, &prevID, &prevName)
			switch {
			case err == nil && prevID == cc.ID:
				continue
			case err == nil:
				if _, err := tx.Exec(ctx, `UPDATE cost_center_members SET ended_at = $1 WHERE id = $2`, at.UTC(), memberID); err != nil {
					return err
				}
				moved = append(moved, billing.Reassignment{Resource: r, PreviousCostCenterID: prevID, PreviousCostCenterName: prevName})
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO cost_center_members (enterprise_id, cost_center_id, resource_type, resource_name, resource_key, started_at)
				VALUES ($1, $2, $3, $4, $5, $6)`, enterpriseID, cc.ID, string(r.Type), r.Name, r.Key(), at.UTC()); err != nil {
				return err
			}
		}
		return nil
	})
	return moved, err
}

// RemoveCostCenterResources ends rs's memberships of the cost center at at.
func (db *DB) RemoveCostCenterResources(ctx context.Context, enterpriseID int64, id string, rs []billing.Resource, at time.Time) error {
	return db.costCenterTx(ctx, enterpriseID, "remove cost center resources", func(tx pgx.Tx) error {
		cc, err := activeCostCenterIn(ctx, tx, enterpriseID, id)
		if err != nil {
			return err
		}
		rs, err := resolveResources(ctx, tx, enterpriseID, rs)
		if err != nil {
			return err
		}
		keys := make([]string, len(rs))
		for i, r := range rs {
			keys[i] = r.Key()
		}
		_, err = tx.Exec(ctx, `UPDATE cost_center_members SET ended_at = $1 WHERE cost_center_id = $2 AND resource_key = ANY($3) AND ended_at IS NULL`,
			at.UTC(), cc.ID, keys)
		return err
	})
}

// CostCenterMemberships returns the enterprise's membership intervals overlapping [from, to).
func (db *DB) CostCenterMemberships(ctx context.Context, enterpriseID int64, from, to time.Time) ([]billing.Membership, error) {
	rows, err := db.pool.Query(ctx, `SELECT cost_center_id, resource_type, resource_name, started_at, ended_at FROM cost_center_members
		WHERE enterprise_id = $1 AND started_at < $2 AND (ended_at IS NULL OR ended_at > $3) ORDER BY started_at, id`,
		enterpriseID, to.UTC(), from.UTC())
	if err != nil {
		return nil, wrap(err, "cost center memberships")
	}
	defer rows.Close()
	var out []billing.Membership
	for rows.Next() {
		var m billing.Membership
		var end *time.Time
		if err := rows.Scan(&m.CostCenterID, &m.Type, &m.Name, &m.Start, &end); err != nil {
			return nil, wrap(err, "cost center memberships")
		}
		m.Start, m.End = m.Start.UTC(), timeOf(end)
		out = append(out, m)
	}
	return out, wrap(rows.Err(), "cost center memberships")
}

// CreateEnterpriseTeam stores an enterprise team with its members.
func (db *DB) CreateEnterpriseTeam(ctx context.Context, t *billing.EnterpriseTeam) error {
	return db.inTx(ctx, "create enterprise team", func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO enterprise_teams (enterprise_id, slug, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			t.EnterpriseID, t.Slug, t.Name, t.CreatedAt.UTC()).Scan(&t.ID); err != nil {
			return err
		}
		for _, login := range t.Members {
			tag, err := tx.Exec(ctx, `INSERT INTO enterprise_team_members (team_id, user_id)
				SELECT $1, id FROM users WHERE lower(login) = lower($2) ON CONFLICT DO NOTHING`, t.ID, login)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				var n int
				if err := tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE lower(login) = lower($1)`, login).Scan(&n); err != nil {
					return err
				}
				if n == 0 {
					return pgx.ErrNoRows
				}
			}
		}
		return nil
	})
}

// EnterpriseTeams lists the enterprise's teams with their members.
func (db *DB) EnterpriseTeams(ctx context.Context, enterpriseID int64) ([]*billing.EnterpriseTeam, error) {
	rows, err := db.pool.Query(ctx, `SELECT t.id, t.enterprise_id, t.slug, t.name, t.created_at,
			coalesce(array_agg(u.login ORDER BY u.login) FILTER (WHERE u.login IS NOT NULL), '{}')
		FROM enterprise_teams t LEFT JOIN enterprise_team_members m ON m.team_id = t.id LEFT JOIN users u ON u.id = m.user_id
		WHERE t.enterprise_id = $1 GROUP BY t.id ORDER BY t.created_at, t.id`, enterpriseID)
	if err != nil {
		return nil, wrap(err, "enterprise teams")
	}
	teams, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*billing.EnterpriseTeam, error) {
		t := &billing.EnterpriseTeam{}
		err := r.Scan(&t.ID, &t.EnterpriseID, &t.Slug, &t.Name, &t.CreatedAt, &t.Members)
		t.CreatedAt = t.CreatedAt.UTC()
		return t, err
	})
	return teams, wrap(err, "enterprise teams")
}
