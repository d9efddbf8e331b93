// Package pgtest gives tests an isolated PostgreSQL schema on the server
// named by GHUSAGE_TEST_POSTGRES.
//
// When the variable is unset, tests try the loopback default and skip with
// a message if nothing answers there; when it is set (as .ci/run does), an
// unreachable server fails the test instead, so CI cannot pass by skipping.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/postgres"
)

// EnvVar names the server tests use.
const EnvVar = "GHUSAGE_TEST_POSTGRES"

// DefaultDSN is tried when EnvVar is unset.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Server returns the DSN of the test server, skipping or failing t as the
// package comment says when it does not answer.
func Server(t testing.TB) string {
	t.Helper()
	dsn, set := os.LookupEnv(EnvVar)
	if !set || dsn == "" {
		dsn = DefaultDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if set {
			t.Fatalf("%s is set but PostgreSQL does not answer: %v", EnvVar, err)
		}
		t.Skipf("PostgreSQL not reachable at %s (%v); set %s to run PostgreSQL tests", DefaultDSN, err, EnvVar)
	}
	conn.Close(ctx)
	return dsn
}

// DSN creates a fresh, empty schema for t, dropped when t ends, and returns
// a DSN whose connections use it (through search_path). Register it before
// opening stores on it, so the store is closed before the schema is dropped.
func DSN(t testing.TB) string {
	t.Helper()
	server := Server(t)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "ghusage_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("pgtest: dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(server, schema)
}

// WithSearchPath returns dsn with its connections' search_path set to schema.
func WithSearchPath(dsn, schema string) string { return postgres.WithSearchPath(dsn, schema) }
