package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/server"
)

const copilotHelp = `Usage:
  ghusage copilot policy (--enterprise SLUG | --org LOGIN) [enabled|disabled|unconfigured]
  ghusage copilot build [--settle 2h]

policy shows or sets the "Copilot usage metrics" policy. The report routes
of an enterprise answer only when its policy is enabled; an organization's
when its enterprise's is enabled, or is unconfigured (the organizations
decide) and the organization's own is enabled. The default is disabled.

build builds the due report files once, as the server's copilot-reports
job does (doc/copilot.md), into the embedded store's files directory or
PostgreSQL's blob tables.
`

func runCopilot(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return printHelp(e, copilotHelp, args)
	}
	verb, args := args[0], args[1:]
	cfg := server.DefaultConfig()
	f := newFlagSet("copilot "+verb, e.getenv, e.stderr)
	storeFlags(f, &cfg)
	var ent, org string
	settle := cfg.Copilot.Settle
	f.StringVar(&ent, "enterprise", "", "enterprise slug")
	f.StringVar(&org, "org", "", "organization login")
	f.DurationVar(&settle, "settle", settle, "how long after a UTC day ends its reports are built")
	st, err := parseAndOpen(ctx, f, args, &cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	cs, ok := st.(copilot.Store)
	if !ok {
		return fmt.Errorf("the %s store does not keep Copilot data", cfg.Store)
	}
	svc := copilot.NewService(cs, st, time.Now, nil)
	switch verb {
	case "policy":
		if (ent == "") == (org == "") || len(f.args) > 1 {
			fmt.Fprint(e.stderr, copilotHelp)
			return errors.New("copilot policy takes --enterprise or --org, and at most one value")
		}
		var sc copilot.Scope
		if ent != "" {
			en, err := st.EnterpriseBySlug(ctx, ent)
			if err != nil {
				return fmt.Errorf("enterprise %s: %w", ent, err)
			}
			sc = copilot.Scope{Enterprise: true, ID: en.ID}
		} else {
			o, err := st.OrganizationByLogin(ctx, org)
			if err != nil {
				return fmt.Errorf("organization %s: %w", org, err)
			}
			sc = copilot.Scope{ID: o.ID}
		}
		if len(f.args) == 1 {
			if err := svc.SetPolicy(ctx, sc, f.args[0]); err != nil {
				return err
			}
		}
		p, err := cs.CopilotPolicy(ctx, sc)
		if err != nil {
			return err
		}
		if p == "" {
			p = copilot.PolicyDisabled + " (never set)"
		}
		fmt.Fprintf(e.stdout, "Copilot usage metrics policy: %s\n", p)
		return nil
	case "build":
		files, err := server.OpenFiles(cfg, st)
		if err != nil {
			return err
		}
		b := &copilot.Builder{Store: cs, Accounts: st, Files: files, Now: time.Now, Settle: settle,
			ShardRows: cfg.Copilot.ShardRows, KeepReplaced: 2 * cfg.LinkTTL, RetentionDays: cfg.Copilot.RetentionDays}
		if b.Ledger, err = server.CopilotLedger(ctx, cfg, st, slog.New(slog.NewTextHandler(e.stderr, nil))); err != nil {
			return err
		}
		start := time.Now()
		res, err := b.Run(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "built %d days, %d aggregate-only days, %d 28-day windows; deleted %d replaced files (%.1fs)\n",
			res.Days, res.AggregateDays, res.Windows, res.Deleted, time.Since(start).Seconds())
		return nil
	}
	fmt.Fprint(e.stderr, copilotHelp)
	return fmt.Errorf("unknown copilot command %q", verb)
}
