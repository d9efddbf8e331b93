package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// meter records an API request for API insights once it is answered. Only
// authenticated requests on API routes are metered. A request belongs to
// the organization named by its {org} path value; without one, to the
// organization an installation token is installed on; otherwise to no
// organization, and it is not recorded. A 404 on an {org} route is not
// recorded either (the organization may not exist, or be invisible to the
// caller). See doc/insights.md. now is the request's time, the one its
// token was checked at.
func (s *Server) meter(r *http.Request, rt *Route, actor *usage.Actor, now time.Time, status int, rateLimited bool) {
	if s.Meter == nil || rt.APIRoute == "" || !actor.Authenticated() {
		return
	}
	org := r.PathValue("org")
	if org != "" && status == http.StatusNotFound {
		return
	}
	if org == "" && actor.Installation != nil && strings.EqualFold(actor.Installation.AccountType, "Organization") {
		org = actor.Installation.AccountLogin
	}
	if org == "" {
		return
	}
	e := insights.Event{
		Timestamp:          now,
		Org:                strings.ToLower(org),
		ActorType:          actor.Type,
		ActorID:            actor.ID,
		ActorName:          actor.Name,
		OAuthApplicationID: actor.OAuthAppID,
		HTTPMethod:         r.Method,
		APIRoute:           rt.APIRoute,
		RateLimited:        rateLimited,
	}
	if e.ActorName == "" {
		e.ActorName = string(actor.Type)
	}
	if actor.Token != nil && (actor.Type == usage.ActorInstallation || actor.Type == usage.ActorUserToServer) {
		e.IntegrationID = actor.Token.AppID
	}
	switch {
	case actor.User != nil:
		e.UserID, e.UserLogin = actor.User.ID, actor.User.Login
		e.SubjectType, e.SubjectID, e.SubjectName = insights.SubjectUser, actor.User.ID, actor.User.Login
	case actor.Installation != nil:
		e.SubjectType, e.SubjectID, e.SubjectName = insights.SubjectInstallation, actor.Installation.ID, e.ActorName
	default:
		return
	}
	s.Meter.Record(e)
}
