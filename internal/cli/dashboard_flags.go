package cli

import (
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/ui"
)

// dashboardFlags registers the web UI's flags of serve (see doc/dashboard.md).
func dashboardFlags(f *flagSet, cfg *server.Config) {
	if cfg.UISessionTTL == 0 {
		cfg.UISessionTTL = ui.DefaultSessionTTL
	}
	f.durationVar(&cfg.UISessionTTL, "ui-session-ttl", cfg.UISessionTTL, "how long a dashboard sign-in lasts before the token must be pasted again")
}
