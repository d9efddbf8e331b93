package metrics

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// registration finds metric names given to the registry: the first
// string argument of Counter, CounterFunc, Gauge, GaugeFunc or Histogram
// calls (on the same line), and the names metrics.go writes itself.
var registration = regexp.MustCompile(`\.(?:Counter|CounterFunc|Gauge|GaugeFunc|Histogram)\(\s*"(ghusage_[a-z0-9_]+)"|Fprintf\(&b, "(ghusage_[a-z0-9_]+?)(?:_bucket|_sum|_count)?[{ ]`)

// TestEveryMetricIsDocumented fails when a metric registered anywhere in
// the code is missing from doc/operations.md's table.
func TestEveryMetricIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../doc/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range registration.FindAllStringSubmatch(string(b), -1) {
			name := m[1] + m[2]
			found[name] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 5 {
		t.Fatalf("only %d metrics found in the code: %v", len(found), found)
	}
	for name, path := range found {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("metric %s (registered in %s) is not in doc/operations.md", name, path)
		}
	}
}
