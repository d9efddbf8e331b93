package cli_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/ghusage/ghusage/internal/cli"
)

func TestAccountCommands(t *testing.T) {
	dir := t.TempDir()
	d := "--data-dir=" + dir
	run(t, "account", "create-enterprise", d, "globex", "--name", "Globex")
	run(t, "account", "create-org", d, "globex-eng", "--enterprise", "globex")
	run(t, "account", "create-user", d, "hank")
	run(t, "account", "set-role", d, "--user", "hank", "--org", "globex-eng", "--role", "admin")
	run(t, "account", "set-role", d, "--user", "hank", "--enterprise", "globex", "--role", "owner")
	run(t, "account", "create-team", d, "--org", "globex-eng", "sre")
	run(t, "account", "add-team-member", d, "--org", "globex-eng", "--team", "sre", "--user", "hank")
	run(t, "account", "create-repo", d, "globex-eng/api")
	run(t, "account", "create-app", d, "globex-ci", "--permissions", "organization_api_insights=read")
	run(t, "account", "create-installation", d, "--app", "1", "--account", "globex-eng", "--repositories", "12")
	run(t, "account", "create-oauth-app", d, "Globex Dash")
	run(t, "account", "create-enterprise-team", d, "--enterprise", "globex", "--members", "hank", "platform")
	out := run(t, "account", "list", d)
	for _, want := range []string{"enterprise 1 globex", "organization 1 globex-eng", "users: 1", "app 1 globex-ci",
		"installation 1 app=1 account=globex-eng", "oauth app 1 Globex Dash", "enterprise team 1 globex/platform members=hank"} {
		if !strings.Contains(out, want) {
			t.Errorf("account list lacks %q:\n%s", want, out)
		}
	}
	// Tokens of every kind can be made for these accounts.
	for _, args := range [][]string{
		{"--user", "hank", "--scopes", "read:org"},
		{"--user", "hank", "--type", "fine-grained", "--owner", "globex-eng", "--permissions", "organization_api_insights=read"},
		{"--user", "hank", "--type", "oauth", "--oauth-app", "1"},
		{"--user", "hank", "--type", "user-to-server", "--app", "1"},
		{"--type", "installation", "--installation", "1"},
	} {
		tok := strings.TrimSpace(run(t, append([]string{"token", "create", d}, args...)...))
		if tok == "" || strings.ContainsAny(tok, " \n") {
			t.Errorf("token create %v printed %q", args, tok)
		}
	}
	// Duplicates and dangling references are refused with a message.
	for _, args := range [][]string{
		{"account", "create-org", d, "GLOBEX-ENG"},
		{"account", "create-org", d, "x", "--enterprise", "nope"},
		{"account", "set-role", d, "--user", "hank", "--org", "globex-eng", "--role", "owner"},
		{"account", "create-repo", d, "no-slash"},
		{"account", "create-enterprise-team", d, "--enterprise", "globex", "--members", "nobody", "ghosts"},
		{"account", "create-enterprise-team", d, "--enterprise", "nope", "x"},
		{"token", "create", d, "--user", "hank", "--type", "fine-grained"},
		{"token", "create", d, "--user", "hank", "--permissions", "contents=maybe"},
		{"token", "create", d, "--user", "hank", "--scopes", "read:orgs"},
		{"token", "create", d, "--user", "hank", "--expires", "-5h"},
	} {
		if err := cli.Run(context.Background(), args, func(string) string { return "" }, nil, io.Discard, io.Discard); err == nil {
			t.Errorf("ghusage %s succeeded", strings.Join(args, " "))
		}
	}
}
