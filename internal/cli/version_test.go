package cli

import (
	"bytes"
	"context"
	"io"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/ghusage/ghusage", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-02T07:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := formatVersion("dev", bi), "ghusage v1.2.3 (revision 0123456789ab (modified), committed 2026-12-02T07:00:00Z, go1.26.8)"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// A version set by the linker wins over the module's; a build without VCS stamps says so little.
	bi.Settings, bi.Main.Version = nil, "(devel)"
	if got := formatVersion("1.0.0", bi); got != "ghusage 1.0.0 (go1.26.8)" {
		t.Errorf("got %q", got)
	}
}

func TestVersionFlagAndSuggestions(t *testing.T) {
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Run(context.Background(), args, func(string) string { return "" }, nil, &out, io.Discard)
		return out.String(), err
	}
	for _, a := range []string{"version", "--version", "-version"} {
		if out, err := run(a); err != nil || !strings.HasPrefix(out, "ghusage ") {
			t.Errorf("%s: %q %v", a, out, err)
		}
	}
	for _, c := range []struct{ args, want string }{
		{"serv", `unknown command "serv"; did you mean "serve"?`},
		{"bakup", `did you mean "backup"?`},
		{"frobnicate", `unknown command "frobnicate"`},
		{"bench foo", `unknown benchmark "foo"; choose one of`},
		{"bench ratelimt", `did you mean "ratelimit"?`},
	} {
		_, err := run(strings.Fields(c.args)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := run("frobnicate"); strings.Contains(err.Error(), "did you mean") {
		t.Errorf("suggested something for a word far from every command: %v", err)
	}
}
