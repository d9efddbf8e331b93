package httpapi

import (
	"io"

	"github.com/ghusage/ghusage/internal/billing"
)

// decodeBillingUsage decodes a billing-usage batch; while the ledger
// derives Copilot licences and premium requests from the Copilot data
// (--copilot-billing), records of those SKUs are a 422 naming their line
// and field.
func (s *Server) decodeBillingUsage(body io.Reader) ([]billing.Record, error) {
	if s.Copilot == nil || !s.Copilot.BillingLedger {
		return billing.DecodeAll(body, s.Billing.Catalog, s.Now(), billing.MaxBatch)
	}
	return billing.DecodeAllRefusing(body, s.Billing.Catalog, s.Now(), billing.MaxBatch, billing.CopilotDerived)
}
