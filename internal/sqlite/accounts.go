package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/ghusage/ghusage/internal/usage"
)

// insertID runs an INSERT and stores the assigned id in *id when it was 0.
func (db *DB) insertID(ctx context.Context, what string, id *int64, query string, args ...any) error {
	var idArg any
	if *id != 0 {
		idArg = *id
	}
	res, err := db.writer.ExecContext(ctx, query, append([]any{idArg}, args...)...)
	if err != nil {
		return storeError(err, what)
	}
	if *id == 0 {
		*id, err = res.LastInsertId()
	}
	return err
}

func (db *DB) CreateEnterprise(ctx context.Context, e *usage.Enterprise) error {
	return db.insertID(ctx, "Enterprise", &e.ID, "INSERT INTO enterprises (id, slug, name, created_at) VALUES (?, ?, ?, ?)",
		e.Slug, e.Name, unixNano(e.CreatedAt))
}

func scanEnterprise(row interface{ Scan(...any) error }) (*usage.Enterprise, error) {
	e := &usage.Enterprise{}
	var created int64
	if err := row.Scan(&e.ID, &e.Slug, &e.Name, &created); err != nil {
		return nil, storeError(err, "Enterprise")
	}
	e.CreatedAt = fromNano(created)
	return e, nil
}

func (db *DB) EnterpriseBySlug(ctx context.Context, slug string) (*usage.Enterprise, error) {
	return scanEnterprise(db.reader.QueryRowContext(ctx, "SELECT id, slug, name, created_at FROM enterprises WHERE slug = ?", slug))
}

func (db *DB) ListEnterprises(ctx context.Context) ([]*usage.Enterprise, error) {
	return list(ctx, db.reader, scanEnterprise, "SELECT id, slug, name, created_at FROM enterprises ORDER BY id")
}

func (db *DB) CreateOrganization(ctx context.Context, o *usage.Organization) error {
	return db.insertID(ctx, "Organization", &o.ID, "INSERT INTO organizations (id, login, enterprise_id, created_at) VALUES (?, ?, ?, ?)",
		o.Login, o.EnterpriseID, unixNano(o.CreatedAt))
}

func scanOrg(row interface{ Scan(...any) error }) (*usage.Organization, error) {
	o := &usage.Organization{}
	var created int64
	if err := row.Scan(&o.ID, &o.Login, &o.EnterpriseID, &created); err != nil {
		return nil, storeError(err, "Organization")
	}
	o.CreatedAt = fromNano(created)
	return o, nil
}

func (db *DB) OrganizationByLogin(ctx context.Context, login string) (*usage.Organization, error) {
	return scanOrg(db.reader.QueryRowContext(ctx, "SELECT id, login, enterprise_id, created_at FROM organizations WHERE login = ?", login))
}

func (db *DB) ListOrganizations(ctx context.Context, enterpriseID int64) ([]*usage.Organization, error) {
	if enterpriseID != 0 {
		return list(ctx, db.reader, scanOrg, "SELECT id, login, enterprise_id, created_at FROM organizations WHERE enterprise_id = ? ORDER BY id", enterpriseID)
	}
	return list(ctx, db.reader, scanOrg, "SELECT id, login, enterprise_id, created_at FROM organizations ORDER BY id")
}

func (db *DB) CreateUser(ctx context.Context, u *usage.User) error {
	return db.insertID(ctx, "User", &u.ID, "INSERT INTO users (id, login, name, site_admin, created_at, email, suspended_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		u.Login, u.Name, u.SiteAdmin, unixNano(u.CreatedAt), u.Email, unixNano(u.SuspendedAt))
}

func scanUser(row interface{ Scan(...any) error }) (*usage.User, error) {
	u := &usage.User{}
	var created, suspended int64
	if err := row.Scan(&u.ID, &u.Login, &u.Name, &u.SiteAdmin, &created, &u.Email, &suspended); err != nil {
		return nil, storeError(err, "User")
	}
	u.CreatedAt, u.SuspendedAt = fromNano(created), fromNano(suspended)
	return u, nil
}

const userColumns = "SELECT id, login, name, site_admin, created_at, email, suspended_at FROM users"

func (db *DB) UserByLogin(ctx context.Context, login string) (*usage.User, error) {
	return scanUser(db.reader.QueryRowContext(ctx, userColumns+" WHERE login = ?", login))
}

func (db *DB) UserByID(ctx context.Context, id int64) (*usage.User, error) {
	return scanUser(db.reader.QueryRowContext(ctx, userColumns+" WHERE id = ?", id))
}

func (db *DB) ListUsers(ctx context.Context) ([]*usage.User, error) {
	return list(ctx, db.reader, scanUser, userColumns+" ORDER BY id")
}

func (db *DB) SetOrgRole(ctx context.Context, orgID, userID int64, role string) error {
	_, err := db.writer.ExecContext(ctx, `INSERT INTO org_roles (org_id, user_id, role) VALUES (?, ?, ?)
		ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`, orgID, userID, role)
	return storeError(err, "Membership")
}

func (db *DB) SetEnterpriseRole(ctx context.Context, enterpriseID, userID int64, role string) error {
	_, err := db.writer.ExecContext(ctx, `INSERT INTO enterprise_roles (enterprise_id, user_id, role) VALUES (?, ?, ?)
		ON CONFLICT (enterprise_id, user_id) DO UPDATE SET role = excluded.role`, enterpriseID, userID, role)
	return storeError(err, "Membership")
}

func (db *DB) Roles(ctx context.Context, userID int64) (orgs, enterprises map[string]string, err error) {
	orgs, enterprises = map[string]string{}, map[string]string{}
	for _, q := range []struct {
		m     map[string]string
		query string
	}{
		{orgs, "SELECT o.login, r.role FROM org_roles r JOIN organizations o ON o.id = r.org_id WHERE r.user_id = ?"},
		{enterprises, "SELECT e.slug, r.role FROM enterprise_roles r JOIN enterprises e ON e.id = r.enterprise_id WHERE r.user_id = ?"},
	} {
		rows, err := db.reader.QueryContext(ctx, q.query, userID)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			var login, role string
			if err := rows.Scan(&login, &role); err != nil {
				rows.Close()
				return nil, nil, err
			}
			q.m[strings.ToLower(login)] = role
		}
		if err := rows.Close(); err != nil {
			return nil, nil, err
		}
	}
	return orgs, enterprises, nil
}

func (db *DB) CreateTeam(ctx context.Context, t *usage.Team) error {
	return db.insertID(ctx, "Team", &t.ID, "INSERT INTO teams (id, org_id, slug, name) VALUES (?, ?, ?, ?)", t.OrgID, t.Slug, t.Name)
}

func (db *DB) AddTeamMember(ctx context.Context, teamID, userID int64) error {
	_, err := db.writer.ExecContext(ctx, "INSERT OR IGNORE INTO team_members (team_id, user_id) VALUES (?, ?)", teamID, userID)
	return storeError(err, "Team membership")
}

func (db *DB) ListTeams(ctx context.Context, orgID int64) ([]*usage.Team, error) {
	return list(ctx, db.reader, func(row interface{ Scan(...any) error }) (*usage.Team, error) {
		t := &usage.Team{}
		return t, row.Scan(&t.ID, &t.OrgID, &t.Slug, &t.Name)
	}, "SELECT id, org_id, slug, name FROM teams WHERE org_id = ? ORDER BY id", orgID)
}

func (db *DB) CreateRepository(ctx context.Context, r *usage.Repository) error {
	return db.insertID(ctx, "Repository", &r.ID, "INSERT INTO repositories (id, owner_login, name, private) VALUES (?, ?, ?, ?)",
		r.OwnerLogin, r.Name, r.Private)
}

func (db *DB) ListRepositories(ctx context.Context, ownerLogin string) ([]*usage.Repository, error) {
	return list(ctx, db.reader, func(row interface{ Scan(...any) error }) (*usage.Repository, error) {
		r := &usage.Repository{}
		return r, row.Scan(&r.ID, &r.OwnerLogin, &r.Name, &r.Private)
	}, "SELECT id, owner_login, name, private FROM repositories WHERE owner_login = ? ORDER BY id", ownerLogin)
}

func (db *DB) CreateApp(ctx context.Context, a *usage.App) error {
	return db.insertID(ctx, "App", &a.ID, "INSERT INTO apps (id, slug, name, owner_login, client_id, permissions) VALUES (?, ?, ?, ?, ?, ?)",
		a.Slug, a.Name, a.OwnerLogin, a.ClientID, jsonText(a.Permissions))
}

func scanApp(row interface{ Scan(...any) error }) (*usage.App, error) {
	a := &usage.App{}
	var perms string
	if err := row.Scan(&a.ID, &a.Slug, &a.Name, &a.OwnerLogin, &a.ClientID, &perms); err != nil {
		return nil, storeError(err, "App")
	}
	return a, json.Unmarshal([]byte(perms), &a.Permissions)
}

const appColumns = "SELECT id, slug, name, owner_login, client_id, permissions FROM apps"

func (db *DB) AppByID(ctx context.Context, id int64) (*usage.App, error) {
	return scanApp(db.reader.QueryRowContext(ctx, appColumns+" WHERE id = ?", id))
}

func (db *DB) ListApps(ctx context.Context) ([]*usage.App, error) {
	return list(ctx, db.reader, scanApp, appColumns+" ORDER BY id")
}

func (db *DB) CreateInstallation(ctx context.Context, i *usage.Installation) error {
	return db.insertID(ctx, "Installation", &i.ID, `INSERT INTO installations (id, app_id, account_login, account_type, permissions, repositories)
		VALUES (?, ?, ?, ?, ?, ?)`, i.AppID, i.AccountLogin, i.AccountType, jsonText(i.Permissions), i.Repositories)
}

func scanInstallation(row interface{ Scan(...any) error }) (*usage.Installation, error) {
	i := &usage.Installation{}
	var perms string
	if err := row.Scan(&i.ID, &i.AppID, &i.AccountLogin, &i.AccountType, &perms, &i.Repositories, &i.Members); err != nil {
		return nil, storeError(err, "Installation")
	}
	return i, json.Unmarshal([]byte(perms), &i.Permissions)
}

// installationColumns reads an installation with the member count of the
// organization it is installed on (logins compare without case).
const installationColumns = `SELECT i.id, i.app_id, i.account_login, i.account_type, i.permissions, i.repositories,
	CASE WHEN i.account_type = 'Organization' THEN (SELECT count(*) FROM org_roles r JOIN organizations o ON o.id = r.org_id
		WHERE o.login = i.account_login) ELSE 0 END
	FROM installations i`

func (db *DB) InstallationByID(ctx context.Context, id int64) (*usage.Installation, error) {
	return scanInstallation(db.reader.QueryRowContext(ctx, installationColumns+" WHERE i.id = ?", id))
}

func (db *DB) ListInstallations(ctx context.Context) ([]*usage.Installation, error) {
	return list(ctx, db.reader, scanInstallation, installationColumns+" ORDER BY i.id")
}

func (db *DB) CreateOAuthApp(ctx context.Context, a *usage.OAuthApp) error {
	return db.insertID(ctx, "OAuth app", &a.ID, "INSERT INTO oauth_apps (id, name, client_id, owner_login) VALUES (?, ?, ?, ?)",
		a.Name, a.ClientID, a.OwnerLogin)
}

func scanOAuthApp(row interface{ Scan(...any) error }) (*usage.OAuthApp, error) {
	a := &usage.OAuthApp{}
	if err := row.Scan(&a.ID, &a.Name, &a.ClientID, &a.OwnerLogin); err != nil {
		return nil, storeError(err, "OAuth app")
	}
	return a, nil
}

func (db *DB) OAuthAppByID(ctx context.Context, id int64) (*usage.OAuthApp, error) {
	return scanOAuthApp(db.reader.QueryRowContext(ctx, "SELECT id, name, client_id, owner_login FROM oauth_apps WHERE id = ?", id))
}

func (db *DB) ListOAuthApps(ctx context.Context) ([]*usage.OAuthApp, error) {
	return list(ctx, db.reader, scanOAuthApp, "SELECT id, name, client_id, owner_login FROM oauth_apps ORDER BY id")
}

// list runs a query and scans every row with scan.
func list[T any](ctx context.Context, q *sql.DB, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	if string(b) == "null" {
		return "{}"
	}
	return string(b)
}
