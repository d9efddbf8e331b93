package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

var _ billing.BudgetStore = (*DB)(nil)

const budgetCols = `id, enterprise_id, org_id, budget_type, product_sku, scope, entity_name, user_login, amount,
	prevent_further_usage, will_alert, alert_recipients, created_at, updated_at`

func scanBudget(row interface{ Scan(...any) error }) (*billing.Budget, error) {
	b := &billing.Budget{}
	var recipients string
	var created, updated int64
	if err := row.Scan(&b.ID, &b.EnterpriseID, &b.OrgID, &b.Type, &b.ProductSKU, &b.Scope, &b.EntityName, &b.User, &b.Amount,
		&b.PreventFurtherUsage, &b.WillAlert, &recipients, &created, &updated); err != nil {
		return nil, storeError(err, "Budget")
	}
	if err := json.Unmarshal([]byte(recipients), &b.AlertRecipients); err != nil {
		return nil, err
	}
	b.CreatedAt, b.UpdatedAt = fromNano(created), fromNano(updated)
	return b, nil
}

func recipientsJSON(rs []string) string {
	if rs == nil {
		rs = []string{}
	}
	b, _ := json.Marshal(rs)
	return string(b)
}

func (db *DB) CreateBudget(ctx context.Context, b *billing.Budget, max int) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM budgets WHERE enterprise_id = ? AND org_id = ?`, b.EnterpriseID, b.OrgID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return billing.ErrBudgetLimit
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO budgets (id, enterprise_id, org_id, budget_type, product_sku, scope, entity_name, user_login, amount,
			prevent_further_usage, will_alert, alert_recipients, target_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.EnterpriseID, b.OrgID, b.Type, b.ProductSKU, b.Scope, b.EntityName, b.User, b.Amount, b.PreventFurtherUsage, b.WillAlert,
			recipientsJSON(b.AlertRecipients), b.TargetKey(), unixNano(b.CreatedAt), unixNano(b.UpdatedAt))
		if err != nil && strings.Contains(err.Error(), "UNIQUE") {
			return billing.ErrBudgetExists
		}
		return err
	})
}

func (db *DB) Budget(ctx context.Context, enterpriseID, orgID int64, id string) (*billing.Budget, error) {
	return scanBudget(db.reader.QueryRowContext(ctx, `SELECT `+budgetCols+` FROM budgets WHERE enterprise_id = ? AND org_id = ? AND id = ?`, enterpriseID, orgID, id))
}

func (db *DB) ListBudgets(ctx context.Context, enterpriseID, orgID int64, scope string, offset, limit int) ([]*billing.Budget, int, error) {
	var total int
	if err := db.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM budgets WHERE enterprise_id = ? AND org_id = ? AND (? = '' OR scope = ?)`,
		enterpriseID, orgID, scope, scope).Scan(&total); err != nil {
		return nil, 0, err
	}
	bs, err := list(ctx, db.reader, scanBudget, `SELECT `+budgetCols+` FROM budgets WHERE enterprise_id = ? AND org_id = ? AND (? = '' OR scope = ?)
		ORDER BY seq LIMIT ? OFFSET ?`, enterpriseID, orgID, scope, scope, limit, offset)
	return bs, total, err
}

func (db *DB) UpdateBudget(ctx context.Context, b *billing.Budget) error {
	res, err := db.writer.ExecContext(ctx, `UPDATE budgets SET budget_type = ?, product_sku = ?, scope = ?, entity_name = ?, user_login = ?, amount = ?,
		prevent_further_usage = ?, will_alert = ?, alert_recipients = ?, target_key = ?, updated_at = ? WHERE id = ?`,
		b.Type, b.ProductSKU, b.Scope, b.EntityName, b.User, b.Amount, b.PreventFurtherUsage, b.WillAlert, recipientsJSON(b.AlertRecipients),
		b.TargetKey(), unixNano(b.UpdatedAt), b.ID)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return billing.ErrBudgetExists
		}
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return usage.ErrNotFound
	}
	return nil
}

func (db *DB) DeleteBudget(ctx context.Context, enterpriseID, orgID int64, id string) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM budgets WHERE enterprise_id = ? AND org_id = ? AND id = ?`, enterpriseID, orgID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return usage.ErrNotFound
	}
	return nil
}

func (db *DB) AllBudgets(ctx context.Context) ([]*billing.Budget, error) {
	return list(ctx, db.reader, scanBudget, `SELECT `+budgetCols+` FROM budgets ORDER BY seq`)
}

func (db *DB) RaiseBudgetAlert(ctx context.Context, a billing.BudgetAlert, deliveries []billing.BudgetDelivery) (bool, error) {
	raised := false
	err := db.write(ctx, func(tx *sql.Tx) error {
		raised = false
		var higher int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM budget_alerts WHERE budget_id = ? AND month = ? AND threshold >= ?`,
			a.BudgetID, a.Month, a.Threshold).Scan(&higher); err != nil {
			return err
		}
		if higher > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO budget_alerts (budget_id, month, threshold, delivery_id, consumed, raised_at) VALUES (?, ?, ?, ?, ?, ?)`,
			a.BudgetID, a.Month, a.Threshold, a.DeliveryID, a.Consumed, unixNano(a.RaisedAt)); err != nil {
			return err
		}
		for _, d := range deliveries {
			if _, err := tx.ExecContext(ctx, `INSERT INTO budget_alert_deliveries (delivery_id, url, payload, next_attempt_at) VALUES (?, ?, ?, ?)`,
				d.DeliveryID, d.URL, d.Payload, unixNano(d.NextAttempt)); err != nil {
				return err
			}
		}
		raised = true
		return nil
	})
	return raised, err
}

func (db *DB) BudgetAlerts(ctx context.Context, budgetID, month string) ([]billing.BudgetAlert, error) {
	return list(ctx, db.reader, func(row interface{ Scan(...any) error }) (billing.BudgetAlert, error) {
		var a billing.BudgetAlert
		var raised int64
		err := row.Scan(&a.BudgetID, &a.Month, &a.Threshold, &a.DeliveryID, &a.Consumed, &raised)
		a.RaisedAt = fromNano(raised)
		return a, err
	}, `SELECT budget_id, month, threshold, delivery_id, consumed, raised_at FROM budget_alerts WHERE budget_id = ? AND month = ? ORDER BY threshold`, budgetID, month)
}

func (db *DB) DueBudgetDeliveries(ctx context.Context, now time.Time, limit int) ([]billing.BudgetDelivery, error) {
	return list(ctx, db.reader, func(row interface{ Scan(...any) error }) (billing.BudgetDelivery, error) {
		var d billing.BudgetDelivery
		var next int64
		err := row.Scan(&d.DeliveryID, &d.URL, &d.Payload, &d.Attempts, &next, &d.LastError)
		d.NextAttempt = fromNano(next)
		return d, err
	}, `SELECT delivery_id, url, payload, attempts, next_attempt_at, last_error FROM budget_alert_deliveries
		WHERE delivered_at = 0 AND failed = 0 AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`, unixNano(now), limit)
}

func (db *DB) UpdateBudgetDelivery(ctx context.Context, d billing.BudgetDelivery) error {
	_, err := db.writer.ExecContext(ctx, `UPDATE budget_alert_deliveries SET attempts = ?, next_attempt_at = ?, delivered_at = ?, failed = ?, last_error = ?
		WHERE delivery_id = ? AND url = ?`, d.Attempts, unixNano(d.NextAttempt), unixNano(d.DeliveredAt), d.Failed, d.LastError, d.DeliveryID, d.URL)
	return err
}
