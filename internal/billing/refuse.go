package billing

import "fmt"

// The Copilot SKUs ghusage derives from its Copilot seats and activity
// when --copilot-billing is on (server/copilot_billing.go).
const (
	SKUCopilotBusiness   = "copilot_for_business"
	SKUCopilotEnterprise = "copilot_enterprise"
	SKUCopilotPremium    = "copilot_premium_request"
)

// CopilotDerived says why billing-usage ingestion refuses r while the
// ledger derives Copilot licences and premium requests ("" when it
// accepts r): one source, no double entry.
func CopilotDerived(r *Record) string {
	switch r.SKU {
	case SKUCopilotBusiness, SKUCopilotEnterprise:
		return fmt.Sprintf("%s records are derived from the Copilot seats (/orgs/{org}/copilot/billing/selected_users) while --copilot-billing is on; one source, no double entry", r.SKU)
	case SKUCopilotPremium:
		return fmt.Sprintf("%s records are derived from the premium_requests_by_model of ingested Copilot usage (/ghusage/v1/ingest/copilot-usage) while --copilot-billing is on; one source, no double entry", r.SKU)
	}
	return ""
}
