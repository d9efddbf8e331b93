package scaleout_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/cli"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := cli.Run(t.Context(), args, func(string) string { return "" }, nil, &out, io.Discard)
	return out.String(), err
}

// TestMigrateAndStartErrors checks the commands an operator runs against
// PostgreSQL: migrate brings a schema up to date (twice is harmless), and
// serve stops at once with an error naming the problem when PostgreSQL is
// unreachable, not configured, or migrated by a newer ghusage.
func TestMigrateAndStartErrors(t *testing.T) {
	dsn := pgtest.DSN(t)
	for range 2 {
		out, err := run(t, "migrate", "--store", "postgres", "--postgres-dsn", dsn)
		if err != nil || !strings.Contains(out, "up to date") {
			t.Fatalf("ghusage migrate: %q, %v", out, err)
		}
	}

	_, err := run(t, "serve", "--addr", "127.0.0.1:0", "--store", "postgres",
		"--postgres-dsn", "postgres://postgres@127.0.0.1:1/test?connect_timeout=2")
	if err == nil || !strings.Contains(err.Error(), "cannot reach 127.0.0.1:1/test") {
		t.Errorf("serve on an unreachable PostgreSQL: %v, want an error naming it", err)
	}
	_, err = run(t, "serve", "--addr", "127.0.0.1:0", "--store", "postgres")
	if err == nil || !strings.Contains(err.Error(), "--postgres-dsn") {
		t.Errorf("serve --store postgres without a DSN: %v, want an error naming --postgres-dsn", err)
	}

	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_a_newer_ghusage')`); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"serve", "migrate"} {
		args := []string{cmd, "--store", "postgres", "--postgres-dsn", dsn}
		if cmd == "serve" {
			args = append(args, "--addr", "127.0.0.1:0")
		}
		_, err = run(t, args...)
		if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
			t.Errorf("%s on a schema of a newer ghusage: %v, want a refusal", cmd, err)
		}
	}
}
