package httpapi

import (
	"net/http"

	"github.com/ghusage/ghusage/internal/usage"
)

// handleGetAuthenticatedUser answers GET /user for user tokens, so clients
// can check who a token acts for.
func (s *Server) handleGetAuthenticatedUser(w http.ResponseWriter, r *http.Request) error {
	a := usage.ActorFrom(r.Context())
	if !a.Authenticated() {
		return usage.ErrRequiresAuthentication
	}
	if a.User == nil {
		return usage.Errorf(usage.KindForbidden, "Resource not accessible by integration")
	}
	u := a.User
	writeJSON(w, http.StatusOK, map[string]any{
		"login": u.Login, "id": u.ID, "type": "User", "site_admin": u.SiteAdmin, "name": u.Name,
		"created_at": u.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"),
	})
	return nil
}
