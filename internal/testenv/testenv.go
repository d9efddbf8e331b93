// Package testenv starts a whole ghusage server for tests: a fresh SQLite
// store in a temporary directory, the demo accounts, and the real handler
// tree on an httptest server. Import it only from _test.go files.
package testenv

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/sqlite"
)

// Env is a running test server.
type Env struct {
	URL        string
	AdminToken string
	Store      *sqlite.DB
	Data       *demo.Dataset
	Server     *server.Server
	HTTP       *httptest.Server
}

// Option adjusts the configuration before the server starts.
type Option func(*server.Config)

// New starts a server seeded with the demo accounts (not the demo traffic)
// and stops it when the test ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ghusage.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := demo.Seed(ctx, st, demo.Options{Seed: 1, Scale: 0.2, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.TokenCacheTTL = 0
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(cfg, st, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler()) // the API and the dashboard
	t.Cleanup(hs.Close)
	if cfg.PublicURL == "" && srv.API.Signer != nil {
		srv.API.Signer.PublicURL = hs.URL // links point at this test server
	}
	return &Env{URL: hs.URL, AdminToken: d.AdminToken, Store: st, Data: d, Server: srv, HTTP: hs}
}

// Do sends a request with the token (none when empty) and returns the
// response with its body read.
func (e *Env) Do(t testing.TB, method, path, token string, body io.Reader, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// Get is Do for a GET without a body.
func (e *Env) Get(t testing.TB, path, token string, header ...string) (*http.Response, string) {
	t.Helper()
	return e.Do(t, http.MethodGet, path, token, nil, header...)
}

// ContainsAll reports whether s contains every one of subs.
func ContainsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
