package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// envRegistrations finds, in the command line's source, every flag
// registered through the GHUSAGE_*-reading helpers and every variable read
// directly with getenv.
var envRegistrations = []*regexp.Regexp{
	regexp.MustCompile(`\bf\.(?:stringVar|boolVar|intVar|int64Var|uint64Var|float64Var|durationVar)\(\s*&[^,]+,\s*"([a-z0-9-]+)"`),
	regexp.MustCompile(`\b(?:funcVar|boolFuncVar)\(\s*f,\s*"([a-z0-9-]+)"`),
	regexp.MustCompile(`getenv\("(GHUSAGE_[A-Z0-9_]+)"\)`),
}

// TestEveryVariableIsDocumented fails when a GHUSAGE_* variable that any
// subcommand reads (serve's, the ingest client's, bench's…) is missing
// from doc/config.md.
func TestEveryVariableIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../doc/config.md")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.go")
	seen := map[string]string{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range envRegistrations {
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				v := m[1]
				if !strings.HasPrefix(v, "GHUSAGE_") {
					v = EnvName(v)
				}
				seen[v] = file
			}
		}
	}
	if len(seen) < 40 {
		t.Fatalf("only %d variables found; did the helpers change names?", len(seen))
	}
	for v, file := range seen {
		if !strings.Contains(string(doc), "`"+v+"`") {
			t.Errorf("%s (read in %s) is not in doc/config.md", v, file)
		}
	}
}
