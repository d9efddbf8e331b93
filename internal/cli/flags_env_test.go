package cli

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/server"
)

// TestBadVariableOverriddenByFlag: a GHUSAGE_* value that does not parse
// stops the command naming the variable, unless the command line gives
// the flag, which then wins.
func TestBadVariableOverriddenByFlag(t *testing.T) {
	env := map[string]string{"GHUSAGE_TOKEN_CACHE_TTL": "soon", "GHUSAGE_RATE_LIMITS": "core=lots"}
	parse := func(args ...string) (server.Config, error) {
		cfg := server.DefaultConfig()
		var o serveOptions
		f := newFlagSet("serve", func(k string) string { return env[k] }, io.Discard)
		serveFlags(f, &cfg, &o)
		return cfg, f.parse(args)
	}
	if _, err := parse("--rate-limits", "core=100"); err == nil || !strings.Contains(err.Error(), "GHUSAGE_TOKEN_CACHE_TTL") {
		t.Fatalf("GHUSAGE_RATE_LIMITS overridden: %v, want an error naming GHUSAGE_TOKEN_CACHE_TTL", err)
	}
	if _, err := parse("--token-cache-ttl", "1s"); err == nil || !strings.Contains(err.Error(), "GHUSAGE_RATE_LIMITS") {
		t.Fatalf("GHUSAGE_TOKEN_CACHE_TTL overridden: %v, want GHUSAGE_RATE_LIMITS named", err)
	}
	cfg, err := parse("--token-cache-ttl", "1s", "--rate-limits", "core=100")
	if err != nil {
		t.Fatalf("both overridden: %v", err)
	}
	if cfg.TokenCacheTTL != time.Second {
		t.Errorf("token cache TTL %v", cfg.TokenCacheTTL)
	}
}
