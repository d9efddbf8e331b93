package sqlite_test

import (
	"testing"

	"github.com/ghusage/ghusage/internal/storetest"
)

// TestInsightsListMemory is not parallel: it measures allocations.
func TestInsightsListMemory(t *testing.T) {
	storetest.RunInsightsListMemory(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: openTemp(t)}
	})
}
