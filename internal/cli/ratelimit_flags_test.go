package cli

import (
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/server"
)

func parseServe(t *testing.T, env map[string]string, args ...string) (server.Config, error) {
	t.Helper()
	cfg := server.DefaultConfig()
	var o serveOptions
	f := newFlagSet("serve", func(k string) string { return env[k] }, io.Discard)
	serveFlags(f, &cfg, &o)
	err := f.parse(args)
	return cfg, err
}

func TestRateLimitFlags(t *testing.T) {
	cfg, err := parseServe(t, map[string]string{
		"GHUSAGE_RATE_LIMITS":                 "core=10,search=3",
		"GHUSAGE_RATE_LIMIT_ENTERPRISE_CLOUD": "true",
		"GHUSAGE_SECONDARY_MAX_CONCURRENT":    "7",
	},
		"--rate-limits-unauthenticated", "core=2",
		"--rate-limit-windows", "search=2m",
		"--rate-limit-installation", "base=100,max=200",
		"--trusted-proxies", "10.0.0.1, 10.1.0.0/16",
		"--rate-limit-backend", "redis", "--redis-key-prefix", "x:",
		"--rate-limit=false")
	if err != nil {
		t.Fatal(err)
	}
	rl := cfg.RateLimit
	c := rl.Categories
	if c[ratelimit.Core].Authenticated != 10 || c[ratelimit.Search].Authenticated != 3 || c[ratelimit.Core].Unauthenticated != 2 ||
		c[ratelimit.Search].Window != 2*time.Minute || c[ratelimit.GraphQL].Authenticated != 5000 {
		t.Errorf("categories: %+v", c)
	}
	if rl.Installation.Base != 100 || rl.Installation.Max != 200 || rl.Installation.PerRepository != 50 {
		t.Errorf("installation formula: %+v", rl.Installation)
	}
	if !rl.EnterpriseCloud.Enabled || rl.Secondary.MaxConcurrent != 7 || !rl.Disabled {
		t.Errorf("enterprise cloud %v, max concurrent %d, disabled %v", rl.EnterpriseCloud.Enabled, rl.Secondary.MaxConcurrent, rl.Disabled)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32"), netip.MustParsePrefix("10.1.0.0/16")}
	if len(rl.TrustedProxies) != 2 || rl.TrustedProxies[0] != want[0] || rl.TrustedProxies[1] != want[1] {
		t.Errorf("trusted proxies: %v", rl.TrustedProxies)
	}
	if cfg.RateLimitBackend != "redis" || cfg.RedisKeyPrefix != "x:" {
		t.Errorf("backend %q prefix %q", cfg.RateLimitBackend, cfg.RedisKeyPrefix)
	}

	if cfg, err := parseServe(t, nil); err != nil || cfg.RateLimit.Disabled {
		t.Errorf("default: disabled=%v err=%v, want rate limiting on", cfg.RateLimit.Disabled, err)
	}
	if cfg, err := parseServe(t, map[string]string{"GHUSAGE_RATE_LIMIT": "false"}, "--rate-limit"); err != nil || cfg.RateLimit.Disabled {
		t.Errorf("--rate-limit after GHUSAGE_RATE_LIMIT=false: disabled=%v err=%v", cfg.RateLimit.Disabled, err)
	}
	for _, bad := range [][]string{
		{"--rate-limits", "cores=1"},
		{"--rate-limit-windows", "core=10ms"},
		{"--rate-limit-installation", "bogus=1"},
		{"--trusted-proxies", "10.0.0.0/99"},
	} {
		if _, err := parseServe(t, nil, bad...); err == nil {
			t.Errorf("%s was accepted", strings.Join(bad, " "))
		}
	}
	if _, err := parseServe(t, map[string]string{"GHUSAGE_RATE_LIMITS": "core=x"}); err == nil || !strings.Contains(err.Error(), "GHUSAGE_RATE_LIMITS") {
		t.Errorf("bad GHUSAGE_RATE_LIMITS: %v", err)
	}
}
