package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
)

var _ billing.CostCenterStore = (*DB)(nil)

// Cost-center mutations run in write transactions; the one writer
// connection and BEGIN IMMEDIATE serialize them, also across processes
// sharing the file, so the checks inside each transaction hold.

const costCenterCols = `id, enterprise_id, name, state, ai_credit_pool, created_at, deleted_at`

func scanCostCenter(row interface{ Scan(...any) error }) (*billing.CostCenter, error) {
	cc := &billing.CostCenter{}
	var created, deleted int64
	if err := row.Scan(&cc.ID, &cc.EnterpriseID, &cc.Name, &cc.State, &cc.AICreditPoolEnabled, &created, &deleted); err != nil {
		return nil, storeError(err, "Cost center")
	}
	cc.CreatedAt, cc.DeletedAt = fromNano(created), fromNano(deleted)
	return cc, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func costCenterIn(ctx context.Context, q queryer, enterpriseID int64, id string) (*billing.CostCenter, error) {
	return scanCostCenter(q.QueryRowContext(ctx, `SELECT `+costCenterCols+` FROM cost_centers WHERE enterprise_id = ? AND id = ?`,
		enterpriseID, strings.ToLower(id)))
}

func activeCostCenterIn(ctx context.Context, q queryer, enterpriseID int64, id string) (*billing.CostCenter, error) {
	cc, err := costCenterIn(ctx, q, enterpriseID, id)
	if err == nil && cc.State != billing.CostCenterActive {
		return nil, billing.ErrCostCenterArchived
	}
	return cc, err
}

func (db *DB) CreateCostCenter(ctx context.Context, cc *billing.CostCenter, maxActive int) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var active int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cost_centers WHERE enterprise_id = ? AND state = 'active'`, cc.EnterpriseID).Scan(&active); err != nil {
			return err
		}
		var dup int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cost_centers WHERE enterprise_id = ? AND state = 'active' AND name_key = ?`,
			cc.EnterpriseID, billing.NameKey(cc.Name)).Scan(&dup); err != nil {
			return err
		}
		if dup > 0 {
			return billing.ErrDuplicateName
		}
		if active >= maxActive {
			return billing.ErrCostCenterLimit
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO cost_centers (id, enterprise_id, name, name_key, state, ai_credit_pool, created_at)
			VALUES (?, ?, ?, ?, 'active', ?, ?)`, strings.ToLower(cc.ID), cc.EnterpriseID, cc.Name, billing.NameKey(cc.Name), cc.AICreditPoolEnabled, unixNano(cc.CreatedAt))
		if err != nil && strings.Contains(err.Error(), "UNIQUE") {
			return billing.ErrDuplicateName
		}
		return err
	})
}

func (db *DB) CostCenter(ctx context.Context, enterpriseID int64, id string) (*billing.CostCenter, error) {
	return costCenterIn(ctx, db.reader, enterpriseID, id)
}

func (db *DB) ListCostCenters(ctx context.Context, enterpriseID int64, state string) ([]*billing.CostCenter, error) {
	q := `SELECT ` + costCenterCols + ` FROM cost_centers WHERE enterprise_id = ?`
	args := []any{enterpriseID}
	if state != "" {
		q += ` AND state = ?`
		args = append(args, state)
	}
	ccs, err := list(ctx, db.reader, scanCostCenter, q+` ORDER BY seq`, args...)
	if err != nil {
		return nil, err
	}
	byID := map[string]*billing.CostCenter{}
	for _, cc := range ccs {
		cc.Resources = []billing.Resource{}
		byID[cc.ID] = cc
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT cost_center_id, resource_type, resource_name FROM cost_center_members
		WHERE enterprise_id = ? AND ended_at = 0 ORDER BY id`, enterpriseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var r billing.Resource
		if err := rows.Scan(&id, &r.Type, &r.Name); err != nil {
			return nil, err
		}
		if cc := byID[id]; cc != nil {
			cc.Resources = append(cc.Resources, r)
		}
	}
	return ccs, rows.Err()
}

func (db *DB) CostCenterResources(ctx context.Context, enterpriseID int64, id string, offset, limit int) ([]billing.Resource, int, error) {
	if _, err := costCenterIn(ctx, db.reader, enterpriseID, id); err != nil {
		return nil, 0, err
	}
	id = strings.ToLower(id)
	var total int
	if err := db.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM cost_center_members WHERE cost_center_id = ? AND ended_at = 0`, id).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT resource_type, resource_name FROM cost_center_members
		WHERE cost_center_id = ? AND ended_at = 0 ORDER BY id LIMIT ? OFFSET ?`, id, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	rs := []billing.Resource{}
	for rows.Next() {
		var r billing.Resource
		if err := rows.Scan(&r.Type, &r.Name); err != nil {
			return nil, 0, err
		}
		rs = append(rs, r)
	}
	return rs, total, rows.Err()
}

func (db *DB) UpdateCostCenter(ctx context.Context, enterpriseID int64, id string, u billing.CostCenterUpdate) (*billing.CostCenter, error) {
	var out *billing.CostCenter
	err := db.write(ctx, func(tx *sql.Tx) error {
		cc, err := activeCostCenterIn(ctx, tx, enterpriseID, id)
		if err != nil {
			return err
		}
		if u.Name != nil && billing.NameKey(*u.Name) != billing.NameKey(cc.Name) {
			var dup int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cost_centers WHERE enterprise_id = ? AND state = 'active' AND name_key = ? AND id <> ?`,
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
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cost_center_members WHERE cost_center_id = ? AND ended_at = 0 AND resource_type IN ('Org', 'Repo')`,
					cc.ID).Scan(&n); err != nil {
					return err
				}
				if n > 0 {
					return billing.ErrAIPoolResources
				}
			}
			cc.AICreditPoolEnabled = *u.AICreditPoolEnabled
		}
		_, err = tx.ExecContext(ctx, `UPDATE cost_centers SET name = ?, name_key = ?, ai_credit_pool = ? WHERE id = ?`,
			cc.Name, billing.NameKey(cc.Name), cc.AICreditPoolEnabled, cc.ID)
		out = cc
		return err
	})
	return out, err
}

func (db *DB) ArchiveCostCenter(ctx context.Context, enterpriseID int64, id string, at time.Time) (*billing.CostCenter, error) {
	var out *billing.CostCenter
	err := db.write(ctx, func(tx *sql.Tx) error {
		cc, err := activeCostCenterIn(ctx, tx, enterpriseID, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cost_center_members SET ended_at = ? WHERE cost_center_id = ? AND ended_at = 0`, unixNano(at), cc.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cost_centers SET state = 'deleted', deleted_at = ? WHERE id = ?`, unixNano(at), cc.ID); err != nil {
			return err
		}
		cc.State, cc.DeletedAt, cc.Resources = billing.CostCenterDeleted, at.UTC(), []billing.Resource{}
		out = cc
		return nil
	})
	return out, err
}

// resolveResources finds each resource's account and returns the
// resources spelled as the accounts are; unknown ones are an error naming them.
func resolveResources(ctx context.Context, q queryer, enterpriseID int64, rs []billing.Resource) ([]billing.Resource, error) {
	var out, unknown []billing.Resource
	for _, r := range rs {
		var name string
		var err error
		switch r.Type {
		case billing.ResourceUser:
			err = q.QueryRowContext(ctx, `SELECT login FROM users WHERE login = ?`, r.Name).Scan(&name)
		case billing.ResourceOrg:
			err = q.QueryRowContext(ctx, `SELECT login FROM organizations WHERE login = ? AND enterprise_id = ?`, r.Name, enterpriseID).Scan(&name)
		case billing.ResourceRepo:
			owner, repo, _ := strings.Cut(r.Name, "/")
			err = q.QueryRowContext(ctx, `SELECT o.login || '/' || r.name FROM repositories r JOIN organizations o ON o.login = r.owner_login
				WHERE r.owner_login = ? AND r.name = ? AND o.enterprise_id = ?`, owner, repo, enterpriseID).Scan(&name)
		case billing.ResourceTeam:
			err = q.QueryRowContext(ctx, `SELECT slug FROM enterprise_teams WHERE enterprise_id = ? AND slug = ?`, enterpriseID, r.Name).Scan(&name)
		}
		switch {
		case err == sql.ErrNoRows:
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

func (db *DB) AddCostCenterResources(ctx context.Context, enterpriseID int64, id string, rs []billing.Resource, at time.Time) ([]billing.Reassignment, error) {
	var moved []billing.Reassignment
	err := db.write(ctx, func(tx *sql.Tx) error {
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
			err := tx.QueryRowContext(ctx, `SELECT m.id, m.cost_center_id, c.name FROM cost_center_members m JOIN cost_centers c ON c.id = m.cost_center_id
				WHERE m.enterprise_id = ? AND m.resource_key = ? AND m.ended_at = 0`, enterpriseID, r.Key()).Scan(&memberID, &prevID, &prevName)
			switch {
			case err == nil && prevID == cc.ID:
				continue // already here
			case err == nil:
				if _, err := tx.ExecContext(ctx, `UPDATE cost_center_members SET ended_at = ? WHERE id = ?`, unixNano(at), memberID); err != nil {
					return err
				}
				moved = append(moved, billing.Reassignment{Resource: r, PreviousCostCenterID: prevID, PreviousCostCenterName: prevName})
			case err != sql.ErrNoRows:
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO cost_center_members (enterprise_id, cost_center_id, resource_type, resource_name, resource_key, started_at)
				VALUES (?, ?, ?, ?, ?, ?)`, enterpriseID, cc.ID, string(r.Type), r.Name, r.Key(), unixNano(at)); err != nil {
				return err
			}
		}
		return nil
	})
	return moved, err
}

func (db *DB) RemoveCostCenterResources(ctx context.Context, enterpriseID int64, id string, rs []billing.Resource, at time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		cc, err := activeCostCenterIn(ctx, tx, enterpriseID, id)
		if err != nil {
			return err
		}
		rs, err := resolveResources(ctx, tx, enterpriseID, rs)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if _, err := tx.ExecContext(ctx, `UPDATE cost_center_members SET ended_at = ? WHERE cost_center_id = ? AND resource_key = ? AND ended_at = 0`,
				unixNano(at), cc.ID, r.Key()); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) CostCenterMemberships(ctx context.Context, enterpriseID int64, from, to time.Time) ([]billing.Membership, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT cost_center_id, resource_type, resource_name, started_at, ended_at FROM cost_center_members
		WHERE enterprise_id = ? AND started_at < ? AND (ended_at = 0 OR ended_at > ?) ORDER BY started_at, id`,
		enterpriseID, unixNano(to), unixNano(from))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []billing.Membership
	for rows.Next() {
		var m billing.Membership
		var start, end int64
		if err := rows.Scan(&m.CostCenterID, &m.Type, &m.Name, &start, &end); err != nil {
			return nil, err
		}
		m.Start, m.End = fromNano(start), fromNano(end)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (db *DB) CreateEnterpriseTeam(ctx context.Context, t *billing.EnterpriseTeam) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO enterprise_teams (enterprise_id, slug, name, created_at) VALUES (?, ?, ?, ?)`,
			t.EnterpriseID, t.Slug, t.Name, unixNano(t.CreatedAt))
		if err != nil {
			return storeError(err, "Enterprise team")
		}
		if t.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		for _, login := range t.Members {
			var uid int64
			if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE login = ?`, login).Scan(&uid); err != nil {
				return storeError(err, "User")
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO enterprise_team_members (team_id, user_id) VALUES (?, ?)`, t.ID, uid); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) EnterpriseTeams(ctx context.Context, enterpriseID int64) ([]*billing.EnterpriseTeam, error) {
	teams, err := list(ctx, db.reader, func(row interface{ Scan(...any) error }) (*billing.EnterpriseTeam, error) {
		t := &billing.EnterpriseTeam{}
		var created int64
		err := row.Scan(&t.ID, &t.EnterpriseID, &t.Slug, &t.Name, &created)
		t.CreatedAt = fromNano(created)
		return t, err
	}, `SELECT id, enterprise_id, slug, name, created_at FROM enterprise_teams WHERE enterprise_id = ? ORDER BY created_at, id`, enterpriseID)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*billing.EnterpriseTeam{}
	for _, t := range teams {
		byID[t.ID] = t
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT m.team_id, u.login FROM enterprise_team_members m JOIN users u ON u.id = m.user_id
		JOIN enterprise_teams t ON t.id = m.team_id WHERE t.enterprise_id = ? ORDER BY m.team_id, u.login`, enterpriseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var login string
		if err := rows.Scan(&id, &login); err != nil {
			return nil, err
		}
		if t := byID[id]; t != nil {
			t.Members = append(t.Members, login)
		}
	}
	return teams, rows.Err()
}
