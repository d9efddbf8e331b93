package cli

import (
	"context"
	"fmt"

	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/usage"
)

// storeFlags registers the flags that choose and locate the store.
func storeFlags(f *flagSet, cfg *server.Config) {
	f.stringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory of the embedded store (and other local state)")
	f.stringVar(&cfg.Store, "store", cfg.Store, "store backend: sqlite or postgres")
	f.stringVar(&cfg.PostgresDSN, "postgres-dsn", cfg.PostgresDSN, "PostgreSQL connection string, with --store postgres")
	f.stringVar(&cfg.SQLiteSynchronous, "sqlite-synchronous", cfg.SQLiteSynchronous, "SQLite synchronous mode: FULL (durable across power loss) or NORMAL (across crashes)")
}

func openStore(ctx context.Context, cfg server.Config) (usage.Store, error) {
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// parseAndOpen parses a store command's arguments and opens the store
// they choose; the caller closes it.
func parseAndOpen(ctx context.Context, f *flagSet, args []string, cfg *server.Config) (usage.Store, error) {
	if err := f.parse(args); err != nil {
		return nil, err
	}
	return openStore(ctx, *cfg) // read after parsing: the flags write into *cfg
}

func runMigrate(ctx context.Context, e *env, args []string) error {
	cfg := server.DefaultConfig()
	f := newFlagSet("migrate", e.getenv, e.stderr)
	storeFlags(f, &cfg)
	st, err := parseAndOpen(ctx, f, args, &cfg) // opening applies every pending migration
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(e.stdout, "schema of the %s store is up to date\n", cfg.Store)
	return nil
}
