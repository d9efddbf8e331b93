package cli

import (
	"strings"

	"github.com/ghusage/ghusage/internal/server"
)

// costCenterFlags registers the budget-alert flags of serve (see
// doc/cost-centers.md and doc/config.md).
func costCenterFlags(f *flagSet, cfg *server.Config) {
	a := &cfg.BudgetAlerts
	funcVar(f, "budget-alert-webhook-url", "comma-separated URLs that receive every budget alert as a signed POST (X-Hub-Signature-256)", func(s string) error {
		a.WebhookURLs = a.WebhookURLs[:0]
		for _, u := range strings.Split(s, ",") {
			if u = strings.TrimSpace(u); u != "" {
				a.WebhookURLs = append(a.WebhookURLs, u)
			}
		}
		return nil
	})
	f.stringVar(&a.WebhookSecret, "budget-alert-webhook-secret", a.WebhookSecret, "secret the budget alert webhooks are signed with (HMAC-SHA256, as GitHub signs webhooks)")
	f.durationVar(&a.Every, "budget-alert-interval", server.DefaultBudgetAlertEvery, "how often budgets are checked against their thresholds (once across replicas)")
}
