package postgres_test

import (
	"testing"

	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/storetest"
	"github.com/ghusage/ghusage/internal/usage"
)

// replicaStores opens n stores, each with its own pool, on one fresh schema.
func replicaStores(t *testing.T, n int) []usage.Store {
	var out []usage.Store
	for _, db := range openReplicas(t, pgtest.DSN(t), n) {
		out = append(out, db)
	}
	return out
}

func TestCostCenterConformance(t *testing.T) {
	storetest.RunCostCenters(t, replicaStores)
}

func TestBudgetConformance(t *testing.T) {
	storetest.RunBudgets(t, replicaStores)
}

func TestCostCenterAttributionConformance(t *testing.T) {
	storetest.RunCostCenterAttribution(t, replicaStores)
}
