package usage

import (
	"context"
	"time"
)

// AccountStore keeps enterprises, organizations, users, teams,
// repositories, apps and their installations. Lookups by login or slug are
// case-insensitive, as on GitHub. Methods return an error of KindNotFound
// for a missing account and KindConflict for a duplicate login or slug.
// Create methods assign the ID when it is zero.
type AccountStore interface {
	CreateEnterprise(ctx context.Context, e *Enterprise) error
	EnterpriseBySlug(ctx context.Context, slug string) (*Enterprise, error)
	ListEnterprises(ctx context.Context) ([]*Enterprise, error)

	CreateOrganization(ctx context.Context, o *Organization) error
	OrganizationByLogin(ctx context.Context, login string) (*Organization, error)
	// ListOrganizations lists all organizations, or those of one enterprise
	// when enterpriseID is not 0, by id.
	ListOrganizations(ctx context.Context, enterpriseID int64) ([]*Organization, error)

	CreateUser(ctx context.Context, u *User) error
	UserByLogin(ctx context.Context, login string) (*User, error)
	UserByID(ctx context.Context, id int64) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)

	// SetOrgRole makes user a member (RoleMember) or owner (RoleAdmin) of org.
	SetOrgRole(ctx context.Context, orgID, userID int64, role string) error
	// SetEnterpriseRole makes user a member or owner (RoleOwner) of an enterprise.
	SetEnterpriseRole(ctx context.Context, enterpriseID, userID int64, role string) error
	// Roles returns the user's roles, keyed by lower-cased organization login
	// and enterprise slug.
	Roles(ctx context.Context, userID int64) (orgs, enterprises map[string]string, err error)

	CreateTeam(ctx context.Context, t *Team) error
	AddTeamMember(ctx context.Context, teamID, userID int64) error
	ListTeams(ctx context.Context, orgID int64) ([]*Team, error)

	CreateRepository(ctx context.Context, r *Repository) error
	ListRepositories(ctx context.Context, ownerLogin string) ([]*Repository, error)

	CreateApp(ctx context.Context, a *App) error
	AppByID(ctx context.Context, id int64) (*App, error)
	ListApps(ctx context.Context) ([]*App, error)
	CreateInstallation(ctx context.Context, i *Installation) error
	InstallationByID(ctx context.Context, id int64) (*Installation, error)
	ListInstallations(ctx context.Context) ([]*Installation, error)
	CreateOAuthApp(ctx context.Context, a *OAuthApp) error
	OAuthAppByID(ctx context.Context, id int64) (*OAuthApp, error)
	ListOAuthApps(ctx context.Context) ([]*OAuthApp, error)
}

// TokenStore keeps tokens by hash; the token string is never stored.
type TokenStore interface {
	CreateToken(ctx context.Context, t *Token) error
	// TokenByHash returns the token whose Hash equals hash, or KindNotFound.
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	// ListTokens lists the tokens acting for a user, or all when userID is 0.
	ListTokens(ctx context.Context, userID int64) ([]*Token, error)
	// RevokeToken marks a token revoked at at; revoking twice is not an error.
	RevokeToken(ctx context.Context, id int64, at time.Time) error
}

// Store is everything the foundation needs from a backend. API families
// add their own store interfaces beside it.
type Store interface {
	AccountStore
	TokenStore
	// Ping reports whether the backend answers; /readyz uses it.
	Ping(ctx context.Context) error
	Close() error
}
