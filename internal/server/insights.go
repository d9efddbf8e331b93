package server

import (
	"log/slog"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// newInsights builds the API insights service and the metering recorder
// when the store implements insights.Store; both are nil otherwise.
func newInsights(cfg Config, st usage.Store, logger *slog.Logger, now func() time.Time) (*insights.Service, *insights.Recorder) {
	is, ok := st.(insights.Store)
	if !ok {
		return nil, nil
	}
	if now == nil {
		now = time.Now
	}
	svc := insights.NewService(is, now)
	svc.Retention = cfg.InsightsRetention
	gate := insights.DefaultGate()
	if cfg.InsightsGate.Slots > 0 {
		gate.Slots = cfg.InsightsGate.Slots
	}
	svc.Gate = insights.NewGate(gate)
	return svc, insights.NewRecorder(svc, logger)
}
