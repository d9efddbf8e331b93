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
	writeJSON(w, http.StatusOK, privateUser(r, a.User))
	return nil
}
