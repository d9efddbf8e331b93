package httpapi

import (
	"net/http"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/copilot"
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

	// Enterprise billing (seed 004; billing.go, doc/billing.md): usage
	// reports per account level, the legacy per-product endpoints,
	// Advanced Security committers, report exports, usage ingestion and
	// GitHub's webhooks.
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/usage", s.billingUsage(s.entUsage))
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/usage/summary", s.billingSummary(s.entUsage, billing.EndpointSummary))
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/premium_request/usage", s.billingSummary(s.entUsage, billing.EndpointPremiumRequest))
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/ai_credit/usage", s.billingSummary(s.entUsage, billing.EndpointAICredit))
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/actions", s.billingActions(s.entLegacy))
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/packages", s.billingPackages(s.entLegacy))
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/shared-storage", s.billingSharedStorage(s.entLegacy))
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/advanced-security", s.billingAdvancedSecurity(s.entAdvancedSecurity))
	s.handle(mux, "GET /organizations/{org}/settings/billing/usage", s.billingUsage(s.orgUsage))
	s.handle(mux, "GET /organizations/{org}/settings/billing/usage/summary", s.billingSummary(s.orgUsage, billing.EndpointSummary))
	s.handle(mux, "GET /organizations/{org}/settings/billing/premium_request/usage", s.billingSummary(s.orgUsage, billing.EndpointPremiumRequest))
	s.handle(mux, "GET /organizations/{org}/settings/billing/ai_credit/usage", s.billingSummary(s.orgUsage, billing.EndpointAICredit))
	s.handle(mux, "GET /orgs/{org}/settings/billing/actions", s.billingActions(s.orgLegacy))
	s.handle(mux, "GET /orgs/{org}/settings/billing/packages", s.billingPackages(s.orgLegacy))
	s.handle(mux, "GET /orgs/{org}/settings/billing/shared-storage", s.billingSharedStorage(s.orgLegacy))
	s.handle(mux, "GET /orgs/{org}/settings/billing/advanced-security", s.billingAdvancedSecurity(s.orgUsage))
	s.handle(mux, "GET /users/{username}/settings/billing/usage", s.billingUsage(s.userUsage))
	s.handle(mux, "GET /users/{username}/settings/billing/usage/summary", s.billingSummary(s.userUsage, billing.EndpointSummary))
	s.handle(mux, "GET /users/{username}/settings/billing/premium_request/usage", s.billingSummary(s.userUsage, billing.EndpointPremiumRequest))
	s.handle(mux, "GET /users/{username}/settings/billing/ai_credit/usage", s.billingSummary(s.userUsage, billing.EndpointAICredit))
	s.handle(mux, "GET /users/{username}/settings/billing/actions", s.billingActions(s.userLegacy))
	s.handle(mux, "GET /users/{username}/settings/billing/packages", s.billingPackages(s.userLegacy))
	s.handle(mux, "GET /users/{username}/settings/billing/shared-storage", s.billingSharedStorage(s.userLegacy))
	s.handle(mux, "POST /enterprises/{enterprise}/settings/billing/reports", s.handleCreateReport)
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/reports", s.handleListReports)
	s.handle(mux, "GET /enterprises/{enterprise}/settings/billing/reports/{report_id}", s.handleGetReport)
	s.handleRoute(mux, &Route{Method: http.MethodPost, Pattern: BillingIngestPath, MaxBodyBytes: IngestMaxBodyBytes}, s.handleIngestBillingUsage)
	s.operation(mux, "POST "+WebhookPath, http.HandlerFunc(s.handleGitHubWebhook))

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

	// Copilot usage metrics reports and their ingestion (seed 003;
	// copilot.go, doc/copilot.md).
	s.handle(mux, "GET /enterprises/{enterprise}/copilot/metrics/reports/enterprise-1-day", s.enterpriseReport(copilot.KindAggregate1, false))
	s.handle(mux, "GET /enterprises/{enterprise}/copilot/metrics/reports/enterprise-28-day/latest", s.enterpriseReport(copilot.KindAggregate28, true))
	s.handle(mux, "GET /enterprises/{enterprise}/copilot/metrics/reports/users-1-day", s.enterpriseReport(copilot.KindUsers1, false))
	s.handle(mux, "GET /enterprises/{enterprise}/copilot/metrics/reports/users-28-day/latest", s.enterpriseReport(copilot.KindUsers28, true))
	s.handle(mux, "GET /enterprises/{enterprise}/copilot/metrics/reports/user-teams-1-day", s.enterpriseReport(copilot.KindUserTeams1, false))
	s.handle(mux, "GET /enterprises/{enterprise}/copilot/metrics/reports/repos-1-day", s.enterpriseReport(copilot.KindRepos1, false))
	s.handle(mux, "GET /orgs/{org}/copilot/metrics/reports/organization-1-day", s.orgReport(copilot.KindAggregate1, false))
	s.handle(mux, "GET /orgs/{org}/copilot/metrics/reports/organization-28-day/latest", s.orgReport(copilot.KindAggregate28, true))
	s.handle(mux, "GET /orgs/{org}/copilot/metrics/reports/users-1-day", s.orgReport(copilot.KindUsers1, false))
	s.handle(mux, "GET /orgs/{org}/copilot/metrics/reports/users-28-day/latest", s.orgReport(copilot.KindUsers28, true))
	s.handle(mux, "GET /orgs/{org}/copilot/metrics/reports/user-teams-1-day", s.orgReport(copilot.KindUserTeams1, false))
	s.handle(mux, "GET /orgs/{org}/copilot/metrics/reports/repos-1-day", s.orgReport(copilot.KindRepos1, false))
	s.handleRoute(mux, &Route{Method: http.MethodPost, Pattern: CopilotIngestPath, MaxBodyBytes: IngestMaxBodyBytes}, s.handleIngestCopilotUsage)

	// Copilot seats and the team reads dashboards call beside the reports
	// (GitHub's seat API; copilot_seats.go).
	s.handle(mux, "GET /orgs/{org}/copilot/billing", s.handleOrgCopilotBilling)
	s.handle(mux, "GET /orgs/{org}/copilot/billing/seats", s.handleOrgCopilotSeats)
	s.handle(mux, "POST /orgs/{org}/copilot/billing/selected_users", s.orgSeatChange(true, false))
	s.handle(mux, "DELETE /orgs/{org}/copilot/billing/selected_users", s.orgSeatChange(false, false))
	s.handle(mux, "POST /orgs/{org}/copilot/billing/selected_teams", s.orgSeatChange(true, true))
	s.handle(mux, "DELETE /orgs/{org}/copilot/billing/selected_teams", s.orgSeatChange(false, true))
	s.handle(mux, "GET /orgs/{org}/members/{username}/copilot", s.handleOrgMemberSeat)
	s.handle(mux, "GET /enterprises/{enterprise}/copilot/billing/seats", s.handleEnterpriseCopilotSeats)
	s.handle(mux, "POST /enterprises/{enterprise}/copilot/billing/selected_users", s.enterpriseSeatChange(true, false))
	s.handle(mux, "DELETE /enterprises/{enterprise}/copilot/billing/selected_users", s.enterpriseSeatChange(false, false))
	s.handle(mux, "POST /enterprises/{enterprise}/copilot/billing/selected_enterprise_teams", s.enterpriseSeatChange(true, true))
	s.handle(mux, "DELETE /enterprises/{enterprise}/copilot/billing/selected_enterprise_teams", s.enterpriseSeatChange(false, true))
	s.handle(mux, "GET /enterprises/{enterprise}/members/{username}/copilot", s.handleEnterpriseMemberSeat)
	s.handle(mux, "GET /orgs/{org}/teams", s.handleListTeams)
	s.handle(mux, "GET /orgs/{org}/teams/{team_slug}", s.handleGetTeam)
	s.handle(mux, "GET /orgs/{org}/teams/{team_slug}/members", s.handleTeamMembers)
	s.handle(mux, "GET /orgs/{org}/teams/{team_slug}/memberships/{username}", s.handleTeamMembership)

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
