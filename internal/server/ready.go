package server

import (
	"github.com/ghusage/ghusage/internal/httpapi"
	"github.com/ghusage/ghusage/internal/ratelimit"
)

// RateLimitBackendName names where rate-limit counters live: "off", "memory"
// or "redis" (with "redis-cluster" for a cluster URL).
func (cfg Config) RateLimitBackendName() string {
	switch {
	case cfg.RateLimit.Disabled:
		return "off"
	case cfg.RateLimitBackend == "redis", cfg.RateLimitBackend == "" && cfg.RedisURL != "":
		if cfg.RedisCluster {
			return "redis-cluster"
		}
		return "redis"
	}
	return "memory"
}

// readyChecks are the backends besides the store that /readyz asks: the
// limiter's Redis, required when the limiter fails closed (every API
// request then answers 503 without it), reported only when it fails open.
func readyChecks(cfg Config, l *ratelimit.Limiter) []httpapi.ReadyCheck {
	name := cfg.RateLimitBackendName()
	if name != "redis" && name != "redis-cluster" {
		return nil
	}
	return []httpapi.ReadyCheck{{Name: name, Check: l.Ping, Optional: cfg.RateLimit.FailOpen}}
}
