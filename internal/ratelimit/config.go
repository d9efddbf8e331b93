package ratelimit

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Category is the configuration of one resource category.
type Category struct {
	Window          time.Duration // length of the fixed window
	Authenticated   int64         // limit for a user pool (and installations, except core/graphql)
	Unauthenticated int64         // limit for an IP pool; 0: the category needs authentication
}

// InstallationFormula is GitHub's scaling of an App installation's core and
// graphql limits: Base, plus PerRepository for each repository above Free,
// plus PerUser for each organization member above Free, at most Max.
type InstallationFormula struct {
	Base          int64
	PerRepository int64
	PerUser       int64
	Free          int64
	Max           int64
}

// Limit applies the formula to an installation on repos repositories of an
// organization with users members (0 for a user account).
func (f InstallationFormula) Limit(repos, users int64) int64 {
	l := f.Base + f.PerRepository*max(0, repos-f.Free) + f.PerUser*max(0, users-f.Free)
	if f.Max > 0 {
		l = min(l, f.Max)
	}
	return l
}

// EnterpriseCloud holds the flat GitHub Enterprise Cloud limits.
type EnterpriseCloud struct {
	// Enabled makes every installation, OAuth app token and GitHub App
	// user-to-server token get the flat limits below, as for apps owned by
	// an Enterprise Cloud organization. Personal access tokens keep the
	// standard limit while draining the same user pool.
	Enabled bool
	Core    int64
	GraphQL int64
}

// Secondary configures the secondary limits. A zero value disables each.
type Secondary struct {
	MaxConcurrent  int64         // concurrent requests per pool, REST and GraphQL together
	EndpointPoints int64         // points per Window per REST endpoint and pool
	GraphQLPoints  int64         // points per Window for GraphQL
	Window         time.Duration // the points window (a minute on GitHub.com)
	ReadCost       int64         // GET, HEAD, OPTIONS
	WriteCost      int64         // POST, PATCH, PUT, DELETE
	// SlotTTL bounds how long a concurrency slot can be held by a request
	// whose process died before releasing it (shared stores only).
	SlotTTL time.Duration
	// ConcurrencyRetryAfter is the retry-after sent when the concurrency
	// limit rejects a request.
	ConcurrencyRetryAfter time.Duration
}

// Config is a Limiter's configuration. DefaultConfig has GitHub.com's values.
type Config struct {
	// Disabled is GitHub Enterprise Server's default: nothing is limited,
	// no x-ratelimit-* headers are sent and GET /rate_limit answers 404.
	Disabled bool
	// Categories is indexed by Resource.
	Categories      [NumResources]Category
	Installation    InstallationFormula
	EnterpriseCloud EnterpriseCloud
	Secondary       Secondary
	// FailOpen admits requests when the Store is unreachable; otherwise
	// they are refused with 503.
	FailOpen bool
	// TrustedProxies are the peers whose X-Forwarded-For is believed when
	// finding the IP address of an unauthenticated request.
	TrustedProxies []netip.Prefix
}

// DefaultConfig returns GitHub.com's limits (see doc/rate-limits.md for the
// sources of each number).
func DefaultConfig() Config {
	var c Config
	set := func(r Resource, w time.Duration, auth, unauth int64) {
		c.Categories[r] = Category{Window: w, Authenticated: auth, Unauthenticated: unauth}
	}
	set(Core, time.Hour, 5000, 60)
	set(Search, time.Minute, 30, 10)
	set(CodeSearch, time.Minute, 10, 0)
	set(GraphQL, time.Hour, 5000, 0)
	set(IntegrationManifest, time.Hour, 5000, 0)
	set(DependencySnapshots, time.Minute, 100, 0)
	set(DependencySBOM, time.Minute, 100, 0)
	set(CodeScanningUpload, time.Hour, 1000, 0)
	set(CodeScanningAutofix, time.Minute, 10, 0)
	set(ActionsRunnerRegistration, time.Hour, 10000, 0)
	set(SCIM, time.Hour, 15000, 0)
	set(SourceImport, time.Minute, 100, 0)
	set(AuditLog, time.Hour, 1750, 0)
	set(AuditLogStreaming, time.Hour, 15, 0)
	c.Installation = InstallationFormula{Base: 5000, PerRepository: 50, PerUser: 50, Free: 20, Max: 12500}
	c.EnterpriseCloud = EnterpriseCloud{Core: 15000, GraphQL: 10000}
	c.Secondary = Secondary{
		MaxConcurrent:         100,
		EndpointPoints:        900,
		GraphQLPoints:         2000,
		Window:                time.Minute,
		ReadCost:              1,
		WriteCost:             5,
		SlotTTL:               5 * time.Minute,
		ConcurrencyRetryAfter: time.Second,
	}
	return c
}

// Validate reports a configuration that cannot work, naming the setting.
func (c *Config) Validate() error {
	for i, cat := range c.Categories {
		r := Resource(i)
		if cat.Window < time.Second || cat.Window%time.Second != 0 {
			return fmt.Errorf("rate limit window of %s must be a whole number of seconds, at least 1s (got %s)", r, cat.Window)
		}
		if cat.Authenticated < 0 || cat.Unauthenticated < 0 {
			return fmt.Errorf("rate limit of %s must not be negative", r)
		}
	}
	if c.Secondary.Window < time.Second && (c.Secondary.EndpointPoints > 0 || c.Secondary.GraphQLPoints > 0) {
		return fmt.Errorf("secondary rate limit window must be at least 1s (got %s)", c.Secondary.Window)
	}
	if c.Secondary.MaxConcurrent < 0 || c.Secondary.EndpointPoints < 0 || c.Secondary.GraphQLPoints < 0 {
		return fmt.Errorf("secondary rate limits must not be negative")
	}
	return nil
}

// ParseLimits applies a list such as "core=5000,search=30" to the
// authenticated (unauth false) or unauthenticated limits of c.
func (c *Config) ParseLimits(s string, unauth bool) error {
	return parseList(s, func(r Resource, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("rate limit of %s: %q is not a non-negative integer", r, v)
		}
		if unauth {
			c.Categories[r].Unauthenticated = n
		} else {
			c.Categories[r].Authenticated = n
		}
		return nil
	})
}

// ParseWindows applies a list such as "core=1h,search=1m" to the windows of c.
func (c *Config) ParseWindows(s string) error {
	return parseList(s, func(r Resource, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d%time.Second != 0 {
			return fmt.Errorf("rate limit window of %s: %q is not a whole number of seconds such as 1h or 60s", r, v)
		}
		c.Categories[r].Window = d
		return nil
	})
}

func parseList(s string, apply func(Resource, string) error) error {
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, v, ok := strings.Cut(item, "=")
		if !ok {
			return fmt.Errorf("rate limit setting %q is not category=value", item)
		}
		name = strings.TrimSpace(name)
		if name == "*" {
			for i := range NumResources {
				if err := apply(Resource(i), strings.TrimSpace(v)); err != nil {
					return err
				}
			}
			continue
		}
		r, ok := ParseResource(name)
		if !ok {
			return fmt.Errorf("unknown rate limit category %q (want one of %s)", name, strings.Join(resourceNames[:], ", "))
		}
		if err := apply(r, strings.TrimSpace(v)); err != nil {
			return err
		}
	}
	return nil
}
