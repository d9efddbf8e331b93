package server_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/sqlite"
)

// An interrupted demo seeding leaves no store behind; the next attempt
// writes a complete one, and a store that exists is never overwritten.
func TestSeedDemoFileIsAllOrNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ghusage.db")
	opt := demo.Options{Seed: 1, Scale: 0.05, Now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}

	ctx, cancel := context.WithCancel(t.Context())
	_, err := server.SeedDemoFile(ctx, path, opt, "FULL", func(*demo.Dataset) { cancel() })
	if err == nil {
		t.Fatal("seeding went on after its context was cancelled between accounts and traffic")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("an interrupted seeding left %s (stat: %v)", path, err)
	}

	d, err := server.SeedDemoFile(t.Context(), path, opt, "FULL", nil)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "ghusage.db" {
			t.Errorf("left beside the store: %s", e.Name())
		}
	}
	st, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	users, err := st.ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != len(d.Users)+1 { // the demo users and the administrator
		t.Errorf("store has %d users, the dataset %d (+1 admin)", len(users), len(d.Users))
	}
	if _, err := server.SeedDemoFile(t.Context(), path, opt, "FULL", nil); err == nil {
		t.Error("SeedDemoFile overwrote an existing store")
	}
}
