package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// GitHub Enterprise Server's site-admin API for accounts and tokens
// (../shared/contract/ghes-admin-subset.openapi.json), doc/admin.md.
// Every /admin/* route and the site_admin and suspended routes answer 404
// to anyone but a site administrator with a site_admin-scoped token.

// InstalledVersion is the GitHub Enterprise Server release whose API
// ghusage's site-admin subset follows, reported by GET /meta.
const InstalledVersion = "3.19.0"

// ImpersonationAppName names the OAuth app impersonation tokens belong to.
const ImpersonationAppName = "GitHub Site Administrator"

// ImpersonationNote marks impersonation tokens (one live token per user).
const ImpersonationNote = "ghusage impersonation token"

// patClientID is the client_id GitHub reports for personal access tokens,
// which belong to no OAuth app.
const patClientID = "00000000000000000000"

// adminOnly wraps a site-admin handler: the caller must be a site
// administrator, and the store must support the site-admin operations.
func (s *Server) adminOnly(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := usage.RequireSiteAdmin(usage.ActorFrom(r.Context())); err != nil {
			return err
		}
		if s.Admin == nil {
			return errNotFound
		}
		return h(w, r)
	}
}

// decodeBody reads a JSON object into v. An empty body is allowed when
// optional is true; anything that is not a JSON object of the right types
// is GitHub's 400 "Problems parsing JSON".
func decodeBody(r *http.Request, v any, optional bool) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err // a *http.MaxBytesError becomes 413
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		if optional {
			return nil
		}
		return usage.Errorf(usage.KindBadRequest, "Problems parsing JSON")
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &usage.Error{Kind: usage.KindInvalid, Message: "Invalid request.",
				Fields: []usage.FieldError{{Field: te.Field, Code: "invalid", Message: fmt.Sprintf("%s is not a %s", te.Field, te.Type)}}}
		}
		return usage.Errorf(usage.KindBadRequest, "Problems parsing JSON")
	}
	return nil
}

func missingField(resource, field string) error {
	return &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed",
		Fields: []usage.FieldError{{Resource: resource, Field: field, Code: "missing_field"}}}
}

func alreadyExists(resource, field string) error {
	return &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed",
		Fields: []usage.FieldError{{Resource: resource, Field: field, Code: "already_exists"}}}
}

// conflictAsExists turns a store conflict on a login into GitHub's 422.
func conflictAsExists(err error, resource string) error {
	if usage.ErrorKind(err) == usage.KindConflict {
		return alreadyExists(resource, "login")
	}
	return err
}

// userByLogin finds the user named in the path; 404 when there is none.
func (s *Server) userByLogin(ctx context.Context, login string) (*usage.User, error) {
	u, err := s.Store.UserByLogin(ctx, login)
	if err != nil {
		return nil, err
	}
	return u, nil
}

func self(r *http.Request, u *usage.User) bool {
	return usage.ActorFrom(r.Context()).UserID() == u.ID
}

func (s *Server) handleAdminCreateUser(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Login     *string `json:"login"`
		Email     string  `json:"email"`
		Suspended bool    `json:"suspended"`
	}
	if err := decodeBody(r, &body, false); err != nil {
		return err
	}
	if body.Login == nil || *body.Login == "" {
		return missingField("User", "login")
	}
	login, err := usage.NormalizeLogin("User", *body.Login)
	if err != nil {
		return err
	}
	now := s.Now().UTC().Truncate(time.Second)
	u := &usage.User{Login: login, Email: body.Email, CreatedAt: now}
	if body.Suspended {
		u.SuspendedAt = now
	}
	if _, err := s.Store.OrganizationByLogin(r.Context(), login); err == nil {
		return alreadyExists("User", "login") // one namespace for users and organizations
	}
	if err := s.Store.CreateUser(r.Context(), u); err != nil {
		return conflictAsExists(err, "User")
	}
	writeJSON(w, http.StatusCreated, simpleUser(r, u))
	return nil
}

func (s *Server) handleAdminRenameUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.userByLogin(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	var body struct {
		Login *string `json:"login"`
	}
	if err := decodeBody(r, &body, false); err != nil {
		return err
	}
	if body.Login == nil || *body.Login == "" {
		return missingField("User", "login")
	}
	login, err := usage.NormalizeLogin("User", *body.Login)
	if err != nil {
		return err
	}
	if _, err := s.Store.OrganizationByLogin(r.Context(), login); err == nil {
		return alreadyExists("User", "login")
	}
	if err := s.Admin.RenameUser(r.Context(), u.ID, login); err != nil {
		return conflictAsExists(err, "User")
	}
	s.tokens.forget(func(a *usage.Actor) bool { return a.UserID() == u.ID })
	writeJSON(w, http.StatusAccepted, map[string]string{
		"message": "Job queued to rename user. It may take a few minutes to complete.",
		"url":     apiBase(r) + "/users/" + login,
	})
	return nil
}

func (s *Server) handleAdminDeleteUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.userByLogin(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	if self(r, u) {
		return usage.Errorf(usage.KindForbidden, "You cannot delete your own account.")
	}
	if err := s.Admin.DeleteUser(r.Context(), u.ID); err != nil {
		return err
	}
	s.tokens.forget(func(a *usage.Actor) bool { return a.UserID() == u.ID })
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleAdminSiteAdmin(on bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		u, err := s.userByLogin(r.Context(), r.PathValue("username"))
		if err != nil {
			return err
		}
		if !on && self(r, u) {
			return usage.Errorf(usage.KindForbidden, "You cannot demote yourself.")
		}
		if err := s.Admin.SetSiteAdmin(r.Context(), u.ID, on); err != nil {
			return err
		}
		s.tokens.forget(func(a *usage.Actor) bool { return a.UserID() == u.ID })
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) handleAdminSuspend(on bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		u, err := s.userByLogin(r.Context(), r.PathValue("username"))
		if err != nil {
			return err
		}
		var body struct {
			Reason string `json:"reason"`
		}
		if err := decodeBody(r, &body, true); err != nil {
			return err
		}
		if on && self(r, u) {
			return usage.Errorf(usage.KindForbidden, "You cannot suspend yourself.")
		}
		var at time.Time
		if on {
			at = s.Now().UTC().Truncate(time.Second)
			if u.Suspended() {
				at = u.SuspendedAt // suspending again keeps the first time
			}
		}
		if err := s.Admin.SetSuspended(r.Context(), u.ID, at); err != nil {
			return err
		}
		s.Logger.InfoContext(r.Context(), map[bool]string{true: "user suspended", false: "user unsuspended"}[on],
			"user", u.Login, "by", usage.ActorFrom(r.Context()).User.Login, "reason", body.Reason)
		// This replica forgets the user's tokens now; others within --token-cache-ttl.
		s.tokens.forget(func(a *usage.Actor) bool { return a.UserID() == u.ID })
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) handleAdminCreateOrg(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Login       *string `json:"login"`
		Admin       *string `json:"admin"`
		ProfileName string  `json:"profile_name"`
	}
	if err := decodeBody(r, &body, false); err != nil {
		return err
	}
	if body.Login == nil || *body.Login == "" {
		return missingField("Organization", "login")
	}
	if body.Admin == nil || *body.Admin == "" {
		return missingField("Organization", "admin")
	}
	login, err := usage.NormalizeLogin("Organization", *body.Login)
	if err != nil {
		return err
	}
	owner, err := s.Store.UserByLogin(r.Context(), *body.Admin)
	if usage.IsNotFound(err) {
		return usage.Invalid("Organization", "admin", fmt.Sprintf("no user %q", *body.Admin))
	} else if err != nil {
		return err
	}
	if _, err := s.Store.UserByLogin(r.Context(), login); err == nil {
		return alreadyExists("Organization", "login")
	}
	org := &usage.Organization{Login: login, CreatedAt: s.Now().UTC().Truncate(time.Second)}
	if err := s.Store.CreateOrganization(r.Context(), org); err != nil {
		return conflictAsExists(err, "Organization")
	}
	if err := s.Store.SetOrgRole(r.Context(), org.ID, owner.ID, usage.RoleAdmin); err != nil {
		return err
	}
	s.tokens.forget(func(a *usage.Actor) bool { return a.UserID() == owner.ID })
	writeJSON(w, http.StatusCreated, simpleOrg(r, org))
	return nil
}

func (s *Server) handleAdminRenameOrg(w http.ResponseWriter, r *http.Request) error {
	org, err := s.Store.OrganizationByLogin(r.Context(), r.PathValue("org"))
	if err != nil {
		return err
	}
	var body struct {
		Login *string `json:"login"`
	}
	if err := decodeBody(r, &body, false); err != nil {
		return err
	}
	if body.Login == nil || *body.Login == "" {
		return missingField("Organization", "login")
	}
	login, err := usage.NormalizeLogin("Organization", *body.Login)
	if err != nil {
		return err
	}
	if _, err := s.Store.UserByLogin(r.Context(), login); err == nil {
		return alreadyExists("Organization", "login")
	}
	if err := s.Admin.RenameOrganization(r.Context(), org.ID, login); err != nil {
		return conflictAsExists(err, "Organization")
	}
	// Cached actors carry roles keyed by the old login.
	s.tokens.forget(func(*usage.Actor) bool { return true })
	writeJSON(w, http.StatusAccepted, map[string]string{
		"message": "Job queued to rename organization. It may take a few minutes to complete.",
		"url":     apiBase(r) + "/orgs/" + login,
	})
	return nil
}

// impersonationApp returns the OAuth app impersonation tokens belong to,
// creating it on first use.
func (s *Server) impersonationApp(ctx context.Context) (*usage.OAuthApp, error) {
	apps, err := s.Store.ListOAuthApps(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range apps {
		if a.Name == ImpersonationAppName && a.OwnerLogin == "" {
			return a, nil
		}
	}
	a := &usage.OAuthApp{Name: ImpersonationAppName, ClientID: "Iv1.ghusageimperson"}
	return a, s.Store.CreateOAuthApp(ctx, a)
}

// impersonationTokens lists the user's live impersonation tokens.
func (s *Server) impersonationTokens(ctx context.Context, userID, appID int64) ([]*usage.Token, error) {
	toks, err := s.Store.ListTokens(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	var out []*usage.Token
	for _, t := range toks {
		if t.Type == usage.ActorOAuthApp && t.OAuthAppID == appID && t.Note == ImpersonationNote && t.Usable(now) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *Server) revokeTokens(ctx context.Context, toks []*usage.Token) error {
	now := s.Now()
	for _, t := range toks {
		if err := s.Store.RevokeToken(ctx, t.ID, now); err != nil {
			return err
		}
		id := t.ID
		s.tokens.forget(func(a *usage.Actor) bool { return a.Token != nil && a.Token.ID == id })
	}
	return nil
}

// handleAdminCreateImpersonation mints an OAuth token acting for the
// user with the given scopes. Only hashes are stored, so an existing
// token cannot be shown again: every call makes a new one (201) and
// revokes the user's previous impersonation token.
func (s *Server) handleAdminCreateImpersonation(w http.ResponseWriter, r *http.Request) error {
	u, err := s.userByLogin(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	var body struct {
		Scopes *[]string `json:"scopes"`
	}
	if err := decodeBody(r, &body, false); err != nil {
		return err
	}
	if body.Scopes == nil {
		return missingField("OauthAccess", "scopes")
	}
	scopes := []string{}
	for _, sc := range *body.Scopes {
		if !slices.Contains(usage.ClassicScopes, sc) {
			return usage.Invalid("OauthAccess", "scopes", fmt.Sprintf("%q is not a known scope", sc))
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	app, err := s.impersonationApp(r.Context())
	if err != nil {
		return err
	}
	old, err := s.impersonationTokens(r.Context(), u.ID, app.ID)
	if err != nil {
		return err
	}
	secret := usage.NewTokenString(usage.ActorOAuthApp)
	t := &usage.Token{Type: usage.ActorOAuthApp, Hash: usage.HashToken(secret), LastEight: secret[len(secret)-8:],
		UserID: u.ID, OAuthAppID: app.ID, Note: ImpersonationNote, Scopes: scopes, CreatedAt: s.Now().UTC().Truncate(time.Second)}
	if err := s.Store.CreateToken(r.Context(), t); err != nil {
		return err
	}
	if err := s.revokeTokens(r.Context(), old); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, authorization(r, t, secret, app, u))
	return nil
}

func (s *Server) handleAdminDeleteImpersonation(w http.ResponseWriter, r *http.Request) error {
	u, err := s.userByLogin(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	app, err := s.impersonationApp(r.Context())
	if err != nil {
		return err
	}
	toks, err := s.impersonationTokens(r.Context(), u.ID, app.ID)
	if err != nil {
		return err
	}
	if err := s.revokeTokens(r.Context(), toks); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// isPAT reports whether t is a personal access token (classic or fine-grained).
func isPAT(t *usage.Token) bool {
	return t.Type == usage.ActorClassicPAT || t.Type == usage.ActorFineGrainedPAT
}

// handleAdminListTokens lists the live personal access tokens of every
// user, by id, paginated.
func (s *Server) handleAdminListTokens(w http.ResponseWriter, r *http.Request) error {
	p, err := usage.ParsePage(r.URL.Query(), "Authorization")
	if err != nil {
		return err
	}
	all, err := s.Store.ListTokens(r.Context(), 0)
	if err != nil {
		return err
	}
	now := s.Now()
	var toks []*usage.Token
	for _, t := range all {
		if isPAT(t) && t.Usable(now) {
			toks = append(toks, t)
		}
	}
	slices.SortFunc(toks, func(a, b *usage.Token) int { return int(a.ID - b.ID) })
	setLink(w, r, p, len(toks))
	lo := min(p.Offset(), len(toks))
	hi := min(lo+p.PerPage, len(toks))
	users := map[int64]*usage.User{}
	out := make([]map[string]any, 0, hi-lo)
	for _, t := range toks[lo:hi] {
		u, ok := users[t.UserID]
		if !ok {
			if u, err = s.Store.UserByID(r.Context(), t.UserID); err != nil && !usage.IsNotFound(err) {
				return err
			}
			users[t.UserID] = u
		}
		out = append(out, authorization(r, t, "", nil, u))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleAdminDeleteToken(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("token_id"), 10, 64)
	if err != nil || id <= 0 {
		return errNotFound
	}
	if a := usage.ActorFrom(r.Context()); a.Token != nil && a.Token.ID == id {
		return usage.Errorf(usage.KindForbidden, "You cannot delete the personal access token this request uses.")
	}
	all, err := s.Store.ListTokens(r.Context(), 0)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(all, func(t *usage.Token) bool { return t.ID == id })
	if i < 0 || !isPAT(all[i]) || !all[i].Usable(s.Now()) {
		return errNotFound
	}
	if err := s.revokeTokens(r.Context(), all[i:i+1]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleMeta(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"verifiable_password_authentication": false,
		"installed_version":                  InstalledVersion,
	})
	return nil
}

// handleGetUser answers GET /users/{username}: a user's public profile,
// to anyone, as on GitHub.
func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.userByLogin(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, publicUser(r, u))
	return nil
}

// handleGetOrg answers GET /orgs/{org} to its members, installations on
// it, fine-grained tokens owned by it, and site administrators; 404 to
// everyone else (ghusage shows no account to those outside it).
func (s *Server) handleGetOrg(w http.ResponseWriter, r *http.Request) error {
	a := usage.ActorFrom(r.Context())
	if !a.Authenticated() {
		return usage.ErrRequiresAuthentication
	}
	org, err := s.Store.OrganizationByLogin(r.Context(), r.PathValue("org"))
	if err != nil {
		return err
	}
	key := strings.ToLower(org.Login)
	visible := (a.User != nil && a.User.SiteAdmin) ||
		(a.Type == usage.ActorInstallation && a.Installation != nil && strings.EqualFold(a.Installation.AccountLogin, org.Login)) ||
		(a.Type == usage.ActorFineGrainedPAT && strings.EqualFold(a.Token.ResourceOwner, org.Login) && a.Orgs[key] != "") ||
		(a.Type != usage.ActorInstallation && a.Type != usage.ActorFineGrainedPAT && a.Orgs[key] != "")
	if !visible {
		return errNotFound
	}
	writeJSON(w, http.StatusOK, fullOrg(r, org))
	return nil
}

// apiBase is the API root the request came through: the public URL, or
// the request's scheme and host, with /api/v3 when the request used it.
func apiBase(r *http.Request) string {
	u := requestURL(r)
	base := u.Scheme + "://" + u.Host
	if strings.HasPrefix(u.Path, apiPrefix+"/") {
		base += apiPrefix
	}
	return base
}

// webBase is the site root (html_url), without /api/v3.
func webBase(r *http.Request) string { return strings.TrimSuffix(apiBase(r), apiPrefix) }

func nodeID(kind string, id int64) string {
	// GitHub's legacy global ids: base64 of "<len>:<Type><id>".
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%02d:%s%d", len(kind), kind, id))
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// simpleUser is GitHub's "Simple User".
func simpleUser(r *http.Request, u *usage.User) map[string]any {
	api, web := apiBase(r)+"/users/"+u.Login, webBase(r)
	return map[string]any{
		"login": u.Login, "id": u.ID, "node_id": nodeID("User", u.ID),
		"avatar_url": web + "/identicons/" + u.Login + ".png", "gravatar_id": "",
		"url": api, "html_url": web + "/" + u.Login,
		"followers_url": api + "/followers", "following_url": api + "/following{/other_user}",
		"gists_url": api + "/gists{/gist_id}", "starred_url": api + "/starred{/owner}{/repo}",
		"subscriptions_url": api + "/subscriptions", "organizations_url": api + "/orgs",
		"repos_url": api + "/repos", "events_url": api + "/events{/privacy}",
		"received_events_url": api + "/received_events", "type": "User", "site_admin": u.SiteAdmin,
		"name": nullable(u.Name), "email": nullable(u.Email), "user_view_type": "public",
	}
}

// publicUser is GitHub's "Public User" (GET /users/{username}).
func publicUser(r *http.Request, u *usage.User) map[string]any {
	m := simpleUser(r, u)
	for k, v := range map[string]any{
		"company": nil, "blog": "", "location": nil, "hireable": nil, "bio": nil, "twitter_username": nil,
		"public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
		"created_at": ts(u.CreatedAt), "updated_at": ts(u.CreatedAt),
	} {
		m[k] = v
	}
	return m
}

// privateUser is GitHub's "Private User" (GET /user).
func privateUser(r *http.Request, u *usage.User) map[string]any {
	m := publicUser(r, u)
	for k, v := range map[string]any{
		"private_gists": 0, "total_private_repos": 0, "owned_private_repos": 0, "disk_usage": 0,
		"collaborators": 0, "two_factor_authentication": false,
	} {
		m[k] = v
	}
	if u.Suspended() {
		m["suspended_at"] = ts(u.SuspendedAt)
	}
	return m
}

// simpleOrg is GitHub's "Organization Simple".
func simpleOrg(r *http.Request, o *usage.Organization) map[string]any {
	api := apiBase(r) + "/orgs/" + o.Login
	return map[string]any{
		"login": o.Login, "id": o.ID, "node_id": nodeID("Organization", o.ID), "url": api,
		"repos_url": api + "/repos", "events_url": api + "/events", "hooks_url": api + "/hooks",
		"issues_url": api + "/issues", "members_url": api + "/members{/member}",
		"public_members_url": api + "/public_members{/member}",
		"avatar_url":         webBase(r) + "/identicons/" + o.Login + ".png", "description": nil,
	}
}

// fullOrg is GitHub's "Organization Full" (GET /orgs/{org}).
func fullOrg(r *http.Request, o *usage.Organization) map[string]any {
	m := simpleOrg(r, o)
	for k, v := range map[string]any{
		"html_url": webBase(r) + "/" + o.Login, "type": "Organization",
		"has_organization_projects": true, "has_repository_projects": true,
		"public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
		"created_at": ts(o.CreatedAt), "updated_at": ts(o.CreatedAt), "archived_at": nil,
	} {
		m[k] = v
	}
	return m
}

// authorization is GitHub's "Authorization" for a token; secret is shown
// only when the token was just made. app nil describes a personal access
// token.
func authorization(r *http.Request, t *usage.Token, secret string, app *usage.OAuthApp, u *usage.User) map[string]any {
	appJSON := map[string]any{"name": "Personal access token", "url": DocsURL, "client_id": patClientID}
	if app != nil {
		appJSON = map[string]any{"name": app.Name, "url": webBase(r), "client_id": app.ClientID}
	}
	scopes := t.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	var expires any
	if !t.ExpiresAt.IsZero() {
		expires = ts(t.ExpiresAt)
	}
	var user any
	if u != nil {
		user = simpleUser(r, u)
	}
	return map[string]any{
		"id": t.ID, "url": apiBase(r) + "/authorizations/" + strconv.FormatInt(t.ID, 10),
		"scopes": scopes, "token": secret, "token_last_eight": t.LastEight,
		"hashed_token": base64.StdEncoding.EncodeToString(t.Hash), "app": appJSON,
		"note": nullable(t.Note), "note_url": nil, "fingerprint": nil,
		"created_at": ts(t.CreatedAt), "updated_at": ts(t.CreatedAt), "expires_at": expires,
		"user": user, "installation": nil,
	}
}
