package postgres_test

import (
	"strings"
	"testing"

	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/storetest"
)

// open returns a migrated store on a fresh schema.
func open(t *testing.T) *postgres.DB { return openB(t) }

// openB is open for tests and benchmarks.
func openB(t testing.TB) *postgres.DB {
	t.Helper()
	dsn := pgtest.DSN(t)
	db, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	pgtest.Server(t) // skip once, not in every case
	storetest.Run(t, func(t *testing.T) storetest.Backend {
		db := open(t)
		return storetest.Backend{Store: db, Locker: db.Leases()}
	})
}

func TestOpenRequiresMigration(t *testing.T) {
	dsn := pgtest.DSN(t)
	_, err := postgres.Open(t.Context(), dsn, postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "ghusage migrate") {
		t.Fatalf("Open on an empty schema without Migrate: %v, want an error saying to run ghusage migrate", err)
	}
	db, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Migrating again is a no-op, and a plain Open now succeeds.
	db, err = postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatalf("second migration: %v", err)
	}
	db.Close()
	db, err = postgres.Open(t.Context(), dsn, postgres.Options{})
	if err != nil {
		t.Fatalf("Open on a migrated schema: %v", err)
	}
	db.Close()
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	db := open(t)
	newer := postgres.SchemaVersion() + 1
	if _, err := db.Pool().Exec(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future')`, newer); err != nil {
		t.Fatal(err)
	}
	dsn := pgtest.WithSearchPath(pgtest.Server(t), currentSchema(t, db))
	for _, migrate := range []bool{false, true} {
		_, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: migrate})
		if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
			t.Errorf("Open(Migrate: %v) on a newer schema: %v, want a refusal naming the newer schema", migrate, err)
		}
	}
}

func currentSchema(t *testing.T, db *postgres.DB) string {
	var s string
	if err := db.Pool().QueryRow(t.Context(), `SELECT current_schema()`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenUnreachable(t *testing.T) {
	// Nothing listens on port 1 of loopback.
	_, err := postgres.Open(t.Context(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot reach 127.0.0.1:1/test") {
		t.Fatalf("Open of an unreachable server: %v, want an error naming it", err)
	}
}

func TestInsightsConformance(t *testing.T) {
	pgtest.Server(t)
	storetest.RunInsights(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: open(t)}
	})
}

// TestSessionsEndAbandonedTransactions checks that sessions have an idle
// transaction timeout, so a replica cut off mid-transaction cannot hold
// row locks other replicas wait for.
func TestSessionsEndAbandonedTransactions(t *testing.T) {
	db := open(t)
	var v string
	if err := db.Pool().QueryRow(t.Context(), `SHOW idle_in_transaction_session_timeout`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "1min" {
		t.Fatalf("idle_in_transaction_session_timeout = %q, want 1min", v)
	}
}
