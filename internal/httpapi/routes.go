package httpapi

import (
	"net/http"

	"github.com/ghusage/ghusage/internal/serverstats"
)

// routes registers every route ghusage serves. API routes go through
// s.api, which authenticates, rate limits, meters and handles ETags.
func (s *Server) routes(mux *http.ServeMux) {
	// Operations: not API routes, never rate limited or metered.
	s.operation(mux, "GET /healthz", http.HandlerFunc(s.handleHealthz))
	s.operation(mux, "GET /readyz", http.HandlerFunc(s.handleReadyz))
	s.operation(mux, "GET /metrics", s.Metrics)

	// Rate limit (seed 002).
	s.handle(mux, "GET /rate_limit", s.handleRateLimit)

	// API insights (seed 000).
	s.handle(mux, "GET /orgs/{org}/insights/api/summary-stats", s.handleSummaryStats)
	s.handle(mux, "GET /orgs/{org}/insights/api/summary-stats/users/{user_id}", s.handleSummaryStatsByUser)
	s.handle(mux, "GET /orgs/{org}/insights/api/summary-stats/{actor_type}/{actor_id}", s.handleSummaryStatsByActor)
	s.handle(mux, "GET /orgs/{org}/insights/api/time-stats", s.handleTimeStats)
	s.handle(mux, "GET /orgs/{org}/insights/api/time-stats/users/{user_id}", s.handleTimeStatsByUser)
	s.handle(mux, "GET /orgs/{org}/insights/api/time-stats/{actor_type}/{actor_id}", s.handleTimeStatsByActor)
	s.handle(mux, "GET /orgs/{org}/insights/api/subject-stats", s.handleSubjectStats)
	s.handle(mux, "GET /orgs/{org}/insights/api/user-stats/{user_id}", s.handleUserStats)
	s.handle(mux, "GET /orgs/{org}/insights/api/route-stats/{actor_type}/{actor_id}", s.handleRouteStats)

	// Cost centers and budgets (seed 004 and their contract siblings; doc/cost-centers.md).
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/cost-centers", s.handleListCostCenters)
	s.handle(mux, "POST /enterprises/{enterprise}/settings/billing/cost-centers", s.handleCreateCostCenter)
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/cost-centers/{cost_center_id}", s.handleGetCostCenter)
	s.handle(mux, "PATCH /enterprises/{enterprise}/settings/billing/cost-centers/{cost_center_id}", s.handleUpdateCostCenter)
	s.handle(mux, "DELETE /enterprises/{enterprise}/settings/billing/cost-centers/{cost_center_id}", s.handleDeleteCostCenter)
	s.handle(mux, "POST /enterprises/{enterprise}/settings/billing/cost-centers/{cost_center_id}/resource", s.handleAddCostCenterResources)
	s.handle(mux, "DELETE /enterprises/{enterprise}/settings/billing/cost-centers/{cost_center_id}/resource", s.handleRemoveCostCenterResources)
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/budgets", s.handleListBudgets)
	s.handle(mux, "POST /enterprises/{enterprise}/settings/billing/budgets", s.handleCreateBudget)
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/budgets/{budget_id}", s.handleGetBudget)
	s.handle(mux, "PATCH /enterprises/{enterprise}/settings/billing/budgets/{budget_id}", s.handleUpdateBudget)
	s.handle(mux, "DELETE /enterprises/{enterprise}/settings/billing/budgets/{budget_id}", s.handleDeleteBudget)
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/budgets/{budget_id}/user-states", s.handleBudgetUserStates)
	s.handle(mux, "GET /organizations/{org}/settings/billing/budgets", s.handleListBudgets)
	s.handle(mux, "POST /organizations/{org}/settings/billing/budgets", s.handleCreateBudget)
	s.handle(mux, "GET /organizations/{org}/settings/billing/budgets/{budget_id}", s.handleGetBudget)
	s.handle(mux, "PATCH /organizations/{org}/settings/billing/budgets/{budget_id}", s.handleUpdateBudget)
	s.handle(mux, "DELETE /organizations/{org}/settings/billing/budgets/{budget_id}", s.handleDeleteBudget)

	// Ingestion of request events from gateways, proxies and logs (doc/insights.md).
	s.handleRoute(mux, &Route{Method: http.MethodPost, Pattern: IngestPath, MaxBodyBytes: IngestMaxBodyBytes}, s.handleIngestAPIRequests)

	// Enterprise billing (seed 004): usage reports, legacy per-product
	// endpoints, Advanced Security committers, usage ingestion (billing.go).
	s.billingRoutes(mux)

	// Files behind signed, expiring links (Copilot reports, billing
	// exports): the link is the credential, so outside the API pipeline.
	s.operation(mux, FilesPattern, http.HandlerFunc(s.handleDownload))

	// Server statistics (seed 001, GHES /enterprise/stats/*; doc/server-statistics.md):
	// the daily history, the twelve current-statistics routes
	// (serverstats.Types: all, comments, …, users) and the upload.
	s.handle(mux, "GET /enterprise-installation/{enterprise_or_org}/server-statistics", s.handleServerStatistics)
	for _, typ := range serverstats.Types {
		s.handle(mux, "GET /enterprise/stats/"+typ, s.enterpriseStats(typ))
	}
	s.handleRoute(mux, &Route{Method: http.MethodPost, Pattern: ServerStatsIngestPath, MaxBodyBytes: serverstats.MaxUploadBytes},
		s.handleIngestServerStatistics)

	// Copilot usage metrics reports, their ingestion, and Copilot seats
	// and team reads (seed 003; copilot.go, copilot_seats.go).
	s.copilotRoutes(mux)

	// Accounts and tokens.
	s.handle(mux, "GET /user", s.handleGetAuthenticatedUser)

	// GitHub Enterprise Server's site-admin API for accounts and tokens, and
	// the account lookups it pairs with (admin.go, doc/admin.md).
	s.handle(mux, "GET /meta", s.handleMeta)
	s.handle(mux, "GET /users/{username}", s.handleGetUser)
	s.handle(mux, "GET /orgs/{org}", s.handleGetOrg)
	s.handle(mux, "POST /admin/users", s.adminOnly(s.handleAdminCreateUser))
	s.handle(mux, "PATCH /admin/users/{username}", s.adminOnly(s.handleAdminRenameUser))
	s.handle(mux, "DELETE /admin/users/{username}", s.adminOnly(s.handleAdminDeleteUser))
	s.handle(mux, "POST /admin/users/{username}/authorizations", s.adminOnly(s.handleAdminCreateImpersonation))
	s.handle(mux, "DELETE /admin/users/{username}/authorizations", s.adminOnly(s.handleAdminDeleteImpersonation))
	s.handle(mux, "POST /admin/organizations", s.adminOnly(s.handleAdminCreateOrg))
	s.handle(mux, "PATCH /admin/organizations/{org}", s.adminOnly(s.handleAdminRenameOrg))
	s.handle(mux, "GET /admin/tokens", s.adminOnly(s.handleAdminListTokens))
	s.handle(mux, "DELETE /admin/tokens/{token_id}", s.adminOnly(s.handleAdminDeleteToken))
	s.handle(mux, "PUT /users/{username}/site_admin", s.adminOnly(s.handleAdminSiteAdmin(true)))
	s.handle(mux, "DELETE /users/{username}/site_admin", s.adminOnly(s.handleAdminSiteAdmin(false)))
	s.handle(mux, "PUT /users/{username}/suspended", s.adminOnly(s.handleAdminSuspend(true)))
	s.handle(mux, "DELETE /users/{username}/suspended", s.adminOnly(s.handleAdminSuspend(false)))

	// Anything else is GitHub's 404, still authenticated and rate limited.
	s.handle(mux, "/", s.handleNotFound)
}

// operation registers a route outside the API pipeline, named in metrics and logs.
func (s *Server) operation(mux *http.ServeMux, pattern string, h http.Handler) {
	mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).route = pattern
		h.ServeHTTP(w, r)
	}))
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) error {
	return errNotFound
}
