package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/storetest"
)

func openTemp(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ghusage.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: openTemp(t)}
	})
}

func TestReopenKeepsSchemaAndData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ghusage.db")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, &usageUser); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if _, err := db.UserByLogin(ctx, "OCTOCAT"); err != nil {
		t.Fatalf("user lost across reopen: %v", err)
	}
}

func TestOpenRejectsBadSynchronous(t *testing.T) {
	if _, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), sqlite.Options{Synchronous: "maybe"}); err == nil {
		t.Fatal("Open accepted synchronous=maybe")
	}
}

// TestConcurrentOpenMigratesOnce opens one new file from several goroutines
// at once, as serve and a CLI command (or two replicas) may: every Open
// must succeed and each migration be applied once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	for round := 0; round < 3; round++ {
		path := filepath.Join(t.TempDir(), "race.db")
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
				if err == nil {
					db.Close()
				}
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: concurrent Open: %v", round, err)
			}
		}
	}
}
