package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

var _ billing.BudgetStore = (*DB)(nil)

const budgetCols = `id, enterprise_id, org_id, budget_type, product_sku, scope, entity_name, user_login, amount,
	prevent_further_usage, will_alert, alert_recipients, created_at, updated_at`

func scanBudget(row pgx.CollectableRow) (*billing.Budget, error) {
	b := &billing.Budget{}
	err := row.Scan(&b.ID, &b.EnterpriseID, &b.OrgID, &b.Type, &b.ProductSKU, &b.Scope, &b.EntityName, &b.User, &b.Amount,
		&b.PreventFurtherUsage, &b.WillAlert, &b.AlertRecipients, &b.CreatedAt, &b.UpdatedAt)
	if len(b.AlertRecipients) == 0 {
		b.AlertRecipients = nil
	}
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	return b, err
}

func recipients(rs []string) []string {
	if rs == nil {
		return []string{}
	}
	return rs
}

func budgetConflict(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeUniqueViolation && pe.ConstraintName == "budgets_target" {
		return billing.ErrBudgetExists
	}
	return err
}

// CreateBudget stores b unless its target is taken or its owner has max budgets.
func (db *DB) CreateBudget(ctx context.Context, b *billing.Budget, max int) error {
	return db.inTx(ctx, "create budget", func(tx pgx.Tx) error {
		// One owner's creates take turns, so the count holds at commit.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2::int)`, costCenterLockClass+1, int32(b.EnterpriseID*31+b.OrgID)); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM budgets WHERE enterprise_id = $1 AND org_id = $2`, b.EnterpriseID, b.OrgID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return billing.ErrBudgetLimit
		}
		_, err := tx.Exec(ctx, `INSERT INTO budgets (id, enterprise_id, org_id, budget_type, product_sku, scope, entity_name, user_login, amount,
			prevent_further_usage, will_alert, alert_recipients, target_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			b.ID, b.EnterpriseID, b.OrgID, b.Type, b.ProductSKU, b.Scope, b.EntityName, b.User, b.Amount, b.PreventFurtherUsage, b.WillAlert,
			recipients(b.AlertRecipients), b.TargetKey(), b.CreatedAt.UTC(), b.UpdatedAt.UTC())
		return budgetConflict(err)
	})
}

// Budget returns one budget of an owner.
func (db *DB) Budget(ctx context.Context, enterpriseID, orgID int64, id string) (*billing.Budget, error) {
	return queryOne(ctx, db, "budget", scanBudget, `SELECT `+budgetCols+` FROM budgets WHERE enterprise_id = $1 AND org_id = $2 AND id = $3`, enterpriseID, orgID, id)
}

// ListBudgets returns a page of an owner's budgets and their number.
func (db *DB) ListBudgets(ctx context.Context, enterpriseID, orgID int64, scope string, offset, limit int) ([]*billing.Budget, int, error) {
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM budgets WHERE enterprise_id = $1 AND org_id = $2 AND ($3 = '' OR scope = $3)`,
		enterpriseID, orgID, scope).Scan(&total); err != nil {
		return nil, 0, wrap(err, "count budgets")
	}
	bs, err := queryAll(ctx, db, "list budgets", scanBudget, `SELECT `+budgetCols+` FROM budgets WHERE enterprise_id = $1 AND org_id = $2 AND ($3 = '' OR scope = $3)
		ORDER BY seq LIMIT $4 OFFSET $5`, enterpriseID, orgID, scope, limit, offset)
	return bs, total, err
}

// UpdateBudget replaces a budget's fields.
func (db *DB) UpdateBudget(ctx context.Context, b *billing.Budget) error {
	tag, err := db.pool.Exec(ctx, `UPDATE budgets SET budget_type = $1, product_sku = $2, scope = $3, entity_name = $4, user_login = $5, amount = $6,
		prevent_further_usage = $7, will_alert = $8, alert_recipients = $9, target_key = $10, updated_at = $11 WHERE id = $12`,
		b.Type, b.ProductSKU, b.Scope, b.EntityName, b.User, b.Amount, b.PreventFurtherUsage, b.WillAlert, recipients(b.AlertRecipients),
		b.TargetKey(), b.UpdatedAt.UTC(), b.ID)
	if err != nil {
		if e := budgetConflict(err); e != err {
			return e
		}
		return wrap(err, "update budget")
	}
	if tag.RowsAffected() == 0 {
		return usage.ErrNotFound
	}
	return nil
}

// DeleteBudget deletes a budget of an owner.
func (db *DB) DeleteBudget(ctx context.Context, enterpriseID, orgID int64, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM budgets WHERE enterprise_id = $1 AND org_id = $2 AND id = $3`, enterpriseID, orgID, id)
	if err != nil {
		return wrap(err, "delete budget")
	}
	if tag.RowsAffected() == 0 {
		return usage.ErrNotFound
	}
	return nil
}

// AllBudgets lists every budget.
func (db *DB) AllBudgets(ctx context.Context) ([]*billing.Budget, error) {
	return queryAll(ctx, db, "all budgets", scanBudget, `SELECT `+budgetCols+` FROM budgets ORDER BY seq`)
}

// RaiseBudgetAlert records an alert and its deliveries unless the budget
// has one at or above its threshold for the month. The budget's alert
// rows are serialized by a transaction-scoped advisory lock on its id.
func (db *DB) RaiseBudgetAlert(ctx context.Context, a billing.BudgetAlert, deliveries []billing.BudgetDelivery) (bool, error) {
	raised := false
	err := db.inTx(ctx, "raise budget alert", func(tx pgx.Tx) error {
		raised = false
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "budget-alert:"+a.BudgetID); err != nil {
			return err
		}
		var higher int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM budget_alerts WHERE budget_id = $1 AND month = $2 AND threshold >= $3`,
			a.BudgetID, a.Month, a.Threshold).Scan(&higher); err != nil {
			return err
		}
		if higher > 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO budget_alerts (budget_id, month, threshold, delivery_id, consumed, raised_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			a.BudgetID, a.Month, a.Threshold, a.DeliveryID, a.Consumed, a.RaisedAt.UTC()); err != nil {
			return err
		}
		for _, d := range deliveries {
			if _, err := tx.Exec(ctx, `INSERT INTO budget_alert_deliveries (delivery_id, url, payload, next_attempt_at) VALUES ($1, $2, $3, $4)`,
				d.DeliveryID, d.URL, d.Payload, d.NextAttempt.UTC()); err != nil {
				return err
			}
		}
		raised = true
		return nil
	})
	return raised, err
}

// BudgetAlerts lists a budget's alerts of a month.
func (db *DB) BudgetAlerts(ctx context.Context, budgetID, month string) ([]billing.BudgetAlert, error) {
	rows, err := db.pool.Query(ctx, `SELECT budget_id, month, threshold, delivery_id, consumed, raised_at FROM budget_alerts
		WHERE budget_id = $1 AND month = $2 ORDER BY threshold`, budgetID, month)
	if err != nil {
		return nil, wrap(err, "budget alerts")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.BudgetAlert, error) {
		var a billing.BudgetAlert
		err := r.Scan(&a.BudgetID, &a.Month, &a.Threshold, &a.DeliveryID, &a.Consumed, &a.RaisedAt)
		a.RaisedAt = a.RaisedAt.UTC()
		return a, err
	})
	return out, wrap(err, "budget alerts")
}

// DueBudgetDeliveries returns deliveries due at now.
func (db *DB) DueBudgetDeliveries(ctx context.Context, now time.Time, limit int) ([]billing.BudgetDelivery, error) {
	rows, err := db.pool.Query(ctx, `SELECT delivery_id, url, payload, attempts, next_attempt_at, last_error FROM budget_alert_deliveries
		WHERE delivered_at IS NULL AND NOT failed AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2`, now.UTC(), limit)
	if err != nil {
		return nil, wrap(err, "due budget deliveries")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.BudgetDelivery, error) {
		var d billing.BudgetDelivery
		err := r.Scan(&d.DeliveryID, &d.URL, &d.Payload, &d.Attempts, &d.NextAttempt, &d.LastError)
		d.NextAttempt = d.NextAttempt.UTC()
		return d, err
	})
	return out, wrap(err, "due budget deliveries")
}

// UpdateBudgetDelivery records a delivery attempt.
func (db *DB) UpdateBudgetDelivery(ctx context.Context, d billing.BudgetDelivery) error {
	_, err := db.pool.Exec(ctx, `UPDATE budget_alert_deliveries SET attempts = $1, next_attempt_at = $2, delivered_at = $3, failed = $4, last_error = $5
		WHERE delivery_id = $6 AND url = $7`, d.Attempts, d.NextAttempt.UTC(), nullTime(d.DeliveredAt), d.Failed, d.LastError, d.DeliveryID, d.URL)
	return wrap(err, "update budget delivery")
}
