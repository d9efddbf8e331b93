package demo_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/usage"
)

func seed(t *testing.T, s uint64) (*sqlite.DB, *demo.Dataset) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := demo.Seed(context.Background(), st, demo.Options{Seed: s, Now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return st, d
}

func TestSeedIsDeterministicAndComplete(t *testing.T) {
	ctx := context.Background()
	a, da := seed(t, 7)
	b, db := seed(t, 7)
	ua, _ := a.ListUsers(ctx)
	ub, _ := b.ListUsers(ctx)
	if len(ua) != len(ub) || len(ua) < 200 {
		t.Fatalf("users: %d and %d", len(ua), len(ub))
	}
	for i := range ua {
		if ua[i].Login != ub[i].Login || ua[i].ID != ub[i].ID {
			t.Fatalf("user %d differs: %s / %s", i, ua[i].Login, ub[i].Login)
		}
	}
	if da.Enterprise.Slug != "acme" || len(da.Orgs) != 3 || da.Orgs[0].Login != "acme-web" {
		t.Fatalf("enterprise/orgs: %+v %+v", da.Enterprise, da.Orgs)
	}
	if len(da.Installations) < 10 || len(da.OAuthApps) == 0 || len(da.Tokens) != len(db.Tokens) {
		t.Fatalf("apps: %d installations, %d oauth apps, %d/%d tokens", len(da.Installations), len(da.OAuthApps), len(da.Tokens), len(db.Tokens))
	}
	kinds := map[usage.ActorType]bool{}
	for _, tok := range da.Tokens {
		kinds[tok.Type] = true
	}
	if len(kinds) != 5 {
		t.Fatalf("demo tokens cover %d actor types, want all 5", len(kinds))
	}
	// The admin token is a real, usable, site-admin classic token.
	tok, err := a.TokenByHash(ctx, usage.HashToken(da.AdminToken))
	if err != nil || tok.Type != usage.ActorClassicPAT || !usage.HasScope(tok.Scopes, "read:org") {
		t.Fatalf("admin token: %+v %v", tok, err)
	}
	if da.AdminToken == db.AdminToken {
		t.Fatal("two demo datasets share an admin token secret")
	}
}

func TestEnsureAdminTokenRejectsMalformed(t *testing.T) {
	st, d := seed(t, 1)
	if _, err := demo.EnsureAdminToken(context.Background(), st, d.Admin.ID, "ghp_123", time.Now()); err == nil {
		t.Fatal("a malformed admin token was accepted")
	}
	fixed := usage.NewTokenString(usage.ActorClassicPAT)
	for range 2 { // idempotent
		got, err := demo.EnsureAdminToken(context.Background(), st, d.Admin.ID, fixed, time.Now())
		if err != nil || got != fixed {
			t.Fatalf("EnsureAdminToken: %q %v", got, err)
		}
	}
}
