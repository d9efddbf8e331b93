package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/storetest"
	"github.com/ghusage/ghusage/internal/usage"
)

// openShared opens n stores on one new file, as n processes sharing it would.
func openShared(t *testing.T, n int) []usage.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ghusage.db")
	var out []usage.Store
	for range n {
		db, err := sqlite.Open(context.Background(), path, sqlite.Options{Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		out = append(out, db)
	}
	return out
}

func TestCostCenterConformance(t *testing.T) {
	storetest.RunCostCenters(t, openShared)
}

func TestBudgetConformance(t *testing.T) {
	storetest.RunBudgets(t, openShared)
}

func TestCostCenterAttributionConformance(t *testing.T) {
	storetest.RunCostCenterAttribution(t, openShared)
}
