package postgres_test

import (
	"testing"

	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/storetest"
)

func TestCopilotConformance(t *testing.T) {
	pgtest.Server(t)
	storetest.RunCopilot(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: open(t)}
	})
}
