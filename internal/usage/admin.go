package usage

import (
	"context"
	"strings"
	"time"
)

// AdminStore is what GitHub's site-admin API needs beyond AccountStore and
// TokenStore: renaming, deleting, promoting and suspending accounts.
// Methods return KindNotFound for a missing account and KindConflict for
// a login already taken.
type AdminStore interface {
	// RenameUser changes a user's login.
	RenameUser(ctx context.Context, id int64, login string) error
	// DeleteUser removes a user, its memberships and its tokens, in one
	// transaction.
	DeleteUser(ctx context.Context, id int64) error
	// SetSiteAdmin promotes (true) or demotes (false) a user.
	SetSiteAdmin(ctx context.Context, id int64, on bool) error
	// SetSuspended suspends a user from at; the zero time unsuspends.
	SetSuspended(ctx context.Context, id int64, at time.Time) error
	// RenameOrganization changes an organization's login.
	RenameOrganization(ctx context.Context, id int64, login string) error
}

// ErrSuspended is GitHub's answer to any request made with the token of a
// suspended user (octokit and others recognise the message).
var ErrSuspended = &Error{Kind: KindForbidden, Message: "Sorry. Your account was suspended.",
	DocumentationURL: "https://docs.github.com/enterprise-server/admin/managing-accounts-and-repositories/managing-users-in-your-enterprise/suspending-and-unsuspending-users"}

// Suspended reports whether u is suspended.
func (u *User) Suspended() bool { return u != nil && !u.SuspendedAt.IsZero() }

// RequireSiteAdmin checks that a is a site administrator using a user
// token that carries the site_admin scope, as GitHub Enterprise Server's
// site-admin API requires. Everyone else gets 404, as the API is invisible
// to them; an administrator whose token lacks the scope gets 403 naming it.
func RequireSiteAdmin(a *Actor) error {
	if !a.Authenticated() {
		return ErrRequiresAuthentication
	}
	if a.User == nil || !a.User.SiteAdmin {
		return ErrNotFound
	}
	switch a.Type {
	case ActorClassicPAT, ActorOAuthApp:
		if !HasScope(a.Token.Scopes, "site_admin") {
			return &Error{Kind: KindForbidden, AcceptedScopes: []string{"site_admin"},
				Message: "Resource not accessible by personal access token"}
		}
		return nil
	}
	return ErrNotFound
}

// NormalizeLogin turns a requested login into the one GitHub Enterprise
// Server creates: only ASCII letters, digits and single hyphens, none at
// either end ("octo_cat" becomes "octo-cat"). It returns "" when nothing
// usable is left, and refuses logins longer than 39 characters.
func NormalizeLogin(resource, s string) (string, error) {
	var b strings.Builder
	hyphen := false
	for _, c := range s {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if alnum {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(c)
			continue
		}
		hyphen = true
	}
	out := b.String()
	if out == "" {
		return "", Invalid(resource, "login", "login must contain letters or digits")
	}
	if len(out) > 39 {
		return "", Invalid(resource, "login", "login is at most 39 characters")
	}
	return out, nil
}
