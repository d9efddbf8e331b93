package cli

import "github.com/ghusage/ghusage/internal/server"

// copilotFlags registers the Copilot report flags of serve (see
// doc/copilot.md and doc/config.md).
func copilotFlags(f *flagSet, cfg *server.Config) {
	c := &cfg.Copilot
	f.durationVar(&c.Settle, "copilot-settle", c.Settle, "how long after a UTC day ends its Copilot reports are first built")
	f.durationVar(&c.Every, "copilot-build-every", c.Every, "how often the copilot-reports job looks for days to build")
	f.intVar(&c.ShardRows, "copilot-shard-rows", c.ShardRows, "most records in one per-user, user-teams or repos report file")
	f.intVar(&c.RetentionDays, "copilot-retention-days", c.RetentionDays, "days of Copilot activity and reports kept (0 keeps them forever)")
	f.boolVar(&c.Billing, "copilot-billing", c.Billing, "derive the billing ledger's Copilot licences and premium requests from the Copilot seats and activity (billing-usage ingestion then refuses those SKUs)")
}
