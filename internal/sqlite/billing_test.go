package sqlite_test

import (
	"testing"

	"github.com/ghusage/ghusage/internal/storetest"
)

func TestBillingConformance(t *testing.T) {
	storetest.RunBilling(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: openTemp(t)}
	})
}

func TestBillingReportsConformance(t *testing.T) {
	storetest.RunBillingReports(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: openTemp(t)}
	})
}
