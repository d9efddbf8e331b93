package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ghusage/ghusage/internal/usage"
)

var _ usage.Store = (*DB)(nil)

// insert runs sql, an INSERT ... RETURNING id whose $1 is the id, NULL for
// a fresh one taken from the table's sequence (written as
// COALESCE($1, nextval('T_id_seq'))). A given id is kept and the sequence is
// moved past it, so later fresh ids do not collide; a fresh id that
// collides anyway with a concurrent explicit one is retried.
func (db *DB) insert(ctx context.Context, table string, id int64, sql string, args ...any) (int64, error) {
	args = append([]any{nullID(id)}, args...)
	for attempt := 0; ; attempt++ {
		var got int64
		err := db.pool.QueryRow(ctx, sql, args...).Scan(&got)
		if err == nil {
			if id != 0 {
				bump := fmt.Sprintf(`SELECT setval('%[1]s_id_seq', GREATEST((SELECT max(id) FROM %[1]s), (SELECT last_value FROM %[1]s_id_seq)))`, table)
				if _, err := db.pool.Exec(ctx, bump); err != nil {
					return got, wrap(err, "advance "+table+" ids")
				}
			}
			return got, nil
		}
		var pe *pgconn.PgError
		if id == 0 && attempt < 3 && errors.As(err, &pe) && pe.ConstraintName == table+"_pkey" {
			continue
		}
		return 0, wrap(err, "insert into "+table)
	}
}

func validRole(role string, allowed ...string) error {
	for _, a := range allowed {
		if role == a {
			return nil
		}
	}
	return usage.Invalid("Membership", "role", fmt.Sprintf("role %q is not one of %v", role, allowed))
}

// CreateEnterprise stores e, assigning its ID when zero.
func (db *DB) CreateEnterprise(ctx context.Context, e *usage.Enterprise) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = db.now().UTC()
	}
	id, err := db.insert(ctx, "enterprises", e.ID,
		`INSERT INTO enterprises (id, slug, name, created_at)
		VALUES (COALESCE($1, nextval('enterprises_id_seq')), $2, $3, $4) RETURNING id`,
		e.Slug, e.Name, e.CreatedAt.UTC())
	if err != nil {
		return err
	}
	e.ID = id
	return nil
}

const enterpriseCols = `id, slug, name, created_at`

func scanEnterprise(row pgx.CollectableRow) (*usage.Enterprise, error) {
	var e usage.Enterprise
	err := row.Scan(&e.ID, &e.Slug, &e.Name, &e.CreatedAt)
	e.CreatedAt = e.CreatedAt.UTC()
	return &e, err
}

// EnterpriseBySlug finds an enterprise ignoring case.
func (db *DB) EnterpriseBySlug(ctx context.Context, slug string) (*usage.Enterprise, error) {
	return queryOne(ctx, db, "enterprise by slug", scanEnterprise,
		`SELECT `+enterpriseCols+` FROM enterprises WHERE lower(slug) = lower($1)`, slug)
}

// ListEnterprises lists every enterprise by id.
func (db *DB) ListEnterprises(ctx context.Context) ([]*usage.Enterprise, error) {
	return queryAll(ctx, db, "list enterprises", scanEnterprise,
		`SELECT `+enterpriseCols+` FROM enterprises ORDER BY id`)
}

// CreateOrganization stores o, assigning its ID when zero.
func (db *DB) CreateOrganization(ctx context.Context, o *usage.Organization) error {
	if o.CreatedAt.IsZero() {
		o.CreatedAt = db.now().UTC()
	}
	id, err := db.insert(ctx, "organizations", o.ID,
		`INSERT INTO organizations (id, login, enterprise_id, created_at)
		VALUES (COALESCE($1, nextval('organizations_id_seq')), $2, $3, $4) RETURNING id`,
		o.Login, nullID(o.EnterpriseID), o.CreatedAt.UTC())
	if err != nil {
		return err
	}
	o.ID = id
	return nil
}

const orgCols = `id, login, enterprise_id, created_at`

func scanOrg(row pgx.CollectableRow) (*usage.Organization, error) {
	var o usage.Organization
	var ent *int64
	err := row.Scan(&o.ID, &o.Login, &ent, &o.CreatedAt)
	o.EnterpriseID = idOf(ent)
	o.CreatedAt = o.CreatedAt.UTC()
	return &o, err
}

// OrganizationByLogin finds an organization ignoring case.
func (db *DB) OrganizationByLogin(ctx context.Context, login string) (*usage.Organization, error) {
	return queryOne(ctx, db, "organization by login", scanOrg,
		`SELECT `+orgCols+` FROM organizations WHERE lower(login) = lower($1)`, login)
}

// ListOrganizations lists all organizations, or an enterprise's, by id.
func (db *DB) ListOrganizations(ctx context.Context, enterpriseID int64) ([]*usage.Organization, error) {
	if enterpriseID == 0 {
		return queryAll(ctx, db, "list organizations", scanOrg,
			`SELECT `+orgCols+` FROM organizations ORDER BY id`)
	}
	return queryAll(ctx, db, "list organizations", scanOrg,
		`SELECT `+orgCols+` FROM organizations WHERE enterprise_id = $1 ORDER BY id`, enterpriseID)
}

// CreateUser stores u, assigning its ID when zero.
func (db *DB) CreateUser(ctx context.Context, u *usage.User) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = db.now().UTC()
	}
	id, err := db.insert(ctx, "users", u.ID,
		`INSERT INTO users (id, login, name, site_admin, created_at, email, suspended_at)
		VALUES (COALESCE($1, nextval('users_id_seq')), $2, $3, $4, $5, $6, $7) RETURNING id`,
		u.Login, u.Name, u.SiteAdmin, u.CreatedAt.UTC(), u.Email, nullTime(u.SuspendedAt))
	if err != nil {
		return err
	}
	u.ID = id
	return nil
}

const userCols = `id, login, name, site_admin, created_at, email, suspended_at`

func scanUser(row pgx.CollectableRow) (*usage.User, error) {
	var u usage.User
	var suspended *time.Time
	err := row.Scan(&u.ID, &u.Login, &u.Name, &u.SiteAdmin, &u.CreatedAt, &u.Email, &suspended)
	u.CreatedAt = u.CreatedAt.UTC()
	if suspended != nil {
		u.SuspendedAt = suspended.UTC()
	}
	return &u, err
}

// UserByLogin finds a user ignoring case.
func (db *DB) UserByLogin(ctx context.Context, login string) (*usage.User, error) {
	return queryOne(ctx, db, "user by login", scanUser,
		`SELECT `+userCols+` FROM users WHERE lower(login) = lower($1)`, login)
}

// UserByID finds a user by id.
func (db *DB) UserByID(ctx context.Context, id int64) (*usage.User, error) {
	return queryOne(ctx, db, "user by id", scanUser, `SELECT `+userCols+` FROM users WHERE id = $1`, id)
}

// ListUsers lists every user by id.
func (db *DB) ListUsers(ctx context.Context) ([]*usage.User, error) {
	return queryAll(ctx, db, "list users", scanUser, `SELECT `+userCols+` FROM users ORDER BY id`)
}

// SetOrgRole makes a user a member or owner of an organization.
func (db *DB) SetOrgRole(ctx context.Context, orgID, userID int64, role string) error {
	if err := validRole(role, usage.RoleMember, usage.RoleAdmin); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, $3)
		ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`, orgID, userID, role)
	return wrap(err, "set org role")
}

// SetEnterpriseRole makes a user a member or owner of an enterprise.
func (db *DB) SetEnterpriseRole(ctx context.Context, enterpriseID, userID int64, role string) error {
	if err := validRole(role, usage.RoleMember, usage.RoleOwner); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO enterprise_members (enterprise_id, user_id, role) VALUES ($1, $2, $3)
		ON CONFLICT (enterprise_id, user_id) DO UPDATE SET role = excluded.role`, enterpriseID, userID, role)
	return wrap(err, "set enterprise role")
}

// Roles returns a user's roles keyed by lower-cased login and slug.
func (db *DB) Roles(ctx context.Context, userID int64) (orgs, enterprises map[string]string, err error) {
	rows, err := db.pool.Query(ctx, `
		SELECT 'o', lower(o.login), m.role FROM org_members m JOIN organizations o ON o.id = m.org_id WHERE m.user_id = $1
		UNION ALL
		SELECT 'e', lower(e.slug), m.role FROM enterprise_members m JOIN enterprises e ON e.id = m.enterprise_id WHERE m.user_id = $1`,
		userID)
	if err != nil {
		return nil, nil, wrap(err, "roles")
	}
	defer rows.Close()
	orgs, enterprises = map[string]string{}, map[string]string{}
	for rows.Next() {
		var kind, key, role string
		if err := rows.Scan(&kind, &key, &role); err != nil {
			return nil, nil, wrap(err, "roles")
		}
		if kind == "o" {
			orgs[key] = role
		} else {
			enterprises[key] = role
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, wrap(err, "roles")
	}
	return orgs, enterprises, nil
}

// CreateTeam stores t, assigning its ID when zero.
func (db *DB) CreateTeam(ctx context.Context, t *usage.Team) error {
	id, err := db.insert(ctx, "teams", t.ID,
		`INSERT INTO teams (id, org_id, slug, name)
		VALUES (COALESCE($1, nextval('teams_id_seq')), $2, $3, $4) RETURNING id`,
		t.OrgID, t.Slug, t.Name)
	if err != nil {
		return err
	}
	t.ID = id
	return nil
}

// AddTeamMember adds a user to a team; adding twice is not an error.
func (db *DB) AddTeamMember(ctx context.Context, teamID, userID int64) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, teamID, userID)
	return wrap(err, "add team member")
}

// ListTeams lists an organization's teams by id.
func (db *DB) ListTeams(ctx context.Context, orgID int64) ([]*usage.Team, error) {
	return queryAll(ctx, db, "list teams", func(row pgx.CollectableRow) (*usage.Team, error) {
		var t usage.Team
		err := row.Scan(&t.ID, &t.OrgID, &t.Slug, &t.Name)
		return &t, err
	}, `SELECT id, org_id, slug, name FROM teams WHERE org_id = $1 ORDER BY id`, orgID)
}

// CreateRepository stores r, assigning its ID when zero.
func (db *DB) CreateRepository(ctx context.Context, r *usage.Repository) error {
	id, err := db.insert(ctx, "repositories", r.ID,
		`INSERT INTO repositories (id, owner_login, name, private)
		VALUES (COALESCE($1, nextval('repositories_id_seq')), $2, $3, $4) RETURNING id`,
		r.OwnerLogin, r.Name, r.Private)
	if err != nil {
		return err
	}
	r.ID = id
	return nil
}

// ListRepositories lists an owner's repositories by id; the owner is
// matched ignoring case.
func (db *DB) ListRepositories(ctx context.Context, ownerLogin string) ([]*usage.Repository, error) {
	return queryAll(ctx, db, "list repositories", func(row pgx.CollectableRow) (*usage.Repository, error) {
		var r usage.Repository
		err := row.Scan(&r.ID, &r.OwnerLogin, &r.Name, &r.Private)
		return &r, err
	}, `SELECT id, owner_login, name, private FROM repositories WHERE lower(owner_login) = lower($1) ORDER BY id`, ownerLogin)
}

func perms(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// CreateApp stores a, assigning its ID when zero.
func (db *DB) CreateApp(ctx context.Context, a *usage.App) error {
	id, err := db.insert(ctx, "apps", a.ID,
		`INSERT INTO apps (id, slug, name, owner_login, client_id, permissions)
		VALUES (COALESCE($1, nextval('apps_id_seq')), $2, $3, $4, $5, $6) RETURNING id`,
		a.Slug, a.Name, a.OwnerLogin, a.ClientID, perms(a.Permissions))
	if err != nil {
		return err
	}
	a.ID = id
	return nil
}

const appCols = `id, slug, name, owner_login, client_id, permissions`

func scanApp(row pgx.CollectableRow) (*usage.App, error) {
	var a usage.App
	err := row.Scan(&a.ID, &a.Slug, &a.Name, &a.OwnerLogin, &a.ClientID, &a.Permissions)
	return &a, err
}

// AppByID finds a GitHub App.
func (db *DB) AppByID(ctx context.Context, id int64) (*usage.App, error) {
	return queryOne(ctx, db, "app by id", scanApp, `SELECT `+appCols+` FROM apps WHERE id = $1`, id)
}

// ListApps lists every GitHub App by id.
func (db *DB) ListApps(ctx context.Context) ([]*usage.App, error) {
	return queryAll(ctx, db, "list apps", scanApp, `SELECT `+appCols+` FROM apps ORDER BY id`)
}

// CreateInstallation stores i, assigning its ID when zero.
func (db *DB) CreateInstallation(ctx context.Context, i *usage.Installation) error {
	id, err := db.insert(ctx, "installations", i.ID,
		`INSERT INTO installations (id, app_id, account_login, account_type, permissions, repositories)
		VALUES (COALESCE($1, nextval('installations_id_seq')), $2, $3, $4, $5, $6) RETURNING id`,
		i.AppID, i.AccountLogin, i.AccountType, perms(i.Permissions), i.Repositories)
	if err != nil {
		return err
	}
	i.ID = id
	return nil
}

// installationCols reads an installation (alias i) with the member count of
// the organization it is installed on (logins compare without case).
const installationCols = `i.id, i.app_id, i.account_login, i.account_type, i.permissions, i.repositories,
	CASE WHEN i.account_type = 'Organization' THEN (SELECT count(*) FROM org_members r JOIN organizations o ON o.id = r.org_id
		WHERE lower(o.login) = lower(i.account_login)) ELSE 0 END`

func scanInstallation(row pgx.CollectableRow) (*usage.Installation, error) {
	var i usage.Installation
	err := row.Scan(&i.ID, &i.AppID, &i.AccountLogin, &i.AccountType, &i.Permissions, &i.Repositories, &i.Members)
	return &i, err
}

// InstallationByID finds an installation.
func (db *DB) InstallationByID(ctx context.Context, id int64) (*usage.Installation, error) {
	return queryOne(ctx, db, "installation by id", scanInstallation,
		`SELECT `+installationCols+` FROM installations i WHERE i.id = $1`, id)
}

// ListInstallations lists every installation by id.
func (db *DB) ListInstallations(ctx context.Context) ([]*usage.Installation, error) {
	return queryAll(ctx, db, "list installations", scanInstallation,
		`SELECT `+installationCols+` FROM installations i ORDER BY i.id`)
}

// CreateOAuthApp stores a, assigning its ID when zero.
func (db *DB) CreateOAuthApp(ctx context.Context, a *usage.OAuthApp) error {
	id, err := db.insert(ctx, "oauth_apps", a.ID,
		`INSERT INTO oauth_apps (id, name, client_id, owner_login)
		VALUES (COALESCE($1, nextval('oauth_apps_id_seq')), $2, $3, $4) RETURNING id`,
		a.Name, a.ClientID, a.OwnerLogin)
	if err != nil {
		return err
	}
	a.ID = id
	return nil
}

func scanOAuthApp(row pgx.CollectableRow) (*usage.OAuthApp, error) {
	var a usage.OAuthApp
	err := row.Scan(&a.ID, &a.Name, &a.ClientID, &a.OwnerLogin)
	return &a, err
}

// OAuthAppByID finds an OAuth app.
func (db *DB) OAuthAppByID(ctx context.Context, id int64) (*usage.OAuthApp, error) {
	return queryOne(ctx, db, "oauth app by id", scanOAuthApp,
		`SELECT id, name, client_id, owner_login FROM oauth_apps WHERE id = $1`, id)
}

// ListOAuthApps lists every OAuth app by id.
func (db *DB) ListOAuthApps(ctx context.Context) ([]*usage.OAuthApp, error) {
	return queryAll(ctx, db, "list oauth apps", scanOAuthApp,
		`SELECT id, name, client_id, owner_login FROM oauth_apps ORDER BY id`)
}

// queryOne returns the one row sql selects, or KindNotFound.
func queryOne[T any](ctx context.Context, db *DB, what string, scan pgx.RowToFunc[*T], sql string, args ...any) (*T, error) {
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, wrap(err, what)
	}
	v, err := pgx.CollectExactlyOneRow(rows, scan)
	if err != nil {
		return nil, wrap(err, what)
	}
	return v, nil
}

// queryAll returns every row sql selects.
func queryAll[T any](ctx context.Context, db *DB, what string, scan pgx.RowToFunc[*T], sql string, args ...any) ([]*T, error) {
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, wrap(err, what)
	}
	v, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, wrap(err, what)
	}
	return v, nil
}
