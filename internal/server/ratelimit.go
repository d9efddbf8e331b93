package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/ghusage/ghusage/internal/metrics"
	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/redis"
)

// newLimiter builds the configured rate limiter: in process by default,
// on Redis when the backend is "redis" (or unset with a Redis URL). The
// returned close function releases the backend.
func newLimiter(cfg Config, reg *metrics.Registry, logger *slog.Logger, now func() time.Time) (*ratelimit.Limiter, func() error, error) {
	rl := cfg.RateLimit
	if err := rl.Validate(); err != nil {
		return nil, nil, err
	}
	nop := func() error { return nil }
	if rl.Disabled {
		return ratelimit.New(rl, nil, logger), nop, nil
	}
	backend := cfg.RateLimitBackend
	if backend == "" {
		backend = "memory"
		if cfg.RedisURL != "" {
			backend = "redis"
		}
	}
	switch backend {
	case "memory":
		return ratelimit.New(rl, ratelimit.NewMemory(now), logger), nop, nil
	case "redis":
		if cfg.RedisURL == "" {
			return nil, nil, fmt.Errorf("--rate-limit-backend redis needs --redis-url (or GHUSAGE_REDIS_URL)")
		}
		redis.UseLogger(logger) // go-redis's own lines through log/slog
		c, err := redis.Connect(cfg.RedisURL, cfg.RedisCluster)
		if err != nil {
			return nil, nil, err
		}
		st, err := redis.New(c, redis.Options{
			Prefix: cfg.RedisKeyPrefix,
			Errors: reg.Counter("ghusage_ratelimit_store_errors_total", "Failed calls to the rate-limit store.", "backend", "redis"),
		})
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			// Not fatal: the limiter fails open or closed until Redis answers.
			logger.Warn("Redis for rate limits does not answer yet", "err", err, "fail_open", rl.FailOpen)
		}
		return ratelimit.New(rl, st, logger), c.Close, nil
	}
	return nil, nil, fmt.Errorf("unknown rate-limit backend %q: use memory or redis", backend)
}

// CheckBackends is serve's start-up check of the backends New does not
// open itself: the rate limiter's Redis must answer, or serve stops with a
// clear error instead of failing every request. (Later outages are
// handled per request, failing open or closed.)
func (s *Server) CheckBackends(ctx context.Context) error {
	cfg := s.cfg
	if cfg.RateLimit.Disabled || cfg.RedisURL == "" || cfg.RateLimitBackend == "memory" {
		return nil
	}
	shown := cfg.RedisURL
	if u, err := url.Parse(cfg.RedisURL); err == nil {
		shown = u.Redacted()
	}
	c, err := redis.Connect(cfg.RedisURL, cfg.RedisCluster)
	if err != nil {
		return fmt.Errorf("redis %s: %w", shown, err)
	}
	defer c.Close()
	st, err := redis.New(c, redis.Options{Prefix: cfg.RedisKeyPrefix})
	if err != nil {
		return fmt.Errorf("redis %s: %w", shown, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		return fmt.Errorf("Redis at %s does not answer (%v): start it, or leave --redis-url empty to keep rate-limit counters in process", shown, err)
	}
	return nil
}
