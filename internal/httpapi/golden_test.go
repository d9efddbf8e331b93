package httpapi_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update rewrites golden files: go test ./internal/httpapi -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// checkGolden compares got with testdata/name, or writes it there with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs from the golden file:\ngot  %s\nwant %s\n(run with -update if the change is intended)", name, got, want)
	}
}
