package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/cli"
)

// started is a ghusage serve running in-process through cli.Run.
type started struct {
	url, token string
	done       chan error
	cancel     context.CancelFunc
}

// startServe runs `ghusage serve` with args on port 0 and waits for it to
// print its URL (and, with --demo, the admin token).
func startServe(t *testing.T, env map[string]string, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &started{done: make(chan error, 1), cancel: cancel}
	go func() {
		err := cli.Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, nil, pw, io.Discard)
		pw.Close()
		s.done <- err
	}()
	sc := bufio.NewScanner(pr)
	demo := false
	for _, a := range args {
		demo = demo || a == "--demo"
	}
	deadline := time.After(60 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, pr)
	}()
	for s.url == "" || (demo && s.token == "") {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited before it was ready: %v", <-s.done)
			}
			if _, after, ok := strings.Cut(line, "listening on "); ok {
				s.url = strings.Fields(after)[0]
			}
			if after, ok := strings.CutPrefix(line, "Admin token: "); ok && strings.HasPrefix(after, "ghp_") {
				s.token = after
			}
		case <-deadline:
			t.Fatal("serve did not print its URL and token within 60s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("serve returned %v after shutdown", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30s of cancellation")
		}
	})
	return s
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// run runs a ghusage command and returns its standard output.
func run(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := cli.Run(context.Background(), args, func(string) string { return "" }, nil, &out, &errb); err != nil {
		t.Fatalf("ghusage %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func TestServeDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, nil, "--demo", "--data-dir", dir, "--token-cache-ttl", "0")

	if code, body := get(t, s.url+"/user", s.token); code != 200 || !strings.Contains(body, "ghusage-admin") {
		t.Fatalf("admin token: %d %s", code, body)
	}
	if code, body := get(t, s.url+"/api/v3/user", ""); code != 401 || !strings.Contains(body, "Requires authentication") {
		t.Fatalf("no token: %d %s", code, body)
	}
	if code, _ := get(t, s.url+"/api/v3/nothing/here", s.token); code != 404 {
		t.Fatalf("unknown route: %d", code)
	}

	// A token made by the CLI works against the running server, and stops
	// working once revoked.
	tok := strings.TrimSpace(run(t, "token", "create", "--data-dir", dir, "--user", "ada-dev0", "--scopes", "read:org", "--note", "e2e"))
	if !strings.HasPrefix(tok, "ghp_") {
		// the demo's first user login depends on the seed; find it instead
		t.Fatalf("token create printed %q", tok)
	}
	if code, body := get(t, s.url+"/user", tok); code != 200 {
		t.Fatalf("new token: %d %s", code, body)
	}
	var id string
	for _, line := range strings.Split(run(t, "token", "list", "--data-dir", dir), "\n") {
		if strings.Contains(line, tok[len(tok)-8:]) {
			id = strings.Fields(line)[0]
		}
	}
	if id == "" {
		t.Fatal("token list does not show the new token")
	}
	run(t, "token", "revoke", "--data-dir", dir, id)
	if code, body := get(t, s.url+"/user", tok); code != 401 || !strings.Contains(body, "Bad credentials") {
		t.Fatalf("revoked token: %d %s", code, body)
	}

	// No token is stored in clear anywhere in the data directory.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, secret := range []string{s.token, tok} {
			if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte(secret[4:])) {
				t.Errorf("%s holds a token in clear", p)
			}
		}
		return nil
	})
}

func TestServeFixedAdminToken(t *testing.T) {
	dir := t.TempDir()
	fixed := strings.TrimSpace(run(t, "token", "generate"))
	s := startServe(t, map[string]string{"GHUSAGE_ADMIN_TOKEN": fixed, "GHUSAGE_DATA_DIR": dir}, "--demo")
	if s.token != fixed {
		t.Fatalf("admin token %q, want the fixed %q", s.token, fixed)
	}
	if code, _ := get(t, s.url+"/user", fixed); code != 200 {
		t.Fatalf("fixed admin token answers %d", code)
	}
}

func TestBadInvocations(t *testing.T) {
	for _, args := range [][]string{
		{"nosuch"},
		{"serve", "--addr", "256.0.0.1:99999", "--data-dir", t.TempDir()},
		{"serve", "--log-format", "xml", "--data-dir", t.TempDir()},
		{"serve", "--store", "oracle", "--data-dir", t.TempDir()},
		{"serve", "--demo", "--admin-token", "ghp_short", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"},
		{"token", "create", "--data-dir", t.TempDir(), "--user", "nobody"},
		{"token", "revoke", "--data-dir", t.TempDir(), "x"},
		{"serve", "--redis-url", "redis://127.0.0.1:1/0", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"},
	} {
		err := cli.Run(context.Background(), args, func(string) string { return "" }, nil, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("ghusage %s succeeded", strings.Join(args, " "))
		}
	}
	err := cli.Run(context.Background(), []string{"serve", "--data-dir", t.TempDir()}, func(k string) string {
		if k == "GHUSAGE_TOKEN_CACHE_TTL" {
			return "soon"
		}
		return ""
	}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GHUSAGE_TOKEN_CACHE_TTL") {
		t.Errorf("bad environment value: %v", err)
	}
}
