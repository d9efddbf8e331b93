// Package httpapi serves ghusage's REST API with GitHub's conventions:
// routes with and without the /api/v3 prefix, GitHub's error bodies,
// API-version negotiation, ETags, pagination and the per-request pipeline
// (authentication, rate limiting, metering).
package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/blob"
	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/metrics"
	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/usage"
)

// Server holds what the handlers need. Set the exported fields, then call
// Handler once.
type Server struct {
	Store   usage.Store
	Logger  *slog.Logger
	Now     func() time.Time
	Metrics *metrics.Registry
	// MaxBodyBytes bounds request bodies of ordinary routes.
	MaxBodyBytes int64
	// TokenCacheTTL bounds how long a resolved token is trusted without
	// asking the store again; a revocation takes effect within it.
	TokenCacheTTL time.Duration
	// Version is the build version reported by /healthz.
	Version string
	// Insights answers the API insights endpoints and ingestion; nil
	// disables them. Meter buffers metered requests for it; nil disables
	// metering.
	Insights *insights.Service
	Meter    *insights.Recorder
	// Billing answers the billing endpoints and usage ingestion; nil
	// disables them. WebhookSecret verifies GitHub webhook deliveries;
	// empty disables the webhook endpoint.
	Billing       *billing.Service
	WebhookSecret string
	// ServerStats answers server statistics and their uploads; nil disables them.
	ServerStats *serverstats.Service
	// CostCenters and Budgets answer the cost-center and budget
	// endpoints; nil disables them.
	CostCenters *billing.CostCenters
	Budgets     *billing.Budgets
	// Limiter enforces rate limits; nil disables them (GHES mode).
	Limiter *ratelimit.Limiter
	// Blobs keeps downloadable files and Signer makes and checks their
	// links (blob.DownloadPath); nil disables downloads.
	Blobs  blob.Store
	Signer *blob.Signer
	// Admin serves GitHub's site-admin API (admin.go); nil answers it 404.
	Admin usage.AdminStore
	// ReadyChecks are the backends /readyz asks besides the store (health.go);
	// StoreName names the store's check ("sqlite", "postgres"; "store" when empty).
	ReadyChecks []ReadyCheck
	StoreName   string
	// PublicURL, when set, is the base of the absolute URLs in responses
	// (Link headers, url fields) instead of the request's scheme and host.
	PublicURL string
	publicURL *url.URL
	// Copilot answers the Copilot usage metrics reports, seats and
	// ingestion (copilot.go); nil disables them.
	Copilot *copilot.Service
	// IngestLimit bounds the ingest batches decoded at once, across every
	// ingest route (ingest_admission.go); zero fields take DefaultIngestLimit's.
	IngestLimit IngestLimit

	tokens tokenCache
	once   sync.Once
	h      http.Handler

	ingestSem       byteSemaphore                      // admission of ingest batches (ingest_admission.go)
	rateLimitBodies rateLimitBodies                    // recent GET /rate_limit bodies (ratelimit.go)
	billingAnswers  *billing.StateCache[billingAnswer] // encoded usage and summary answers (billing_cache.go)
}

// apiPrefix is GitHub Enterprise Server's REST prefix, served as an alias.
const apiPrefix = "/api/v3"

// Handler returns the root handler: every route with and without /api/v3.
func (s *Server) Handler() http.Handler {
	s.once.Do(func() {
		if u, err := url.Parse(s.PublicURL); err == nil && s.PublicURL != "" && u.Host != "" {
			s.publicURL = u
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.Logger == nil {
			s.Logger = slog.New(slog.DiscardHandler)
		}
		if s.Metrics == nil {
			s.Metrics = metrics.New()
		}
		s.billingAnswers = newBillingAnswers()
		if s.MaxBodyBytes == 0 {
			s.MaxBodyBytes = 1 << 20
		}
		s.IngestLimit = s.IngestLimit.withDefaults()
		s.ingestSem.budget = s.IngestLimit.Bytes
		api := http.NewServeMux()
		s.routes(api)
		// Every route answers with and without the /api/v3 prefix. The prefix
		// is stripped from the decoded path (so an escaped spelling such as
		// /%61pi/v3/... is the same prefix, as on GitHub); the rest keeps its
		// own escaping when the raw path starts with the literal prefix. The
		// bare prefix is the API root: the catch-all's 404, not a redirect.
		root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rest, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
			if !ok || (rest != "" && rest[0] != '/') {
				api.ServeHTTP(w, r)
				return
			}
			u := *r.URL
			u.Path, u.RawPath = rest, ""
			if rawRest, ok := strings.CutPrefix(r.URL.RawPath, apiPrefix); ok {
				u.RawPath = rawRest
			}
			if u.Path == "" {
				u.Path, u.RawPath = "/", ""
			}
			r2 := new(http.Request)
			*r2 = *r
			r2.URL = &u
			api.ServeHTTP(w, r2)
		})
		s.h = s.common(root)
	})
	return s.h
}
