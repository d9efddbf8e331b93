package httpapi

import "net/http"

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

	// Ingestion of request events from gateways, proxies and logs (doc/insights.md).
	s.handleRoute(mux, &Route{Method: http.MethodPost, Pattern: IngestPath, MaxBodyBytes: IngestMaxBodyBytes}, s.handleIngestAPIRequests)

	// Files behind signed, expiring links (Copilot reports, billing
	// exports): the link is the credential, so outside the API pipeline.
	s.operation(mux, FilesPattern, http.HandlerFunc(s.handleDownload))

	// Copilot usage metrics reports, their ingestion, and Copilot seats
	// and team reads (seed 003; copilot.go, copilot_seats.go).
	s.copilotRoutes(mux)

	// Accounts and tokens.
	s.handle(mux, "GET /user", s.handleGetAuthenticatedUser)

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
