package billing

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// BudgetThresholds are the percentages of a budget that raise an alert,
// once each per budget and month, as GitHub's budget e-mails do.
var BudgetThresholds = []int{75, 90, 100}

// BudgetAlerter raises budget alerts: run once across replicas (a job), it
// computes each alerting budget's consumption, records the highest
// threshold newly reached (a jump from below 75 % to past 100 % is one
// alert, for 100 %), and delivers the alerts as HMAC-signed webhooks to
// the configured URLs, retrying failed deliveries with backoff. The alert
// and its deliveries are recorded in one transaction before anything is
// sent, so neither a second replica nor a restart sends an alert twice.
type BudgetAlerter struct {
	Budgets *Budgets
	// URLs receive every alert; none: alerts are only logged and counted.
	URLs []string
	// Secret signs each delivery's body (X-Hub-Signature-256), as GitHub
	// signs webhooks; empty: deliveries are unsigned.
	Secret      []byte
	Client      *http.Client
	Logger      *slog.Logger
	Now         func() time.Time
	MaxAttempts int           // per delivery; default 8
	Backoff     time.Duration // first retry delay, doubled each attempt; default 30s
	// Raised and Delivered, when set, count alerts raised (by threshold)
	// and delivery attempts (by outcome: delivered, retry, failed).
	Raised    func(threshold int)
	Delivered func(outcome string)
}

// claimFor is how long a claimed delivery is left to its claimer before
// another run may attempt it again.
const claimFor = 2 * time.Minute

// BudgetAlertEvent is the body of an alert webhook.
type BudgetAlertEvent struct {
	Action         string          `json:"action"` // "threshold_reached"
	Threshold      int             `json:"threshold"`
	Month          string          `json:"month"`
	ConsumedAmount json.RawMessage `json:"consumed_amount"`
	Budget         BudgetEventBody `json:"budget"`
	Recipients     []string        `json:"alert_recipients"`
}

// BudgetEventBody is the budget an alert is about.
type BudgetEventBody struct {
	ID                  string `json:"id"`
	BudgetType          string `json:"budget_type"`
	BudgetProductSKU    string `json:"budget_product_sku"`
	BudgetScope         string `json:"budget_scope"`
	BudgetEntityName    string `json:"budget_entity_name"`
	BudgetAmount        int64  `json:"budget_amount"`
	PreventFurtherUsage bool   `json:"prevent_further_usage"`
	Enterprise          string `json:"enterprise,omitempty"`
	Organization        string `json:"organization,omitempty"`
}

func (a *BudgetAlerter) now() time.Time {
	if a.Now == nil {
		return time.Now().UTC()
	}
	return a.Now().UTC()
}

func (a *BudgetAlerter) log() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}

// Alerting reports whether the budget raises alerts: alerting on, and not
// a per-user budget (GitHub never alerts on those).
func (b *Budget) Alerting() bool {
	return b.WillAlert && b.Scope != ScopeUser && b.Scope != ScopeMultiUserCustomer && b.Scope != ScopeMultiUserCostCenter
}

// Run checks every budget once and delivers what is due.
func (a *BudgetAlerter) Run(ctx context.Context) error {
	now := a.now()
	month := now.Format("2006-01")
	budgets, err := a.Budgets.Store.AllBudgets(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range budgets {
		if !b.Alerting() {
			continue
		}
		if err := a.check(ctx, b, month, now); err != nil {
			errs = append(errs, fmt.Errorf("budget %s: %w", b.ID, err))
		}
	}
	errs = append(errs, a.deliver(ctx, now))
	return errors.Join(errs...)
}

func (a *BudgetAlerter) check(ctx context.Context, b *Budget, month string, now time.Time) error {
	consumed, err := a.Budgets.Spend.Consumed(ctx, b, now)
	if err != nil {
		return err
	}
	pct := Percent(consumed, b.Amount)
	level := 0
	for _, t := range BudgetThresholds {
		if pct >= int64(t) && !(b.Amount == 0 && consumed.IsZero()) {
			level = t
		}
	}
	if level == 0 {
		return nil
	}
	alert := BudgetAlert{BudgetID: b.ID, Month: month, Threshold: level, DeliveryID: NewUUID(), Consumed: consumed.String(), RaisedAt: now}
	ev := BudgetAlertEvent{Action: "threshold_reached", Threshold: level, Month: month, ConsumedAmount: json.RawMessage(consumed.String()),
		Recipients: b.AlertRecipients,
		Budget: BudgetEventBody{ID: b.ID, BudgetType: b.Type, BudgetProductSKU: b.ProductSKU, BudgetScope: b.Scope, BudgetEntityName: b.EntityName,
			BudgetAmount: b.Amount, PreventFurtherUsage: b.PreventFurtherUsage}}
	if ev.Recipients == nil {
		ev.Recipients = []string{}
	}
	if acct, org, err := a.Budgets.Spend.account(ctx, b); err == nil {
		if acct.Kind == KindEnterprise {
			ev.Budget.Enterprise = acct.Login
		} else {
			org = acct.Login
		}
		ev.Budget.Organization = org
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	var ds []BudgetDelivery
	for _, u := range a.URLs {
		ds = append(ds, BudgetDelivery{DeliveryID: alert.DeliveryID, URL: u, Payload: string(payload), NextAttempt: now})
	}
	raised, err := a.Budgets.Store.RaiseBudgetAlert(ctx, alert, ds)
	if err != nil || !raised {
		return err
	}
	a.log().Warn("budget threshold reached", "budget_id", b.ID, "scope", b.Scope, "entity", b.EntityName, "product_sku", b.ProductSKU,
		"threshold", level, "consumed", alert.Consumed, "budget_amount", b.Amount, "month", month, "delivery_id", alert.DeliveryID, "webhooks", len(ds))
	if a.Raised != nil {
		a.Raised(level)
	}
	return nil
}

// SignBudgetAlert returns the X-Hub-Signature-256 value of body under secret.
func SignBudgetAlert(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (a *BudgetAlerter) deliver(ctx context.Context, now time.Time) error {
	due, err := a.Budgets.Store.ClaimBudgetDeliveries(ctx, now, now.Add(claimFor), 100)
	if err != nil {
		return err
	}
	client := a.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	maxAttempts, backoff := a.MaxAttempts, a.Backoff
	if maxAttempts <= 0 {
		maxAttempts = 8
	}
	if backoff <= 0 {
		backoff = 30 * time.Second
	}
	for _, d := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.Attempts++
		err := a.post(ctx, client, d)
		outcome := "delivered"
		switch {
		case err == nil:
			d.DeliveredAt, d.LastError = now, ""
		case d.Attempts >= maxAttempts:
			d.Failed, d.LastError, outcome = true, err.Error(), "failed"
		default:
			d.NextAttempt, d.LastError, outcome = now.Add(backoff<<(d.Attempts-1)), err.Error(), "retry"
		}
		if err != nil {
			a.log().Warn("budget alert webhook failed", "delivery_id", d.DeliveryID, "url", d.URL, "attempt", d.Attempts, "outcome", outcome, "err", err)
		}
		if a.Delivered != nil {
			a.Delivered(outcome)
		}
		if err := a.Budgets.Store.UpdateBudgetDelivery(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

func (a *BudgetAlerter) post(ctx context.Context, client *http.Client, d BudgetDelivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader([]byte(d.Payload)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ghusage-budget-alerts")
	req.Header.Set("X-GitHub-Event", "budget_alert")
	req.Header.Set("X-GitHub-Delivery", d.DeliveryID)
	if len(a.Secret) > 0 {
		req.Header.Set("X-Hub-Signature-256", SignBudgetAlert(a.Secret, []byte(d.Payload)))
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}
