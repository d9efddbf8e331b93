package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/sqlite"
)

const backupHelp = `Usage: ghusage backup [--data-dir DIR] --to FILE     (or: ghusage backup FILE)

Writes a consistent copy of the embedded store (DIR/ghusage.db) into FILE, which
must not exist, while a server goes on serving and ingesting: every event
acknowledged before the backup started is in it. On PostgreSQL use pg_dump
(doc/operations.md).
`

const restoreHelp = `Usage: ghusage restore [--data-dir DIR] [--force] --from FILE     (or: ghusage restore FILE)

Puts a backup made by 'ghusage backup' back as DIR/ghusage.db, after checking
it. No server may be running on DIR. A store already in DIR is refused unless
--force is given; it is then kept as DIR/ghusage.db.pre-restore.
`

// fileArg is the one file a backup or restore command names, by flag or
// as its only positional argument.
func fileArg(f *flagSet, flagValue, flagName, help string, e *env) (string, error) {
	switch {
	case flagValue != "" && len(f.args) == 0:
		return flagValue, nil
	case flagValue == "" && len(f.args) == 1:
		return f.args[0], nil
	}
	fmt.Fprint(e.stderr, help)
	return "", fmt.Errorf("name one file, with --%s or as the argument", flagName)
}

func embeddedOnly(cfg server.Config, what string) error {
	if cfg.Store != "" && cfg.Store != "sqlite" {
		return fmt.Errorf("%s works on the embedded store; for PostgreSQL use pg_dump and pg_restore (doc/operations.md)", what)
	}
	return nil
}

func runBackup(ctx context.Context, e *env, args []string) error {
	cfg := server.DefaultConfig()
	f := newFlagSet("backup", e.getenv, e.stderr)
	storeFlags(f, &cfg)
	var to string
	f.StringVar(&to, "to", "", "backup file to write (must not exist)")
	if err := f.parse(args); err != nil {
		return err
	}
	to, err := fileArg(f, to, "to", backupHelp, e)
	if err != nil {
		return err
	}
	if err := embeddedOnly(cfg, "backup"); err != nil {
		return err
	}
	src := server.SQLitePath(cfg)
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no embedded store at %s (set --data-dir)", src)
	}
	info, err := sqlite.Backup(ctx, src, to)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backup of %s written to %s (%d bytes, schema version %d)\n", src, info.Path, info.Bytes, info.SchemaVersion)
	return nil
}

func runRestore(ctx context.Context, e *env, args []string) error {
	cfg := server.DefaultConfig()
	f := newFlagSet("restore", e.getenv, e.stderr)
	storeFlags(f, &cfg)
	var from string
	var force bool
	f.StringVar(&from, "from", "", "backup file to restore")
	f.BoolVar(&force, "force", false, "replace a store already in the data directory (kept as ghusage.db.pre-restore)")
	if err := f.parse(args); err != nil {
		return err
	}
	from, err := fileArg(f, from, "from", restoreHelp, e)
	if err != nil {
		return err
	}
	if err := embeddedOnly(cfg, "restore"); err != nil {
		return err
	}
	release, err := server.LockDataDir(cfg.DataDir)
	if err != nil {
		if errors.Is(err, server.ErrDataDirInUse) {
			return fmt.Errorf("%w; stop it before restoring", err)
		}
		return err
	}
	defer release()
	dest := server.SQLitePath(cfg)
	if _, err := os.Stat(dest); err == nil && !force {
		return fmt.Errorf("%s already holds a store; give --force to replace it (it is kept as %s.pre-restore)", cfg.DataDir, dest)
	}
	info, err := sqlite.Restore(ctx, from, dest)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s into %s (schema version %d); start 'ghusage serve --data-dir %s'\n", from, info.Path, info.SchemaVersion, cfg.DataDir)
	return nil
}

// lockEmbedded takes the data directory's lock for serve on the embedded
// store, so restore cannot replace the store under it and two servers do
// not share one file.
func lockEmbedded(cfg server.Config) (func(), error) {
	if cfg.Store != "" && cfg.Store != "sqlite" {
		return func() {}, nil
	}
	return server.LockDataDir(cfg.DataDir)
}
