package sqlite_test

import (
	"testing"

	"github.com/ghusage/ghusage/internal/storetest"
)

func TestServerStatsConformance(t *testing.T) {
	storetest.RunServerStats(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: openTemp(t)}
	})
}
