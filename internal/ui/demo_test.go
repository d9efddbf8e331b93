package ui_test

import (
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/testenv"
)

// seedDemo writes the rest of the demo dataset on the test server's demo
// accounts, as `serve --demo` does (server.SeedDemo): 30 days of API
// traffic, the billing ledger of the previous and current month, the cost
// centers and budgets, 90 days of server statistics for two servers and
// 60 days of Copilot activity with its reports built.
func seedDemo(t testing.TB, env *testenv.Env, now time.Time) {
	t.Helper()
	ctx := t.Context()
	if err := demo.SeedTraffic(ctx, env.Store, env.Data, 1, now); err != nil {
		t.Fatal(err)
	}
	if err := demo.SeedBilling(ctx, env.Store, env.Store, env.Data, 1, now); err != nil {
		t.Fatal(err)
	}
	if err := demo.SeedCostCenters(ctx, env.Store, env.Data, 1, now); err != nil {
		t.Fatal(err)
	}
	if err := demo.SeedServerStats(ctx, env.Store, env.Data.Enterprise.Slug, 1, now); err != nil {
		t.Fatal(err)
	}
	seedCopilot(t, env, now)
}
