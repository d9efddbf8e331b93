package server

import (
	"context"
	"strconv"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/jobs"
)

// BudgetAlertConfig configures the budget alert job (doc/cost-centers.md).
type BudgetAlertConfig struct {
	// WebhookURLs receive every alert as a signed POST.
	WebhookURLs []string
	// WebhookSecret signs the deliveries (X-Hub-Signature-256).
	WebhookSecret string
	// Every is how often budgets are checked, once across replicas.
	Every time.Duration
}

// DefaultBudgetAlertEvery is how often the budget alert job runs by default.
const DefaultBudgetAlertEvery = time.Minute

// wireCostCenters gives the API the cost-center and budget services when
// the store keeps them, and registers the budget alert job.
func wireCostCenters(cfg Config, s *Server, now func() time.Time) {
	cs, ok := s.Store.(billing.CostCenterStore)
	if !ok {
		return
	}
	if now == nil {
		now = time.Now
	}
	s.API.CostCenters = &billing.CostCenters{Store: cs, Now: now}
	bs, ok := s.Store.(billing.BudgetStore)
	if !ok {
		return
	}
	catalog := billing.DefaultCatalog()
	if s.API.Billing != nil {
		catalog = s.API.Billing.Catalog
	}
	attr := &billing.CostCenterAttribution{Store: cs, Accounts: s.Store}
	budgets := &billing.Budgets{Store: bs, Accounts: s.Store, CostCenters: cs, Catalog: catalog, Now: now}
	if svc := s.API.Billing; svc != nil {
		// Every billing answer attributes usage to cost centers from now on.
		svc.Attribution = attr
		budgets.Spend = &billing.BudgetSpend{Ledger: svc, Accounts: s.Store, Attribution: attr}
	}
	s.API.Budgets = budgets
	a := cfg.BudgetAlerts
	every := a.Every
	if every <= 0 {
		every = DefaultBudgetAlertEvery
	}
	reg := s.Metrics
	alerter := &billing.BudgetAlerter{Budgets: budgets, URLs: a.WebhookURLs, Secret: []byte(a.WebhookSecret),
		Logger: s.logger.With("component", "budget-alerts"), Now: now,
		Raised: func(threshold int) {
			reg.Counter("ghusage_budget_alerts_total", "Budget alerts raised, by threshold percentage.", "threshold", strconv.Itoa(threshold)).Inc()
		},
		Delivered: func(outcome string) {
			reg.Counter("ghusage_budget_alert_deliveries_total", "Budget alert webhook delivery attempts, by outcome.", "outcome", outcome).Inc()
		}}
	s.Jobs.Add(jobs.Job{Name: "budget-alerts", Every: every, Timeout: 5 * time.Minute,
		Run: func(ctx context.Context) error { return alerter.Run(ctx) }})
}
