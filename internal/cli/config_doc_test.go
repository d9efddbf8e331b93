package cli

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/ghusage/ghusage/internal/server"
)

// TestEveryFlagIsDocumented fails when a configuration flag or its
// GHUSAGE_* variable is missing from doc/config.md.
func TestEveryFlagIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../doc/config.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	var o serveOptions
	f := newFlagSet("serve", func(string) string { return "" }, io.Discard)
	serveFlags(f, &cfg, &o)
	n := 0
	f.VisitAll(func(fl *flag.Flag) {
		n++
		for _, want := range []string{"`--" + fl.Name + "`", "`" + EnvName(fl.Name) + "`"} {
			if !strings.Contains(string(doc), want) {
				t.Errorf("doc/config.md does not mention %s", want)
			}
		}
	})
	if n < 10 {
		t.Fatalf("only %d serve flags found", n)
	}
}
