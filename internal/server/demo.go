package server

import (
	"context"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// SeedDemo writes the whole demo dataset: the accounts and tokens, then
// each API family's data on top of them. accountsReady, when not nil, is
// called between the two, so the admin token can be shown before the
// longer part starts (and is not lost if it is interrupted).
func SeedDemo(ctx context.Context, st usage.Store, opt demo.Options, accountsReady func(*demo.Dataset)) (*demo.Dataset, error) {
	d, err := demo.Seed(ctx, st, opt)
	if err != nil {
		return nil, err
	}
	if accountsReady != nil {
		accountsReady(d)
	}
	if is, ok := st.(insights.Store); ok {
		if err := demo.SeedTraffic(ctx, is, d, opt.Seed, opt.Now); err != nil {
			return nil, err
		}
	}
	return d, nil
}
