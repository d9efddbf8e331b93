package demo_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/sqlite"
)

func seedStats(t *testing.T, seed uint64, now time.Time) []serverstats.Snapshot {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := demo.SeedServerStats(context.Background(), st, "acme", seed, now); err != nil {
		t.Fatal(err)
	}
	w := serverstats.Window{Start: serverstats.DayOf(now).AddDays(-400), End: serverstats.DayOf(now)}
	items, err := st.ServerStatsList(context.Background(), "acme", w)
	if err != nil {
		t.Fatal(err)
	}
	snaps := make([]serverstats.Snapshot, len(items))
	for i, it := range items {
		if snaps[i], err = serverstats.UnmarshalStored(it, nil, "acme"); err != nil {
			t.Fatal(err)
		}
	}
	return snaps
}

// TestServerStatsDemoHasShape checks the demo history: 90 days of two
// servers ending today, every snapshot valid as an upload and internally
// consistent, users and repositories growing, one version upgrade and one
// dormant-user clean-up per server, and the same seed giving the same data.
func TestServerStatsDemoHasShape(t *testing.T) {
	now := time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
	snaps := seedStats(t, 1, now)
	if len(snaps) != 2*demo.ServerStatsDays {
		t.Fatalf("%d snapshots, want %d", len(snaps), 2*demo.ServerStatsDays)
	}
	if last := snaps[len(snaps)-1]; last.Day() != serverstats.DayOf(now) || last.CollectionDate.After(now) {
		t.Fatalf("the last snapshot is of %s (%v), want today, not after now", last.Day(), last.CollectionDate)
	}
	byServer := map[string][]serverstats.Snapshot{}
	for _, s := range snaps {
		doc, _ := s.MarshalDoc()
		if _, err := serverstats.DecodeUpload(bytes.NewReader(doc), now); err != nil {
			t.Fatalf("a demo snapshot is not a valid upload: %v\n%s", err, doc)
		}
		g := s.GHEStats
		if g.Issues.OpenIssues+g.Issues.ClosedIssues != g.Issues.TotalIssues || g.Repos.RootRepos+g.Repos.ForkRepos != g.Repos.TotalRepos ||
			g.Gists.PrivateGists+g.Gists.PublicGists != g.Gists.TotalGists || g.Issues.OpenIssues < 0 {
			t.Fatalf("inconsistent totals on %s: %+v %+v %+v", s.Day(), g.Issues, g.Repos, g.Gists)
		}
		byServer[s.ServerID] = append(byServer[s.ServerID], s)
	}
	if len(byServer) != 2 {
		t.Fatalf("%d servers, want 2", len(byServer))
	}
	for id, h := range byServer {
		first, last := h[0].GHEStats, h[len(h)-1].GHEStats
		if last.Users.TotalUsers <= first.Users.TotalUsers || last.Repos.TotalRepos <= first.Repos.TotalRepos ||
			last.Repos.TotalPushes <= first.Repos.TotalPushes {
			t.Errorf("%s does not grow: users %d→%d, repos %d→%d", id, first.Users.TotalUsers, last.Users.TotalUsers,
				first.Repos.TotalRepos, last.Repos.TotalRepos)
		}
		upgrades, cleanups := 0, 0
		for i := 1; i < len(h); i++ {
			if h[i].GHESVersion != h[i-1].GHESVersion {
				upgrades++
			}
			before, after := *h[i-1].DormantUsers.TotalDormantUsers, *h[i].DormantUsers.TotalDormantUsers
			if after < before/2 && h[i].GHEStats.Users.SuspendedUsers > h[i-1].GHEStats.Users.SuspendedUsers {
				cleanups++
			}
		}
		if upgrades != 1 || cleanups != 1 {
			t.Errorf("%s: %d version upgrades and %d dormant-user clean-ups, want one of each", id, upgrades, cleanups)
		}
	}
	again := seedStats(t, 1, now)
	for i := range snaps {
		a, _ := snaps[i].MarshalDoc()
		b, _ := again[i].MarshalDoc()
		if !bytes.Equal(a, b) {
			t.Fatalf("seed 1 twice: snapshot %d differs", i)
		}
	}
}
