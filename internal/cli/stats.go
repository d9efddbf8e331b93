package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/serverstats"
)

const statsHelp = `Usage:
  ghusage stats collect [--stats-instances FILE] [store flags]

Collects server statistics now from every GitHub Enterprise Server instance
listed in the instances file (the one serve polls daily): it reads each
instance's /api/v3/enterprise/stats/all, /enterprise/stats/security-products
and /meta with the instance's site-administrator token, and stores one
snapshot per instance for today (replacing today's, if one was stored).
One line per instance is printed; the command fails if any instance failed.
The instances file is described in doc/server-statistics.md.
`

func runStats(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return printHelp(e, statsHelp, args)
	}
	if args[0] != "collect" {
		fmt.Fprint(e.stderr, statsHelp)
		return fmt.Errorf("unknown stats command %q: use collect", args[0])
	}
	cfg := server.DefaultConfig()
	cfg.Version = Version
	f := newFlagSet("stats collect", e.getenv, e.stderr)
	storeFlags(f, &cfg)
	serverStatsFlags(f, &cfg)
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	if cfg.ServerStats.InstancesFile == "" {
		return errors.New("stats collect needs --stats-instances FILE (or GHUSAGE_STATS_INSTANCES)")
	}
	insts, err := serverstats.LoadInstances(cfg.ServerStats.InstancesFile)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ss, ok := st.(serverstats.Store)
	if !ok {
		return fmt.Errorf("the %s store does not keep server statistics", cfg.Store)
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c := server.NewCollector(cfg, logger, time.Now)
	n, err := c.CollectAll(ctx, serverstats.NewService(ss, st, time.Now), insts)
	fmt.Fprintf(e.stdout, "%d of %d instances collected\n", n, len(insts))
	return err
}
