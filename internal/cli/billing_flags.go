package cli

import "github.com/ghusage/ghusage/internal/server"

// billingFlags registers the billing flags of serve (see doc/billing.md
// and doc/config.md).
func billingFlags(f *flagSet, cfg *server.Config) {
	b := &cfg.Billing
	f.stringVar(&b.Catalog, "billing-catalog", b.Catalog, "JSON file overriding billing list prices, included quotas and account plans (doc/billing.md)")
	f.stringVar(&b.WebhookSecret, "webhook-secret", b.WebhookSecret, "secret of GitHub webhooks posted to /ghusage/v1/webhooks/github (X-Hub-Signature-256); empty disables the endpoint")
}
