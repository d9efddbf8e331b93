package sqlite_test

import (
	"testing"

	"github.com/ghusage/ghusage/internal/storetest"
)

func TestInsightsConformance(t *testing.T) {
	storetest.RunInsights(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: openTemp(t)}
	})
}
