package server

import (
	"time"

	"github.com/ghusage/ghusage/internal/billing"
)

// wireCostCenters gives the API the cost-center service when the store
// keeps cost centers.
func wireCostCenters(cfg Config, s *Server, now func() time.Time) {
	cs, ok := s.Store.(billing.CostCenterStore)
	if !ok {
		return
	}
	if now == nil {
		now = time.Now
	}
	s.API.CostCenters = &billing.CostCenters{Store: cs, Now: now}
}
