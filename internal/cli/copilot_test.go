package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	return out.String() + errOut.String(), err
}

// TestCopilotIngestPolicyBuild ingests a file into the local store (all or
// nothing), sets the policy and builds the reports from the command line.
func TestCopilotIngestPolicyBuild(t *testing.T) {
	dir := t.TempDir()
	d := "--data-dir=" + dir
	for _, args := range [][]string{{"account", "create-enterprise", "acme", d}, {"account", "create-org", "acme-web", "--enterprise", "acme", d},
		{"account", "create-user", "mona", d}, {"account", "set-role", "--user", "mona", "--org", "acme-web", "--role", "member", d}} {
		if out, err := runCLI(t, args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	day := time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly)
	line := fmt.Sprintf(`{"day":%q,"user_id":1,"user_login":"mona","user_initiated_interaction_count":3,"code_generation_activity_count":4}`, day)
	file := filepath.Join(dir, "usage.ndjson")
	os.WriteFile(file, []byte(line+"\n"+strings.Replace(line, `"user_id":1`, `"user_id":"one"`, 1)+"\n"), 0o600)
	out, err := runCLI(t, "ingest", "copilot-usage", file, d)
	if err == nil || !strings.Contains(err.Error(), "line 2: user_id") {
		t.Fatalf("a file with a bad line 2: %v %s", err, out)
	}
	os.WriteFile(file, []byte(line+"\n"), 0o600)
	if out, err := runCLI(t, "ingest", "copilot-usage", file, d); err != nil || !strings.Contains(out, "1 lines read: 1 user-days recorded") {
		t.Fatalf("ingest: %v %s", err, out)
	}
	if out, err := runCLI(t, "ingest", "copilot-usage", file, d); err != nil || !strings.Contains(out, "1 unchanged") {
		t.Fatalf("ingest again: %v %s", err, out)
	}
	if out, _ := runCLI(t, "copilot", "policy", "--org", "acme-web", d); !strings.Contains(out, "disabled (never set)") {
		t.Fatalf("default policy: %s", out)
	}
	if out, err := runCLI(t, "copilot", "policy", "--enterprise", "acme", "enabled", d); err != nil || !strings.Contains(out, "policy: enabled") {
		t.Fatalf("set policy: %v %s", err, out)
	}
	if _, err := runCLI(t, "copilot", "policy", "--org", "acme-web", "unconfigured", d); err == nil {
		t.Fatal("an organization's policy accepted unconfigured")
	}
	out, err = runCLI(t, "copilot", "build", "--settle", "0s", d)
	if err != nil || !strings.Contains(out, "built 1 days") {
		t.Fatalf("build: %v %s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "files", "copilot", "orgs", "*", day, "*", "users-1-day-000.ndjson"))
	if len(files) != 1 {
		t.Fatalf("users-1-day file of %s: %v", day, files)
	}
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), `"user_login":"mona","user_initiated_interaction_count":3`) {
		t.Fatalf("file %s", b)
	}
}

// TestBenchCopilotRuns runs the benchmark on a tiny dataset.
func TestBenchCopilotRuns(t *testing.T) {
	out, err := runCLI(t, "bench", "copilot", "--users", "60", "--window-users", "10", "--rounds", "1", "--shard-rows", "25", "--dir", t.TempDir())
	if err != nil || !strings.Contains(out, "1-day files, round 1") || !strings.Contains(out, "enterprise users-1-day: 60 records in 3 files") {
		t.Fatalf("bench copilot: %v\n%s", err, out)
	}
}
