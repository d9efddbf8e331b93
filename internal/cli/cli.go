// Package cli is ghusage's command line: Run parses the arguments and runs
// a subcommand. main calls Run; tests call it too, with their own
// arguments, environment and streams.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Version is the build version, set by the linker or left as "dev".
var Version = "dev"

// env carries a command's environment and streams.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands lists every subcommand.
func commands() map[string]command {
	return map[string]command{
		"serve":   {"start the server", runServe},
		"migrate": {"bring the store's schema up to date", runMigrate},
		"demo":    {"write the demo dataset into an empty data directory", runDemo},
		"token":   {"create, list and revoke tokens (token help)", runToken},
		"account": {"create enterprises, organizations, users, teams, repositories, apps (account help)", runAccount},
		"version": {"print the version", runVersion},
		"bench":   {"measure performance (bench ratelimit)", runBench},
		"ingest":  {"record API request events from an NDJSON file (ingest help)", runIngest},
		"backup":  {"copy the embedded store consistently while it serves (backup FILE)", runBackup},
		"restore": {"put a backup back into a data directory (restore FILE)", runRestore},
		"webhook": {"print the GitHub webhook set-up for billing (webhook help)", runWebhook},
		"stats":   {"collect server statistics from GitHub Enterprise Server instances now (stats help)", runStats},
		"copilot": {"the Copilot usage metrics policy and report build (copilot help)", runCopilot},
	}
}

// ErrUsage is returned for bad command lines (after the usage was printed).
var ErrUsage = errors.New("usage error")

// Run runs the ghusage command line given by args (without the program name).
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stderr, cmds)
		if len(args) == 0 {
			return ErrUsage
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		printUsage(stderr, cmds)
		return fmt.Errorf("unknown command %q", args[0])
	}
	err := c.run(ctx, e, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func printUsage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("ghusage serves GitHub's enterprise usage REST APIs.\n\nUsage: ghusage <command> [flags]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-9s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun 'ghusage <command> -h' for a command's flags; every flag can also be set with a GHUSAGE_* variable (doc/config.md).\n")
	io.WriteString(w, b.String())
}

func isHelp(arg string) bool { return arg == "help" || arg == "-h" || arg == "--help" }

// printHelp prints a command's help; asked for, it is no error, but a
// command run with no arguments at all is a usage error.
func printHelp(e *env, help string, args []string) error {
	fmt.Fprint(e.stderr, help)
	if len(args) == 0 {
		return ErrUsage
	}
	return nil
}

func runVersion(ctx context.Context, e *env, args []string) error {
	fmt.Fprintf(e.stdout, "ghusage %s\n", Version)
	return nil
}
