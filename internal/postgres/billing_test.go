package postgres_test

import (
	"testing"

	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/storetest"
)

func TestBillingConformance(t *testing.T) {
	pgtest.Server(t)
	storetest.RunBilling(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: open(t)}
	})
}

func TestBillingReportsConformance(t *testing.T) {
	pgtest.Server(t)
	storetest.RunBillingReports(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: open(t)}
	})
}
