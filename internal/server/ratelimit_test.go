package server

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/metrics"
	"github.com/ghusage/ghusage/internal/ratelimit"
)

func TestNewLimiterChoosesBackend(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"default memory", func(*Config) {}, ""},
		{"disabled", func(c *Config) { c.RateLimit.Disabled = true }, ""},
		{"redis without URL", func(c *Config) { c.RateLimitBackend = "redis" }, "--redis-url"},
		{"unknown backend", func(c *Config) { c.RateLimitBackend = "memcached" }, "memory or redis"},
		{"bad window", func(c *Config) { c.RateLimit.Categories[ratelimit.Search].Window = 10 * time.Millisecond }, "window of search"},
		{"bad prefix", func(c *Config) {
			c.RateLimitBackend, c.RedisURL, c.RedisKeyPrefix = "redis", "redis://127.0.0.1:1/0", "a{b}"
		}, "braces"},
	} {
		cfg := DefaultConfig()
		tc.edit(&cfg)
		l, closeFn, err := newLimiter(cfg, metrics.New(), log, time.Now)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if l.Enabled() == cfg.RateLimit.Disabled {
			t.Errorf("%s: Enabled() = %v", tc.name, l.Enabled())
		}
		closeFn()
	}
}
