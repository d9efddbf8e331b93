package cli

import (
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/server"
)

// insightsFlags registers the API insights flags of serve (see
// doc/insights.md and doc/config.md).
func insightsFlags(f *flagSet, cfg *server.Config) {
	r := &cfg.InsightsRetention
	f.durationVar(&r.Minute, "insights-retention-minutes", r.Minute, "how long minute and five-minute insights buckets are kept (0 keeps them forever)")
	f.durationVar(&r.Hour, "insights-retention-hours", r.Hour, "how long hourly insights buckets are kept (0 keeps them forever)")
	f.durationVar(&r.Day, "insights-retention-days", r.Day, "how long daily insights buckets are kept (0 keeps them forever)")
	f.intVar(&cfg.InsightsGate.Slots, "insights-list-slots", insights.DefaultGate().Slots, "list answers (subject-, user-, route-stats) computed at once; one caller holds at most one (default: half the cores, at least 1)")
	f.durationVar(&r.Dedup, "insights-dedup-window", r.Dedup, "how long ingested event ids are remembered, by event time, so re-sent events are not counted twice (0 forever)")
}
