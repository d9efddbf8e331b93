package storetest

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/usage"
)

// RunServerStats runs the server statistics conformance cases against
// backends whose Store also implements serverstats.Store (others are skipped).
func RunServerStats(t *testing.T, open func(t *testing.T) Backend) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s serverstats.Store)
	}{
		{"RoundTrip", testServerStatsRoundTrip},
		{"ListWindowAndOrder", testServerStatsList},
		{"SameDayReplaces", testServerStatsSameDayReplaces},
		{"ServerBelongsToOneAccount", testServerStatsOneAccount},
		{"Latest", testServerStatsLatest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := open(t)
			ss, ok := b.Store.(serverstats.Store)
			if !ok {
				t.Skip("backend does not implement serverstats.Store")
			}
			c.fn(t, ss)
		})
	}
}

var statsDay0 = time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC)

func i64(v int64) *int64 { return &v }

// statsSnap is a snapshot of server on day d (days after statsDay0) whose
// counts grow with n.
func statsSnap(server, account string, d int, n int64) serverstats.Snapshot {
	return serverstats.Snapshot{
		Account: account, ServerID: server, CollectionDate: statsDay0.AddDate(0, 0, d),
		SchemaVersion: "20230306", GHESVersion: "3.14.2", HostName: server + ".example.com",
		GitHubConnect: &serverstats.GitHubConnect{FeaturesEnabled: []string{"license_usage_sync"}},
		GHEStats: &serverstats.GHEStats{
			Repos: &serverstats.RepoStats{TotalRepos: 10 + n, RootRepos: 8 + n, ForkRepos: 2, OrgRepos: 7, TotalPushes: 100 * n, TotalWikis: 1},
			Users: &serverstats.UserStats{TotalUsers: 50 + n, AdminUsers: 2, SuspendedUsers: n % 3},
		},
		DormantUsers:     &serverstats.DormantUsers{TotalDormantUsers: i64(n), DormancyThreshold: "90 days"},
		SecurityProducts: &serverstats.SecurityProducts{TotalRepos: i64(10 + n), ActiveCommitters: i64(5)},
	}
}

func putStats(t *testing.T, s serverstats.Store, snaps ...serverstats.Snapshot) int {
	t.Helper()
	n, err := s.ServerStatsPut(context.Background(), snaps)
	if err != nil {
		t.Fatalf("ServerStatsPut: %v", err)
	}
	return n
}

func listStats(t *testing.T, s serverstats.Store, account string, from, to int) []serverstats.Snapshot {
	t.Helper()
	w := serverstats.Window{Start: serverstats.DayOf(statsDay0.AddDate(0, 0, from)), End: serverstats.DayOf(statsDay0.AddDate(0, 0, to))}
	items, err := s.ServerStatsList(context.Background(), account, w)
	if err != nil {
		t.Fatalf("ServerStatsList: %v", err)
	}
	out := make([]serverstats.Snapshot, len(items))
	for i, it := range items {
		if out[i], err = serverstats.UnmarshalStored(it, nil, account); err != nil {
			t.Fatalf("stored item %d does not decode: %v\n%s", i, err, it)
		}
		// The bytes stored are the bytes served: MarshalItem's, unchanged.
		if again, _ := out[i].MarshalItem(); string(again) != string(it) {
			t.Fatalf("stored item %d came back changed:\ngot  %s\nwant %s", i, it, again)
		}
	}
	return out
}

// listed is what ServerStatsList gives of want: its item, no security products.
func listed(want serverstats.Snapshot) serverstats.Snapshot {
	want.SecurityProducts = nil
	return want
}

func sameSnapshot(t *testing.T, what string, got, want serverstats.Snapshot) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) || got.Account != want.Account || !got.CollectionDate.Equal(want.CollectionDate) {
		t.Fatalf("%s:\ngot  %s (account %q)\nwant %s (account %q)", what, g, got.Account, w, want.Account)
	}
}

// testServerStatsRoundTrip stores a snapshot with every kind of section
// and one with most absent: each comes back as it went in, absent
// sections still absent (nil), the opaque advisory section kept.
func testServerStatsRoundTrip(t *testing.T, s serverstats.Store) {
	full := statsSnap("srv-a", "acme", 0, 4)
	full.ActionsStats = &serverstats.ActionsStats{NumberOfReposUsingActions: i64(0), PercentageOfReposUsingActions: "0"}
	yes := true
	full.PackagesStats = &serverstats.PackagesStats{RegistryEnabled: &yes, Ecosystems: []serverstats.Ecosystem{
		{Name: "npm", Enabled: "TRUE", PublishedPackagesCount: i64(3), DailyDownloadCount: i64(0)}}}
	full.AdvisoryDBStats = json.RawMessage(`{"last_sync":"2026-03-01T00:00:00Z","advisories":12}`)
	bare := serverstats.Snapshot{Account: "acme", ServerID: "srv-b", CollectionDate: statsDay0}
	putStats(t, s, full, bare)
	got := listStats(t, s, "acme", 0, 0)
	if len(got) != 2 {
		t.Fatalf("got %d snapshots, want 2", len(got))
	}
	sameSnapshot(t, "full snapshot", got[0], listed(full))
	sameSnapshot(t, "bare snapshot", got[1], bare)
	if b := got[1]; b.GHEStats != nil || b.SecurityProducts != nil || b.DormantUsers != nil || b.AdvisoryDBStats != nil {
		t.Fatalf("absent sections came back present: %+v", b)
	}
	// Latest gives the whole snapshot, security products included, and
	// none where there were none.
	latest, err := s.ServerStatsLatest(context.Background(), "")
	must(t, "latest", err)
	if len(latest) != 2 {
		t.Fatalf("latest: %d snapshots, want 2", len(latest))
	}
	sameSnapshot(t, "latest full snapshot", latest[0], full)
	sameSnapshot(t, "latest bare snapshot", latest[1], bare)
	if got[0].ActionsStats.NumberOfReposUsingActions == nil || *got[0].ActionsStats.NumberOfReposUsingActions != 0 {
		t.Fatalf("a zero count came back absent: %+v", got[0].ActionsStats)
	}
}

// testServerStatsList checks the window is inclusive at both ends, items
// come by day then server id, and other accounts' servers are not listed.
func testServerStatsList(t *testing.T, s serverstats.Store) {
	var all []serverstats.Snapshot
	for d := 0; d < 10; d++ {
		all = append(all, statsSnap("srv-b", "acme", d, int64(d)), statsSnap("srv-a", "acme", d, int64(d)))
	}
	all = append(all, statsSnap("srv-web", "acme-web", 3, 1))
	putStats(t, s, all...)
	got := listStats(t, s, "acme", 3, 5)
	if len(got) != 6 {
		t.Fatalf("days 3..5 of two servers: got %d snapshots, want 6", len(got))
	}
	for i, g := range got {
		wantDay := serverstats.DayOf(statsDay0.AddDate(0, 0, 3+i/2))
		wantServer := []string{"srv-a", "srv-b"}[i%2]
		if g.Day() != wantDay || g.ServerID != wantServer || g.Account != "acme" {
			t.Fatalf("item %d = %s %s (%s), want %s %s", i, g.Day(), g.ServerID, g.Account, wantDay, wantServer)
		}
	}
	if got := listStats(t, s, "acme-web", 0, 9); len(got) != 1 || got[0].ServerID != "srv-web" {
		t.Fatalf("acme-web lists %d snapshots, want its one", len(got))
	}
	if got := listStats(t, s, "acme", 10, 20); len(got) != 0 {
		t.Fatalf("a window after the last day lists %d snapshots", len(got))
	}
}

// testServerStatsSameDayReplaces uploads a server's day twice (another
// time of the same UTC day): one snapshot stays, the second.
func testServerStatsSameDayReplaces(t *testing.T, s serverstats.Store) {
	first := statsSnap("srv-a", "acme", 0, 1)
	first.CollectionDate = statsDay0.Add(-20 * time.Hour)
	if n := putStats(t, s, first); n != 0 {
		t.Fatalf("first upload replaced %d", n)
	}
	second := statsSnap("srv-a", "acme", 0, 7)
	if n := putStats(t, s, second, statsSnap("srv-a", "acme", 1, 8)); n != 1 {
		t.Fatalf("second upload of the day replaced %d, want 1", n)
	}
	got := listStats(t, s, "acme", 0, 0)
	if len(got) != 1 {
		t.Fatalf("%d snapshots of one server and day, want 1", len(got))
	}
	sameSnapshot(t, "the day's snapshot", got[0], listed(second))
}

// testServerStatsOneAccount checks a server stays with its first account:
// a batch with a snapshot of it for another account fails as a conflict
// and stores none of its snapshots.
func testServerStatsOneAccount(t *testing.T, s serverstats.Store) {
	putStats(t, s, statsSnap("srv-a", "acme", 0, 1))
	_, err := s.ServerStatsPut(context.Background(), []serverstats.Snapshot{
		statsSnap("srv-new", "acme-web", 0, 1), statsSnap("srv-a", "acme-web", 1, 2)})
	wantKind(t, "snapshot of another account's server", err, usage.KindConflict)
	if got := listStats(t, s, "acme-web", 0, 9); len(got) != 0 {
		t.Fatalf("a failed batch stored %d snapshots", len(got))
	}
	latest, err := s.ServerStatsLatest(context.Background(), "srv-new")
	must(t, "latest", err)
	if len(latest) != 0 {
		t.Fatal("a failed batch stored srv-new")
	}
}

// testServerStatsLatest checks the latest snapshot of each server (whatever
// the upload order), across accounts, and narrowing to one server.
func testServerStatsLatest(t *testing.T, s serverstats.Store) {
	putStats(t, s, statsSnap("srv-b", "acme", 5, 50), statsSnap("srv-a", "acme", 2, 20))
	putStats(t, s, statsSnap("srv-a", "acme", 7, 70), statsSnap("srv-b", "acme", 1, 10), statsSnap("srv-c", "acme-web", 3, 30))
	latest, err := s.ServerStatsLatest(context.Background(), "")
	must(t, "latest", err)
	var got []string
	for _, l := range latest {
		got = append(got, l.ServerID+"@"+string(l.Day()))
	}
	want := []string{"srv-a@" + string(serverstats.DayOf(statsDay0.AddDate(0, 0, 7))),
		"srv-b@" + string(serverstats.DayOf(statsDay0.AddDate(0, 0, 5))),
		"srv-c@" + string(serverstats.DayOf(statsDay0.AddDate(0, 0, 3)))}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("latest = %v, want %v", got, want)
	}
	one, err := s.ServerStatsLatest(context.Background(), "srv-b")
	must(t, "latest of srv-b", err)
	if len(one) != 1 || one[0].GHEStats.Repos.TotalRepos != 60 {
		t.Fatalf("latest of srv-b = %+v, want its day-5 snapshot", one)
	}
	none, err := s.ServerStatsLatest(context.Background(), "srv-unknown")
	must(t, "latest of an unknown server", err)
	if len(none) != 0 {
		t.Fatalf("an unknown server has %d snapshots", len(none))
	}
}
