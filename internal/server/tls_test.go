package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/sqlite"
)

// startTLS serves a server with cfg's TLS on a free port until the test ends.
func startTLS(t *testing.T, dataDir string, tc TLSConfig) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addr, cfg.DataDir, cfg.TLS = "127.0.0.1:0", dataDir, tc
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ghusage.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, st, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		st.Close()
	})
	return srv
}

// clientTrusting is an HTTP client whose only root is the certificate in file.
func clientTrusting(t *testing.T, file string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", file)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// served does GET url and returns the serial number of the certificate the
// server presented and whether the request reused an open connection.
func served(t *testing.T, c *http.Client, url string) (serial string, reused bool) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	}))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.String(), reused
}

func TestSelfSignedCertificateIsTrustedAndKept(t *testing.T) {
	dir := t.TempDir()
	srv := startTLS(t, dir, TLSConfig{SelfSigned: true})
	if !strings.HasPrefix(srv.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL() = %s", srv.URL())
	}
	if srv.TLSCertFile() != SelfSignedCertPath(dir) {
		t.Fatalf("certificate at %s, want %s", srv.TLSCertFile(), SelfSignedCertPath(dir))
	}
	c := clientTrusting(t, srv.TLSCertFile())
	first, _ := served(t, c, srv.URL()+"/healthz")
	// Verified against the certificate alone for the names a local client uses.
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		leaf := mustLeaf(t, srv.TLSCertFile())
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("certificate does not cover %s: %v", host, err)
		}
	}
	if fi, err := os.Stat(selfSignedKeyPath(dir)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v", err, fi.Mode())
	}
	// A second start on the same data directory keeps the certificate, so
	// clients that trust it keep working.
	srv2 := startTLS(t, dir, TLSConfig{SelfSigned: true})
	if again, _ := served(t, c, srv2.URL()+"/healthz"); again != first {
		t.Errorf("second start made a new certificate (%s, was %s)", again, first)
	}
	// One for another specific address is made afresh.
	if _, _, created, err := ensureSelfSigned(dir, selfSignedHosts("10.1.2.3:443", ""), time.Now()); err != nil || !created {
		t.Errorf("certificate for 10.1.2.3: created=%v err=%v", created, err)
	}
	if err := mustLeaf(t, SelfSignedCertPath(dir)).VerifyHostname("10.1.2.3"); err != nil {
		t.Error(err)
	}
}

func mustLeaf(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(file, strings.Replace(file, "-cert.pem", "-key.pem", 1))
	if err != nil {
		t.Fatal(err)
	}
	return pair.Leaf
}

// newPair writes a fresh self-signed pair into its own directory and returns its files.
func newPair(t *testing.T) (cert, key string) {
	t.Helper()
	dir := t.TempDir()
	cert, key, _, err := ensureSelfSigned(dir, []string{"localhost", "127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// install copies a pair over the served files, the key first.
func install(t *testing.T, fromCert, fromKey, toCert, toKey string) {
	t.Helper()
	for _, p := range [][2]string{{fromKey, toKey}, {fromCert, toCert}} {
		b, err := os.ReadFile(p[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := writeFileAtomic(p[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCertificateReload: a new pair is served to new connections after
// ReloadTLS, SIGHUP or a change of the files, while a connection opened
// before goes on working; a pair that does not load keeps the old one.
func TestCertificateReload(t *testing.T) {
	certA, keyA := newPair(t)
	certB, keyB := newPair(t)
	certC, keyC := newPair(t)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	install(t, certA, keyA, cert, key)
	srv := startTLS(t, "", TLSConfig{CertFile: cert, KeyFile: key, ReloadInterval: time.Hour})

	// One pool trusting all three certificates, so serials tell them apart.
	pool := x509.NewCertPool()
	for _, f := range []string{certA, certB, certC} {
		b, _ := os.ReadFile(f)
		pool.AppendCertsFromPEM(b)
	}
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	serialOf := func(f string) string { return mustLeaf(t, f).SerialNumber.String() }
	url := srv.URL() + "/healthz"
	kept := newClient()
	if s, _ := served(t, kept, url); s != serialOf(certA) {
		t.Fatalf("first certificate %s, want A", s)
	}

	// Explicit reload.
	install(t, certB, keyB, cert, key)
	if err := srv.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if s, reused := served(t, kept, url); !reused || s != serialOf(certA) {
		t.Errorf("open connection: reused=%v serial A=%v; want it kept", reused, s == serialOf(certA))
	}
	if s, _ := served(t, newClient(), url); s != serialOf(certB) {
		t.Errorf("after ReloadTLS a new connection got %s, want B", s)
	}

	// A broken pair (certificate B with key C) is refused; B stays.
	install(t, certB, keyC, cert, key)
	if err := srv.ReloadTLS(); err == nil {
		t.Error("ReloadTLS accepted a certificate with another certificate's key")
	}
	if s, _ := served(t, newClient(), url); s != serialOf(certB) {
		t.Errorf("after a failed reload a new connection got %s, want B", s)
	}

	// SIGHUP.
	install(t, certC, keyC, cert, key)
	sighup(t)
	waitServed(t, newClient, url, serialOf(certC), "SIGHUP")
	if _, reused := served(t, kept, url); !reused {
		t.Error("the connection opened before the reloads was dropped")
	}
}

func TestCertificateReloadOnFileChange(t *testing.T) {
	certA, keyA := newPair(t)
	certB, keyB := newPair(t)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	install(t, certA, keyA, cert, key)
	srv := startTLS(t, "", TLSConfig{CertFile: cert, KeyFile: key, ReloadInterval: 20 * time.Millisecond})
	pool := x509.NewCertPool()
	for _, f := range []string{certA, certB} {
		b, _ := os.ReadFile(f)
		pool.AppendCertsFromPEM(b)
	}
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	install(t, certB, keyB, cert, key)
	waitServed(t, newClient, srv.URL()+"/healthz", mustLeaf(t, certB).SerialNumber.String(), "file change")
}

// sighup sends the test process SIGHUP and returns once the runtime has
// delivered it (to a channel of the test's own): a signal still pending
// when the server stops listening for it would end the test binary.
func sighup(t *testing.T) {
	t.Helper()
	got := make(chan os.Signal, 1)
	signal.Notify(got, syscall.SIGHUP)
	defer signal.Stop(got)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("SIGHUP not delivered within 10 s")
	}
}

// waitServed polls new connections until they are served serial (the
// reload is asynchronous), failing after 10 s.
func waitServed(t *testing.T, newClient func() *http.Client, url, serial, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, _ := served(t, newClient(), url)
		if s == serial {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: new connections still get %s", what, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTLSConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c    TLSConfig
		want string
	}{
		{TLSConfig{CertFile: "c.pem"}, "go together"},
		{TLSConfig{KeyFile: "k.pem"}, "go together"},
		{TLSConfig{SelfSigned: true, CertFile: "c.pem", KeyFile: "k.pem"}, "leave out"},
	} {
		if err := tc.c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.c, err, tc.want)
		}
	}
	_, err := setupTLS(Config{TLS: TLSConfig{CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"}}, slog.New(slog.DiscardHandler), time.Now())
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/c.pem") {
		t.Errorf("missing files: %v", err)
	}
}

// TestSIGHUPWithoutTLSKeepsServing: SIGHUP (systemctl reload) on a server
// without TLS is logged and ignored; the process does not end.
func TestSIGHUPWithoutTLSKeepsServing(t *testing.T) {
	srv := startTLS(t, "", TLSConfig{})
	if !strings.HasPrefix(srv.URL(), "http://") {
		t.Fatalf("URL() = %s", srv.URL())
	}
	// A server that answers has taken SIGHUP (Serve registers it before
	// accepting); one nobody took would end the test binary.
	for range 2 {
		resp, err := http.Get(srv.URL() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	sighup(t)
	resp, err := http.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz after SIGHUP: %d", resp.StatusCode)
	}
}
