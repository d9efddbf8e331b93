package blob_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/blob"
	"github.com/ghusage/ghusage/internal/blob/blobtest"
)

func TestDirConformance(t *testing.T) {
	d, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blobtest.Run(t, d)
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"copilot/acme/2026-11-30/users-1-day-000.ndjson": true,
		"a": true, "a.b_c-d/E9": true,
		"": false, "/a": false, "a/": false, "a//b": false, ".": false, "..": false, "a/../b": false,
		"a\\b": false, "a b": false, "a%2Fb": false, strings.Repeat("a", blob.MaxNameLen+1): false,
	} {
		if got := blob.ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSignerLinks(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s, err := blob.NewSigner("https://ghusage.example.com/", []byte("0123456789abcdef-secret"), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	link, exp := s.URL("copilot/acme/f.ndjson", 0)
	if !exp.Equal(now.Add(blob.DefaultLinkTTL)) {
		t.Fatalf("expires %v, want %v", exp, now.Add(blob.DefaultLinkTTL))
	}
	prefix := "https://ghusage.example.com" + blob.DownloadPath + "copilot/acme/f.ndjson?expires="
	if !strings.HasPrefix(link, prefix) {
		t.Fatalf("link %q does not start with %q", link, prefix)
	}
	q := strings.SplitN(strings.TrimPrefix(link, prefix), "&signature=", 2)
	expires, sig := q[0], q[1]
	if err := s.Verify("copilot/acme/f.ndjson", expires, sig); err != nil {
		t.Fatalf("fresh link refused: %v", err)
	}
	// Every single-character change of the signature is refused.
	for i := range sig {
		c := byte('0')
		if sig[i] == '0' {
			c = '1'
		}
		bad := sig[:i] + string(c) + sig[i+1:]
		if s.Verify("copilot/acme/f.ndjson", expires, bad) == nil {
			t.Fatalf("signature changed at %d accepted", i)
		}
	}
	if s.Verify("copilot/acme/g.ndjson", expires, sig) == nil {
		t.Fatal("another name accepted with the same signature")
	}
	if s.Verify("copilot/acme/f.ndjson", expires+"0", sig) == nil {
		t.Fatal("a later expiry accepted with the same signature")
	}
	other, _ := blob.NewSigner("https://ghusage.example.com", []byte("another-secret-of-16+"), func() time.Time { return now })
	if other.Verify("copilot/acme/f.ndjson", expires, sig) == nil {
		t.Fatal("a link signed with another secret accepted")
	}
	now = exp.Add(-time.Second)
	if err := s.Verify("copilot/acme/f.ndjson", expires, sig); err != nil {
		t.Fatalf("link refused a second before expiry: %v", err)
	}
	now = exp
	if s.Verify("copilot/acme/f.ndjson", expires, sig) == nil {
		t.Fatal("expired link accepted")
	}
	for _, bad := range [][2]string{{"x", sig}, {expires, "zz"}, {"", ""}} {
		if s.Verify("copilot/acme/f.ndjson", bad[0], bad[1]) == nil {
			t.Fatalf("malformed %q accepted", bad)
		}
	}
}

func TestNewSignerChecks(t *testing.T) {
	key := []byte("0123456789abcdef")
	for _, u := range []string{"", "ghusage.example.com", "ftp://x", "https://", "https://x/?a=1"} {
		if _, err := blob.NewSigner(u, key, nil); err == nil {
			t.Errorf("NewSigner(%q) accepted", u)
		}
	}
	if _, err := blob.NewSigner("http://127.0.0.1:8080", []byte("short"), nil); err == nil {
		t.Error("a short secret accepted")
	}
}

func TestDirIsMadeByTheFirstPut(t *testing.T) {
	root := t.TempDir() + "/files"
	d, err := blob.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if names, err := d.List(t.Context(), ""); err != nil || len(names) != 0 {
		t.Fatalf("List before any Put = %q, %v", names, err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("NewDir made %s: %v", root, err)
	}
	if _, err := d.Put(t.Context(), "a/b.csv", "text/csv", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
}
