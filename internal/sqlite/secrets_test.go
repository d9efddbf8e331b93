package sqlite_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/ghusage/ghusage/internal/sqlite"
)

func TestSharedSecretSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ghusage.db")
	var got [][]byte
	for range 2 {
		db, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v, err := db.SharedSecret(t.Context(), "links", 32)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got[0]) != 32 || !bytes.Equal(got[0], got[1]) {
		t.Fatalf("secret changed across reopen: %x, %x", got[0], got[1])
	}
}
