package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/cli"
	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/testenv"
)

func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cli.Run(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errb)
	return out.String() + errb.String(), err
}

func cliStatsItem(server, day string, repos int) string {
	return fmt.Sprintf(`{"server_id":%q,"collection_date":"%sT23:00:00Z","ghe_stats":{"repos":{"total_repos":%d,"root_repos":%d,"fork_repos":0,"org_repos":1,"total_pushes":9,"total_wikis":0}}}`,
		server, day, repos, repos)
}

func listSnapshots(t *testing.T, dir, account string) []serverstats.Snapshot {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "ghusage.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	items, err := st.ServerStatsList(context.Background(), account, serverstats.Window{Start: serverstats.DayOf(now).AddDays(-30), End: serverstats.DayOf(now)})
	if err != nil {
		t.Fatal(err)
	}
	snaps := make([]serverstats.Snapshot, len(items))
	for i, it := range items {
		if snaps[i], err = serverstats.UnmarshalStored(it, nil, account); err != nil {
			t.Fatal(err)
		}
	}
	return snaps
}

// TestIngestServerStatisticsCommand uploads a file into the local store
// twice (the second replaces the day's snapshots), an array and an NDJSON
// stream from standard input; a bad file is refused naming the field, and
// nothing of it is stored.
func TestIngestServerStatisticsCommand(t *testing.T) {
	dir := t.TempDir()
	if out, err := runCLI(t, "", "account", "create-enterprise", "acme", "--data-dir", dir); err != nil {
		t.Fatalf("create-enterprise: %v %s", err, out)
	}
	today := time.Now().UTC().Format("2006-01-02")
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	file := filepath.Join(t.TempDir(), "stats.json")
	os.WriteFile(file, []byte("["+cliStatsItem("s1", yesterday, 5)+","+cliStatsItem("s1", today, 6)+"]"), 0o600)
	out, err := runCLI(t, "", "ingest", "server-statistics", "--account", "acme", "--data-dir", dir, file)
	if err != nil || !strings.Contains(out, "2 snapshots read: 2 stored, 0 replaced") {
		t.Fatalf("first upload: %v %s", err, out)
	}
	out, err = runCLI(t, cliStatsItem("s1", today, 7)+"\n"+cliStatsItem("s2", today, 1)+"\n", "ingest", "server-statistics", "--account", "ACME", "--data-dir", dir, "-")
	if err != nil || !strings.Contains(out, "2 snapshots read: 2 stored, 1 replaced") {
		t.Fatalf("NDJSON from stdin: %v %s", err, out)
	}
	snaps := listSnapshots(t, dir, "acme")
	if len(snaps) != 3 || snaps[1].ServerID != "s1" || snaps[1].GHEStats.Repos.TotalRepos != 7 {
		t.Fatalf("stored: %+v", snaps)
	}
	bad := strings.Replace(cliStatsItem("s3", today, 1), `"total_pushes":9`, `"total_pushes":-9`, 1)
	out, err = runCLI(t, bad, "ingest", "server-statistics", "--account", "acme", "--data-dir", dir, "-")
	if err == nil || !strings.Contains(err.Error(), "ghe_stats.repos.total_pushes must not be negative") {
		t.Fatalf("negative count: %v %s", err, out)
	}
	if _, err := runCLI(t, cliStatsItem("s3", today, 1), "ingest", "server-statistics", "--data-dir", dir, "-"); err == nil || !strings.Contains(err.Error(), "--account") {
		t.Fatalf("no --account: %v", err)
	}
	if n := len(listSnapshots(t, dir, "acme")); n != 3 {
		t.Fatalf("refused uploads stored something: %d snapshots", n)
	}
}

// TestServerStatsCommandsOverHTTP posts an upload with --url, then has
// `ghusage stats collect` read that server as a GHES instance into a local
// store: the collected ghe_stats equal the server's /enterprise/stats/all.
func TestServerStatsCommandsOverHTTP(t *testing.T) {
	peer := testenv.New(t)
	today := time.Now().UTC().Format("2006-01-02")
	out, err := runCLI(t, "["+cliStatsItem("p1", today, 40)+","+cliStatsItem("p2", today, 2)+"]",
		"ingest", "server-statistics", "--url", peer.URL, "--token", peer.AdminToken, "--account", "acme", "-")
	if err != nil || !strings.Contains(out, "2 stored") {
		t.Fatalf("upload over HTTP: %v %s", err, out)
	}
	resp, all := peer.Get(t, "/enterprise/stats/all", peer.AdminToken)
	if resp.StatusCode != http.StatusOK || !strings.Contains(all, `"total_repos":42`) {
		t.Fatalf("peer stats/all: %d %s", resp.StatusCode, all)
	}

	dir := t.TempDir()
	runCLI(t, "", "account", "create-org", "acme-web", "--data-dir", dir)
	instances := filepath.Join(t.TempDir(), "instances.json")
	os.WriteFile(instances, []byte(fmt.Sprintf(`[{"url":%q,"token":%q,"account":"acme-web","server_id":"peer-1"}]`, peer.URL, peer.AdminToken)), 0o600)
	out, err = runCLI(t, "", "stats", "collect", "--data-dir", dir, "--stats-instances", instances)
	if err != nil || !strings.Contains(out, "1 of 1 instances collected") || !strings.Contains(out, "server statistics collected") {
		t.Fatalf("stats collect: %v %s", err, out)
	}
	if strings.Contains(out, peer.AdminToken) {
		t.Fatalf("stats collect printed the token: %s", out)
	}
	snaps := listSnapshots(t, dir, "acme-web")
	if len(snaps) != 1 || snaps[0].ServerID != "peer-1" || snaps[0].GHEStats.Repos.TotalRepos != 42 || snaps[0].GHEStats.Users.TotalUsers != 0 {
		t.Fatalf("collected: %+v", snaps)
	}
	// An instance that refuses the token fails the command, naming it.
	os.WriteFile(instances, []byte(fmt.Sprintf(`[{"url":%q,"token":"ghp_000000000000000000000000000000000000","account":"acme-web"}]`, peer.URL)), 0o600)
	if out, err := runCLI(t, "", "stats", "collect", "--data-dir", dir, "--stats-instances", instances); err == nil || !strings.Contains(err.Error(), peer.URL) {
		t.Fatalf("bad token: %v %s", err, out)
	}
}
