package server

import (
	"fmt"
	"os"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

// BillingConfig configures the billing family.
type BillingConfig struct {
	// Catalog is a catalogue file (JSON) overriding list prices, plans and
	// account plans; empty keeps GitHub's list prices (doc/billing.md).
	Catalog string
	// WebhookSecret verifies X-Hub-Signature-256 of GitHub webhook
	// deliveries; empty disables the webhook endpoint.
	WebhookSecret string
}

// LoadCatalog returns the default catalogue with the file at path (if
// any) applied.
func LoadCatalog(path string) (*billing.Catalog, error) {
	c := billing.DefaultCatalog()
	if path == "" {
		return c, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--billing-catalog: %w", err)
	}
	defer f.Close()
	if err := c.Apply(f); err != nil {
		return nil, fmt.Errorf("--billing-catalog %s: %w", path, err)
	}
	return c, nil
}

// newBilling builds the billing service when the store implements
// billing.Store; nil otherwise.
func newBilling(cfg Config, st usage.Store, now func() time.Time) (*billing.Service, error) {
	bs, ok := st.(billing.Store)
	if !ok {
		return nil, nil
	}
	c, err := LoadCatalog(cfg.Billing.Catalog)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	svc := billing.NewService(bs, c, now)
	svc.Accounts = st
	return svc, nil
}
