package cli

import "github.com/ghusage/ghusage/internal/server"

// tlsFlags registers serve's TLS flags (doc/deploy.md, doc/config.md).
func tlsFlags(f *flagSet, cfg *server.Config) {
	t := &cfg.TLS
	f.stringVar(&t.CertFile, "tls-cert", t.CertFile, "serve HTTPS with this PEM certificate (chain) file; reloaded on SIGHUP and when it changes")
	f.stringVar(&t.KeyFile, "tls-key", t.KeyFile, "PEM private key of --tls-cert")
	f.boolVar(&t.SelfSigned, "tls-self-signed", t.SelfSigned, "serve HTTPS with a self-signed certificate for the listen address, written into the data directory (tls/self-signed-cert.pem)")
}
