package postgres_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/copilot/copilotgen"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/usage"

	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/storetest"
)

func TestCopilotConformance(t *testing.T) {
	pgtest.Server(t)
	storetest.RunCopilot(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: open(t)}
	})
}

// TestCopilotBuildIntoBlobs builds reports into the PostgreSQL blob tables
// on a pool of three connections: several shard files stream at once while
// the day is read, and none may wait for a connection another holds.
func TestCopilotBuildIntoBlobs(t *testing.T) {
	dsn := pgtest.DSN(t)
	db, err := postgres.Open(t.Context(), dsn, postgres.Options{Migrate: true, MaxConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	ent := &usage.Enterprise{Slug: "acme", Name: "Acme"}
	if err := db.CreateEnterprise(ctx, ent); err != nil {
		t.Fatal(err)
	}
	var orgs []*usage.Organization
	for _, l := range []string{"a", "b", "c"} {
		o := &usage.Organization{Login: l, EnterpriseID: ent.ID}
		if err := db.CreateOrganization(ctx, o); err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, o)
	}
	now := time.Now()
	day := copilot.DayOf(now) - 1
	var recs []copilot.Record
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 90; i++ {
		u := &usage.User{Login: fmt.Sprintf("u%d", i)}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := db.SetOrgRole(ctx, orgs[i%3].ID, u.ID, usage.RoleMember); err != nil {
			t.Fatal(err)
		}
		for d := day - 2; d <= day; d++ {
			recs = append(recs, copilotgen.Day(rng, u.ID, u.Login, d, copilotgen.Options{Adoption: 0.5}))
		}
	}
	b := &copilot.Builder{Store: db, Accounts: db, Files: db.Blobs(), Now: func() time.Time { return now }, ShardRows: 7}
	if _, err := copilot.NewService(db, db, func() time.Time { return now }, b).Ingest(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Run(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := db.CopilotReport(ctx, copilot.Scope{Enterprise: true, ID: ent.ID}, copilot.KindUsers28, day)
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, name := range rep.Files {
		f, err := db.Blobs().Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(f)
		f.Close()
		lines += bytes.Count(data, []byte("\n"))
	}
	if lines != 270 || len(rep.Files) != 39 {
		t.Fatalf("users-28-day: %d lines in %d files, want 270 in 39", lines, len(rep.Files))
	}
}
