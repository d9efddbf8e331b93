package sqlite_test

import (
	"testing"

	"github.com/ghusage/ghusage/internal/storetest"
)

func TestSessionsConformance(t *testing.T) {
	storetest.RunSessions(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: openTemp(t)}
	})
}
