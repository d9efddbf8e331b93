package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/testenv"
)

// TestSignedDownloadLinks follows a link as clients do: without a token (or
// with one, which is ignored), with HEAD and Range, then expired and altered.
func TestSignedDownloadLinks(t *testing.T) {
	env := testenv.New(t)
	api := env.Server.API
	var mu sync.Mutex
	now := time.Now()
	api.Signer.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	body := "{\"day\":\"2026-11-30\",\"n\":1}\n{\"day\":\"2026-11-30\",\"n\":2}\n"
	if _, err := api.Blobs.Put(t.Context(), "copilot/acme/2026-11-30/f.ndjson", "application/x-ndjson", strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	link, _ := api.Signer.URL("copilot/acme/2026-11-30/f.ndjson", time.Hour)
	if !strings.HasPrefix(link, env.URL+"/ghusage/v1/files/") {
		t.Fatalf("link %q is not on the server's URL %s", link, env.URL)
	}
	path := strings.TrimPrefix(link, env.URL)

	resp, got := env.Get(t, path, "")
	if resp.StatusCode != 200 || got != body || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("GET without a token: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), got)
	}
	if resp, got := env.Get(t, path, "ghp_not_a_real_token"); resp.StatusCode != 200 || got != body {
		t.Fatalf("GET with a bad token: %d %q (Authorization must be ignored)", resp.StatusCode, got)
	}
	if resp, got := env.Get(t, "/api/v3"+path, ""); resp.StatusCode != 200 || got != body {
		t.Fatalf("GET under /api/v3: %d %q", resp.StatusCode, got)
	}
	if resp, got := env.Do(t, http.MethodHead, path, "", nil); resp.StatusCode != 200 || got != "" || resp.ContentLength != int64(len(body)) {
		t.Fatalf("HEAD: %d, length %d, body %q", resp.StatusCode, resp.ContentLength, got)
	}
	if resp, got := env.Get(t, path, "", "Range", "bytes=1-5"); resp.StatusCode != http.StatusPartialContent || got != body[1:6] {
		t.Fatalf("Range: %d %q", resp.StatusCode, got)
	}

	forbidden := func(what, p string) {
		t.Helper()
		resp, got := env.Get(t, p, "")
		var e struct{ Message, Status string }
		if resp.StatusCode != 403 || json.Unmarshal([]byte(got), &e) != nil || e.Status != "403" || e.Message == "" {
			t.Fatalf("%s: %d %q, want GitHub's 403 body", what, resp.StatusCode, got)
		}
	}
	i := strings.LastIndex(path, "signature=") + len("signature=")
	flip := map[byte]byte{'0': '1'}
	c, ok := flip[path[i]]
	if !ok {
		c = '0'
	}
	forbidden("altered signature", path[:i]+string(c)+path[i+1:])
	forbidden("no signature", path[:strings.Index(path, "&signature=")])
	forbidden("another file", strings.Replace(path, "f.ndjson", "g.ndjson", 1))
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	forbidden("expired", path)

	// A valid link to a file that is gone is 404.
	gone, _ := api.Signer.URL("copilot/acme/missing.ndjson", time.Hour)
	if resp, _ := env.Get(t, strings.TrimPrefix(gone, env.URL), ""); resp.StatusCode != 404 {
		t.Fatalf("missing file: %d, want 404", resp.StatusCode)
	}
}
