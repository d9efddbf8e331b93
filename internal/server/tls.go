package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// TLSConfig is serve's TLS: a certificate and key from files (reloaded on
// SIGHUP and when the files change), or a self-signed certificate written
// into the data directory. Both empty and SelfSigned false serve plain HTTP.
type TLSConfig struct {
	CertFile, KeyFile string
	SelfSigned        bool
	// ReloadInterval is how often the files are checked for a change;
	// 0 means 5 s.
	ReloadInterval time.Duration
}

// Enabled reports whether serve speaks TLS.
func (c TLSConfig) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" || c.SelfSigned }

// Validate reports contradictory or incomplete TLS settings.
func (c TLSConfig) Validate() error {
	switch {
	case c.SelfSigned && (c.CertFile != "" || c.KeyFile != ""):
		return errors.New("--tls-self-signed writes its own certificate: leave out --tls-cert and --tls-key")
	case (c.CertFile == "") != (c.KeyFile == ""):
		return errors.New("--tls-cert and --tls-key go together: give both files")
	}
	return nil
}

// SelfSignedCertPath and selfSignedKeyPath are where --tls-self-signed
// keeps its certificate and key inside the data directory.
func SelfSignedCertPath(dataDir string) string {
	return filepath.Join(dataDir, "tls", "self-signed-cert.pem")
}
func selfSignedKeyPath(dataDir string) string {
	return filepath.Join(dataDir, "tls", "self-signed-key.pem")
}

// certReloader serves the certificate last loaded from a pair of files and
// loads them again when asked or when they change. A pair that does not
// load (a half-written rotation, a key that does not match) keeps the
// previous certificate in use; connections already open are never touched.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	cert              atomic.Pointer[tls.Certificate]

	mu    sync.Mutex
	stamp [2]fileStamp // of the pair last loaded
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), fi.Size()}, nil
}

func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload loads the files now; on failure the certificate in use stays.
func (c *certReloader) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reloadLocked()
}

func (c *certReloader) reloadLocked() error {
	var st [2]fileStamp
	var err error
	for i, p := range []string{c.certFile, c.keyFile} {
		if st[i], err = stampOf(p); err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert.Store(&pair)
	c.stamp = st
	return nil
}

// reloadIfChanged reloads when either file's size or modification time
// differs from the pair last loaded.
func (c *certReloader) reloadIfChanged() {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := false
	for i, p := range []string{c.certFile, c.keyFile} {
		st, err := stampOf(p)
		changed = changed || err != nil || st != c.stamp[i]
	}
	if !changed {
		return
	}
	if err := c.reloadLocked(); err != nil {
		// Logged on every check until the pair loads: a rotation is often
		// two writes, and the second one ends the warnings.
		c.logger.Warn("TLS certificate changed but does not load; still serving the previous one", "err", err)
		return
	}
	c.logger.Info("TLS certificate reloaded", "cert", c.certFile, "not_after", c.notAfter())
}

func (c *certReloader) notAfter() time.Time {
	if p := c.cert.Load(); p != nil && p.Leaf != nil {
		return p.Leaf.NotAfter
	}
	return time.Time{}
}

func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cert.Load(), nil
}

// watch reloads on SIGHUP and when the files change, until ctx is done.
func (c *certReloader) watch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := c.Reload(); err != nil {
				c.logger.Warn("SIGHUP: TLS certificate does not load; still serving the previous one", "err", err)
			} else {
				c.logger.Info("SIGHUP: TLS certificate reloaded", "cert", c.certFile, "not_after", c.notAfter())
			}
		case <-t.C:
			c.reloadIfChanged()
		}
	}
}

// selfSignedHosts are the names and addresses a self-signed certificate
// for addr (and the public URL, when set) must cover: the loopback names
// always, the listen host when it is specific, and this machine's host
// name when listening on every interface.
func selfSignedHosts(addr, publicURL string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	add := func(h string) {
		if h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if name, err := os.Hostname(); err == nil {
			add(name)
		}
	} else {
		add(host)
	}
	if u, err := url.Parse(publicURL); err == nil && publicURL != "" {
		add(u.Hostname())
	}
	return hosts
}

// ensureSelfSigned returns the self-signed certificate and key files in
// dataDir, writing new ones when they are missing, expire within 30 days
// or do not cover hosts. The certificate is its own CA, so pointing a
// client's trust at the certificate file (SSL_CERT_FILE, curl --cacert)
// is enough.
func ensureSelfSigned(dataDir string, hosts []string, now time.Time) (certFile, keyFile string, created bool, err error) {
	certFile, keyFile = SelfSignedCertPath(dataDir), selfSignedKeyPath(dataDir)
	if pair, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && covers(pair.Leaf, hosts, now) {
		return certFile, keyFile, false, nil
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return "", "", false, fmt.Errorf("TLS: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", false, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", false, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"ghusage self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", false, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", false, err
	}
	// The key first, then the certificate, each renamed into place: a
	// reader sees either the old pair or, once both are written, the new.
	if err := writeFileAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", false, err
	}
	if err := writeFileAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", false, err
	}
	return certFile, keyFile, true, nil
}

func covers(leaf *x509.Certificate, hosts []string, now time.Time) bool {
	if leaf == nil || now.Add(30*24*time.Hour).After(leaf.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("TLS: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("TLS: %w", err)
	}
	return nil
}

// setupTLS prepares the certificate source New uses; nil without TLS.
func setupTLS(cfg Config, logger *slog.Logger, now time.Time) (*certReloader, error) {
	t := cfg.TLS
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if !t.Enabled() {
		return nil, nil
	}
	certFile, keyFile := t.CertFile, t.KeyFile
	if t.SelfSigned {
		var created bool
		var err error
		certFile, keyFile, created, err = ensureSelfSigned(cfg.DataDir, selfSignedHosts(cfg.Addr, ""), now)
		if err != nil {
			return nil, err
		}
		if created {
			logger.Info("wrote a self-signed TLS certificate", "cert", certFile)
		}
	}
	return newCertReloader(certFile, keyFile, logger)
}

// TLSCertFile is the certificate file served, or "" without TLS (for
// printing where a client finds the self-signed certificate).
func (s *Server) TLSCertFile() string {
	if s.certs == nil {
		return ""
	}
	return s.certs.certFile
}

// ReloadTLS loads the certificate and key files again now (SIGHUP does
// the same); connections already open keep theirs.
func (s *Server) ReloadTLS() error {
	if s.certs == nil {
		return errors.New("TLS is not enabled")
	}
	return s.certs.Reload()
}
