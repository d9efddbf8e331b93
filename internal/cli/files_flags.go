package cli

import "github.com/ghusage/ghusage/internal/server"

// filesFlags registers the serve flags of absolute links and downloadable
// files (see doc/config.md).
func filesFlags(f *flagSet, cfg *server.Config) {
	f.stringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "base URL clients reach ghusage on (e.g. https://ghusage.example.com behind a proxy); absolute links are built on it; empty uses the listen address")
	f.stringVar(&cfg.LinkSecret, "link-secret", cfg.LinkSecret, "secret (16 bytes or more) signing download links, shared by every replica; empty uses a key generated once and kept in the store")
	f.durationVar(&cfg.LinkTTL, "link-ttl", cfg.LinkTTL, "how long a signed download link stays valid")
}
