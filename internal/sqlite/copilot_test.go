package sqlite_test

import (
	"testing"

	"github.com/ghusage/ghusage/internal/storetest"
)

func TestCopilotConformance(t *testing.T) {
	storetest.RunCopilot(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: openTemp(t)}
	})
}
