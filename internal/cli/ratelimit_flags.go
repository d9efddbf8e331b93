package cli

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ghusage/ghusage/internal/server"
)

// rateLimitFlags registers the rate-limit flags of serve (see
// doc/rate-limits.md and doc/config.md).
func rateLimitFlags(f *flagSet, cfg *server.Config) {
	rl := &cfg.RateLimit
	boolFuncVar(f, "rate-limit", !rl.Disabled, "enforce GitHub's rate limits; false is GitHub Enterprise Server's default (no limits, no x-ratelimit-* headers, /rate_limit answers 404)",
		func(on bool) { rl.Disabled = !on })
	f.stringVar(&cfg.RateLimitBackend, "rate-limit-backend", cfg.RateLimitBackend, "where rate-limit counters live: memory or redis (default: redis when --redis-url is set)")
	f.stringVar(&cfg.RedisKeyPrefix, "redis-key-prefix", cfg.RedisKeyPrefix, "prefix of every Redis key ghusage writes (default ghusage:rl:; must not contain braces)")
	f.boolVar(&cfg.RedisCluster, "redis-cluster", cfg.RedisCluster, "treat --redis-url as a Redis Cluster node (more nodes as addr=host:port query parameters)")
	f.boolVar(&rl.FailOpen, "rate-limit-fail-open", rl.FailOpen, "when the rate-limit store is unreachable, admit requests unchecked (true) or refuse them with 503 (false)")
	f.boolVar(&rl.EnterpriseCloud.Enabled, "rate-limit-enterprise-cloud", rl.EnterpriseCloud.Enabled, "give installations and app user tokens GitHub Enterprise Cloud's flat limits (15,000 core, 10,000 graphql)")
	funcVar(f, "rate-limits", "authenticated limits per category, e.g. core=5000,search=30 (*=N sets all)", func(s string) error { return rl.ParseLimits(s, false) })
	funcVar(f, "rate-limits-unauthenticated", "unauthenticated (per IP) limits per category, e.g. core=60,search=10", func(s string) error { return rl.ParseLimits(s, true) })
	funcVar(f, "rate-limit-windows", "window length per category, e.g. core=1h,search=1m", rl.ParseWindows)
	funcVar(f, "rate-limit-installation", "installation formula: base=5000,per_repository=50,per_user=50,free=20,max=12500", func(s string) error { return parseInstallation(s, cfg) })
	f.int64Var(&rl.Secondary.MaxConcurrent, "secondary-max-concurrent", rl.Secondary.MaxConcurrent, "secondary limit: concurrent requests per user or installation (0 disables)")
	f.int64Var(&rl.Secondary.EndpointPoints, "secondary-endpoint-points", rl.Secondary.EndpointPoints, "secondary limit: points per minute per REST endpoint (GET 1, writes 5; 0 disables)")
	f.int64Var(&rl.Secondary.GraphQLPoints, "secondary-graphql-points", rl.Secondary.GraphQLPoints, "secondary limit: points per minute for GraphQL (0 disables)")
	funcVar(f, "trusted-proxies", "comma-separated CIDRs whose X-Forwarded-For gives the client IP of unauthenticated requests", func(s string) error {
		rl.TrustedProxies = rl.TrustedProxies[:0]
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if !strings.Contains(p, "/") {
				p += "/128"
				if a, err := netip.ParseAddr(strings.TrimSuffix(p, "/128")); err == nil && a.Is4() {
					p = a.String() + "/32"
				}
			}
			pfx, err := netip.ParsePrefix(p)
			if err != nil {
				return fmt.Errorf("trusted proxy %q is not a CIDR such as 10.0.0.0/8", p)
			}
			rl.TrustedProxies = append(rl.TrustedProxies, pfx.Masked())
		}
		return nil
	})
}

// funcVar registers a flag whose value is applied by fn, from the
// GHUSAGE_* variable first and then from the command line.
func funcVar(f *flagSet, name, text string, fn func(string) error) {
	if v, ok := f.env(name); ok {
		if err := fn(v); err != nil {
			f.envError(name, fmt.Errorf("%s: %w", EnvName(name), err))
		}
	}
	f.Func(name, f.usage(name, text), fn)
}

// boolFuncVar is funcVar for a boolean flag (--name or --name=false).
func boolFuncVar(f *flagSet, name string, def bool, text string, fn func(bool)) {
	if v, ok := f.env(name); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.envError(name, fmt.Errorf("%s=%q: not a boolean", EnvName(name), v))
		}
		fn(b)
	}
	f.BoolFunc(name, f.usage(name, fmt.Sprintf("%s (default %v)", text, def)), func(s string) error {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean")
		}
		fn(b)
		return nil
	})
}

// parseInstallation applies "base=5000,per_repository=50,..." to the
// installation formula.
func parseInstallation(s string, cfg *server.Config) error {
	in := &cfg.RateLimit.Installation
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		k, v, _ := strings.Cut(item, "=")
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("installation formula %q: want key=non-negative integer", item)
		}
		switch strings.TrimSpace(k) {
		case "base":
			in.Base = n
		case "per_repository":
			in.PerRepository = n
		case "per_user":
			in.PerUser = n
		case "free":
			in.Free = n
		case "max":
			in.Max = n
		default:
			return fmt.Errorf("installation formula: unknown key %q (want base, per_repository, per_user, free or max)", k)
		}
	}
	return nil
}
