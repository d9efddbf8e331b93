package usage

import (
	"slices"
	"strings"
)

// Access states what an endpoint requires, as its GitHub documentation
// page does: the classic scopes that allow it (any one of them), the
// fine-grained permission and level that allow it, and the role a user must
// hold in the account.
type Access struct {
	Scopes     []string // accepted classic scopes, any one suffices
	Permission string   // fine-grained permission, e.g. "organization_api_insights"
	Level      string   // "read", "write" or "admin"
	Role       string   // RoleMember, RoleAdmin (org owner) or RoleOwner (enterprise owner); "" = member
}

// impliedScopes lists, for a classic scope, the scopes it includes.
var impliedScopes = map[string][]string{
	"admin:org":        {"write:org", "read:org"},
	"write:org":        {"read:org"},
	"admin:enterprise": {"manage_runners:enterprise", "manage_billing:enterprise", "read:enterprise"},
	"repo":             {"repo:status", "repo_deployment", "public_repo", "repo:invite", "security_events"},
	"user":             {"read:user", "user:email", "user:follow"},
}

// HasScope reports whether the granted scopes include want, directly or
// through a broader scope.
func HasScope(granted []string, want string) bool {
	for _, g := range granted {
		if g == want || slices.Contains(impliedScopes[g], want) {
			return true
		}
	}
	return false
}

var levelRank = map[string]int{"read": 1, "write": 2, "admin": 3}

// HasPermission reports whether a fine-grained grant of perms includes perm at level.
func HasPermission(perms map[string]string, perm, level string) bool {
	if level == "" {
		level = "read"
	}
	return levelRank[perms[perm]] >= levelRank[level] && levelRank[perms[perm]] > 0
}

// ErrRequiresAuthentication is GitHub's 401 for a request without credentials.
var ErrRequiresAuthentication = &Error{Kind: KindUnauthenticated, Message: "Requires authentication"}

// ErrBadCredentials is GitHub's 401 for an unknown, expired or revoked token.
var ErrBadCredentials = &Error{Kind: KindBadCredentials, Message: "Bad credentials"}

func roleAllows(have, need string) bool {
	switch need {
	case "", RoleMember:
		return have != ""
	case RoleAdmin:
		return have == RoleAdmin
	case RoleOwner:
		return have == RoleOwner
	}
	return false
}

// AuthorizeOrg checks that a may use an endpoint of organization org that
// requires need. It answers 401 without credentials, 404 when org is not
// visible to a, and 403 (naming the accepted scopes) when a sees org but
// lacks the scope, permission or role.
func AuthorizeOrg(a *Actor, org *Organization, need Access) error {
	return authorize(a, org.Login, a.roleIn(a.Orgs, org.Login), need)
}

// AuthorizeEnterprise is AuthorizeOrg for an enterprise account.
func AuthorizeEnterprise(a *Actor, ent *Enterprise, need Access) error {
	return authorize(a, ent.Slug, a.roleIn(a.Enterprises, ent.Slug), need)
}

func (a *Actor) roleIn(roles map[string]string, login string) string {
	if a.User != nil && a.User.SiteAdmin {
		return RoleOwner // sees every account; roles are not checked for site admins
	}
	return roles[strings.ToLower(login)]
}

func authorize(a *Actor, login, role string, need Access) error {
	if !a.Authenticated() {
		return ErrRequiresAuthentication
	}
	t := a.Token
	siteAdmin := a.User != nil && a.User.SiteAdmin
	switch a.Type {
	case ActorInstallation:
		if a.Installation == nil || !strings.EqualFold(a.Installation.AccountLogin, login) {
			return ErrNotFound
		}
		if !HasPermission(t.Permissions, need.Permission, need.Level) {
			return Errorf(KindForbidden, "Resource not accessible by integration")
		}
		return nil
	case ActorFineGrainedPAT:
		if !strings.EqualFold(t.ResourceOwner, login) || role == "" {
			return ErrNotFound
		}
		if !HasPermission(t.Permissions, need.Permission, need.Level) {
			return Errorf(KindForbidden, "Resource not accessible by personal access token")
		}
	case ActorUserToServer:
		if role == "" {
			return ErrNotFound
		}
		if !HasPermission(t.Permissions, need.Permission, need.Level) {
			return Errorf(KindForbidden, "Resource not accessible by integration")
		}
	default: // classic PAT and OAuth app tokens carry scopes
		if role == "" {
			return ErrNotFound
		}
		ok := false
		for _, s := range need.Scopes {
			ok = ok || HasScope(t.Scopes, s)
		}
		if !ok && len(need.Scopes) > 0 {
			return &Error{Kind: KindForbidden, AcceptedScopes: need.Scopes,
				Message: "Resource not accessible by personal access token"}
		}
	}
	if !siteAdmin && !roleAllows(role, need.Role) {
		return Errorf(KindForbidden, "Must have %s privileges to access this resource", roleName(need.Role))
	}
	return nil
}

func roleName(r string) string {
	switch r {
	case RoleAdmin:
		return "organization owner"
	case RoleOwner:
		return "enterprise owner"
	}
	return "member"
}
