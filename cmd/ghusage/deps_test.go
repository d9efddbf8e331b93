package main

import (
	"os/exec"
	"strings"
	"testing"
)

// allowedModules are the modules the ghusage binary may link, each there
// for one job. Adding one means adding it here, on purpose.
var allowedModules = map[string]string{
	"github.com/ghusage/ghusage":       "this project",
	"modernc.org/sqlite":               "the embedded store, pure Go",
	"modernc.org/libc":                 "modernc.org/sqlite's C runtime",
	"modernc.org/mathutil":             "modernc.org/sqlite",
	"modernc.org/memory":               "modernc.org/sqlite",
	"github.com/dustin/go-humanize":    "modernc.org/sqlite",
	"github.com/google/uuid":           "modernc.org/sqlite",
	"github.com/remyoudompheng/bigfft": "modernc.org/sqlite",
	"github.com/ncruces/go-strftime":   "modernc.org/sqlite",
	"github.com/mattn/go-isatty":       "modernc.org/sqlite",
	"golang.org/x/sys":                 "modernc.org/sqlite, go-redis",
	"github.com/jackc/pgx/v5":          "the PostgreSQL store",
	"github.com/jackc/pgpassfile":      "pgx",
	"github.com/jackc/pgservicefile":   "pgx",
	"github.com/jackc/puddle/v2":       "pgx's pool",
	"golang.org/x/sync":                "pgx",
	"golang.org/x/text":                "pgx",
	"github.com/redis/go-redis/v9":     "shared rate-limit counters",
	"github.com/cespare/xxhash/v2":     "go-redis",
	"go.uber.org/atomic":               "go-redis",
	"github.com/dgryski/go-rendezvous": "go-redis",
}

// TestBinaryDependencies fails when the binary links a module that is not
// on the allowlist, or links the testing package.
func TestBinaryDependencies(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, mod, _ := strings.Cut(line, " ")
		if pkg == "testing" || strings.HasSuffix(pkg, "/httptest") {
			t.Errorf("the binary links %s", pkg)
		}
		if mod != "" {
			if _, ok := allowedModules[mod]; !ok {
				t.Errorf("the binary links module %s, which is not on the allowlist in deps_test.go", mod)
			}
		}
	}
}
