package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/httpapi"
	"github.com/ghusage/ghusage/internal/jobs"
	"github.com/ghusage/ghusage/internal/session"
	"github.com/ghusage/ghusage/internal/ui"
)

// SessionPruneEvery is how often expired dashboard sessions are deleted.
const SessionPruneEvery = time.Hour

// dashboard serves the web UI under /ui/ beside the API, outside the API
// pipeline (dashboard pages are neither rate limited nor metered as API
// requests), when the store keeps sessions. It reads through the API's
// own services: api.Insights, api.Limiter, and the API's token resolution
// and rate-limit pool, so a token sees the same numbers in both.
func (s *Server) dashboard(api *httpapi.Server, logger *slog.Logger, now func() time.Time) http.Handler {
	root := api.Handler()
	sessions, ok := s.Store.(session.Store)
	if !ok {
		return root
	}
	if now == nil {
		now = time.Now
	}
	dash := ui.New(ui.Config{
		Store: s.Store, Sessions: sessions, Insights: api.Insights, Limiter: api.Limiter, ServerStats: api.ServerStats,
		Billing: api.Billing, BillingScope: api.BillingScope, CostCenters: api.CostCenterList, Budgets: api.BudgetStates,
		Copilot: api.Copilot, CopilotAccount: api.CopilotAccount,
		Resolve: httpapi.ResolveActor, RateSubject: httpapi.RateSubject,
		Now: now, Logger: logger.With("component", "ui"), SessionTTL: s.cfg.UISessionTTL,
		SecureCookies: strings.HasPrefix(s.cfg.PublicURL, "https://"),
	})
	err := s.Jobs.Add(jobs.Job{Name: "ui-sessions-prune", Every: SessionPruneEvery, Timeout: 5 * time.Minute,
		Run: func(ctx context.Context) error {
			_, err := sessions.DeleteExpiredSessions(ctx, now())
			return err
		}})
	if err != nil {
		logger.Warn("ui: the session pruning job was not registered", "err", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, ui.Prefix) {
			dash.ServeHTTP(w, r)
			return
		}
		root.ServeHTTP(w, r)
	})
}

// Handler is the whole handler tree: the API and the dashboard.
func (s *Server) Handler() http.Handler { return s.http.Handler }
