package postgres_test

import (
	"testing"

	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/storetest"
)

// TestInsightsListMemory is not parallel: it measures allocations.
func TestInsightsListMemory(t *testing.T) {
	pgtest.Server(t)
	storetest.RunInsightsListMemory(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: open(t)}
	})
}
