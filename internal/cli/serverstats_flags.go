package cli

import "github.com/ghusage/ghusage/internal/server"

// serverStatsFlags registers the server statistics flags of serve and
// stats collect (see doc/server-statistics.md and doc/config.md).
func serverStatsFlags(f *flagSet, cfg *server.Config) {
	c := &cfg.ServerStats
	if c.CollectEvery == 0 {
		c.CollectEvery = server.DefaultCollectEvery
	}
	f.stringVar(&c.InstancesFile, "stats-instances", c.InstancesFile, "JSON file listing the GitHub Enterprise Server instances to collect statistics from (url, token or token_file, account); empty collects none")
	f.durationVar(&c.CollectEvery, "stats-collect-every", c.CollectEvery, "how often serve collects server statistics from the instances (once across replicas)")
}
