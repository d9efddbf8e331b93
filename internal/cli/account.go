package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/usage"
)

const accountHelp = `Usage:
  ghusage account create-enterprise SLUG [--name NAME]
  ghusage account create-org LOGIN [--enterprise SLUG]
  ghusage account create-user LOGIN [--name NAME] [--site-admin]
  ghusage account set-role --user LOGIN (--org LOGIN --role member|admin | --enterprise SLUG --role member|owner)
  ghusage account create-team --org LOGIN SLUG
  ghusage account add-team-member --org LOGIN --team SLUG --user LOGIN
  ghusage account create-enterprise-team --enterprise SLUG SLUG [--name NAME] [--members LOGIN,...]
  ghusage account create-repo OWNER/NAME [--private]
  ghusage account create-app SLUG [--name NAME] [--owner LOGIN] [--permissions name=level,...]
  ghusage account create-installation --app ID --account LOGIN [--account-type Organization] [--repositories N]
  ghusage account create-oauth-app NAME [--owner LOGIN]
  ghusage account list
`

func runAccount(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return printHelp(e, accountHelp, args)
	}
	verb, args := args[0], args[1:]
	cfg := server.DefaultConfig()
	f := newFlagSet("account "+verb, e.getenv, e.stderr)
	storeFlags(f, &cfg)
	var name, ent, org, user, role, team, owner, perms, account, accountType, members string
	var siteAdmin, private bool
	var app int64
	var repos int
	f.StringVar(&name, "name", "", "display name")
	f.StringVar(&ent, "enterprise", "", "enterprise slug")
	f.StringVar(&org, "org", "", "organization login")
	f.StringVar(&user, "user", "", "user login")
	f.StringVar(&role, "role", "member", "role: member, admin (organization owner) or owner (enterprise owner)")
	f.StringVar(&team, "team", "", "team slug")
	f.StringVar(&members, "members", "", "comma-separated user logins of an enterprise team")
	f.StringVar(&owner, "owner", "", "owner login")
	f.StringVar(&perms, "permissions", "", "comma-separated name=level permissions")
	f.StringVar(&account, "account", "", "account login an app is installed on")
	f.StringVar(&accountType, "account-type", "Organization", "Organization, User or Enterprise")
	f.BoolVar(&siteAdmin, "site-admin", false, "make the user a site administrator")
	f.BoolVar(&private, "private", false, "private repository")
	f.Int64Var(&app, "app", 0, "GitHub App id")
	f.IntVar(&repos, "repositories", 0, "repositories the installation covers")
	st, err := parseAndOpen(ctx, f, args, &cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	arg := func() (string, error) {
		if len(f.args) != 1 {
			return "", fmt.Errorf("account %s takes one argument; see 'ghusage account help'", verb)
		}
		return f.args[0], nil
	}
	orgID := func() (int64, error) {
		o, err := st.OrganizationByLogin(ctx, org)
		if err != nil {
			return 0, fmt.Errorf("--org %q: %w", org, err)
		}
		return o.ID, nil
	}
	switch verb {
	case "create-enterprise":
		slug, err := arg()
		if err != nil {
			return err
		}
		if name == "" {
			name = slug
		}
		x := &usage.Enterprise{Slug: slug, Name: name, CreatedAt: now}
		return report(e, st.CreateEnterprise(ctx, x), "enterprise", x.ID, slug)
	case "create-org":
		login, err := arg()
		if err != nil {
			return err
		}
		x := &usage.Organization{Login: login, CreatedAt: now}
		if ent != "" {
			en, err := st.EnterpriseBySlug(ctx, ent)
			if err != nil {
				return fmt.Errorf("--enterprise %q: %w", ent, err)
			}
			x.EnterpriseID = en.ID
		}
		return report(e, st.CreateOrganization(ctx, x), "organization", x.ID, login)
	case "create-user":
		login, err := arg()
		if err != nil {
			return err
		}
		x := &usage.User{Login: login, Name: name, SiteAdmin: siteAdmin, CreatedAt: now}
		return report(e, st.CreateUser(ctx, x), "user", x.ID, login)
	case "set-role":
		u, err := st.UserByLogin(ctx, user)
		if err != nil {
			return fmt.Errorf("--user %q: %w", user, err)
		}
		switch {
		case org != "" && (role == usage.RoleMember || role == usage.RoleAdmin):
			id, err := orgID()
			if err != nil {
				return err
			}
			return report(e, st.SetOrgRole(ctx, id, u.ID, role), "role", u.ID, org+":"+user+"="+role)
		case ent != "" && (role == usage.RoleMember || role == usage.RoleOwner):
			en, err := st.EnterpriseBySlug(ctx, ent)
			if err != nil {
				return fmt.Errorf("--enterprise %q: %w", ent, err)
			}
			return report(e, st.SetEnterpriseRole(ctx, en.ID, u.ID, role), "role", u.ID, ent+":"+user+"="+role)
		}
		return fmt.Errorf("set-role needs --org with --role member|admin, or --enterprise with --role member|owner")
	case "create-team":
		slug, err := arg()
		if err != nil {
			return err
		}
		id, err := orgID()
		if err != nil {
			return err
		}
		if name == "" {
			name = slug
		}
		x := &usage.Team{OrgID: id, Slug: slug, Name: name}
		return report(e, st.CreateTeam(ctx, x), "team", x.ID, slug)
	case "add-team-member":
		id, err := orgID()
		if err != nil {
			return err
		}
		teams, err := st.ListTeams(ctx, id)
		if err != nil {
			return err
		}
		u, err := st.UserByLogin(ctx, user)
		if err != nil {
			return fmt.Errorf("--user %q: %w", user, err)
		}
		for _, t := range teams {
			if strings.EqualFold(t.Slug, team) {
				return report(e, st.AddTeamMember(ctx, t.ID, u.ID), "team member", u.ID, user)
			}
		}
		return fmt.Errorf("--team %q: no such team in %s", team, org)
	case "create-enterprise-team":
		// An enterprise team (members across organizations) that cost
		// centers can hold; its members' licences and premium requests go
		// to its cost center unless they are assigned one themselves.
		slug, err := arg()
		if err != nil {
			return err
		}
		cs, ok := st.(billing.CostCenterStore)
		if !ok {
			return fmt.Errorf("account create-enterprise-team: this store keeps no cost centers")
		}
		en, err := st.EnterpriseBySlug(ctx, ent)
		if err != nil {
			return fmt.Errorf("--enterprise %q: %w", ent, err)
		}
		if name == "" {
			name = slug
		}
		x := &billing.EnterpriseTeam{EnterpriseID: en.ID, Slug: slug, Name: name, CreatedAt: now}
		for _, m := range strings.Split(members, ",") {
			if m = strings.TrimSpace(m); m != "" {
				x.Members = append(x.Members, m)
			}
		}
		return report(e, cs.CreateEnterpriseTeam(ctx, x), "enterprise team", x.ID, slug)
	case "create-repo":
		full, err := arg()
		if err != nil {
			return err
		}
		ownerLogin, repoName, ok := strings.Cut(full, "/")
		if !ok || ownerLogin == "" || repoName == "" {
			return fmt.Errorf("repository %q: write OWNER/NAME", full)
		}
		x := &usage.Repository{OwnerLogin: ownerLogin, Name: repoName, Private: private}
		return report(e, st.CreateRepository(ctx, x), "repository", x.ID, full)
	case "create-app":
		slug, err := arg()
		if err != nil {
			return err
		}
		p, err := parsePermissions(perms)
		if err != nil {
			return err
		}
		if name == "" {
			name = slug
		}
		x := &usage.App{Slug: slug, Name: name, OwnerLogin: owner, ClientID: "Iv1." + slug, Permissions: p}
		return report(e, st.CreateApp(ctx, x), "app", x.ID, slug)
	case "create-installation":
		a, err := st.AppByID(ctx, app)
		if err != nil {
			return fmt.Errorf("--app %d: %w", app, err)
		}
		if account == "" {
			return fmt.Errorf("--account is required")
		}
		p, err := parsePermissions(perms)
		if err != nil {
			return err
		}
		if p == nil {
			p = a.Permissions
		}
		x := &usage.Installation{AppID: a.ID, AccountLogin: account, AccountType: accountType, Permissions: p, Repositories: repos}
		return report(e, st.CreateInstallation(ctx, x), "installation", x.ID, a.Slug+" on "+account)
	case "create-oauth-app":
		n, err := arg()
		if err != nil {
			return err
		}
		x := &usage.OAuthApp{Name: n, OwnerLogin: owner, ClientID: "Ov23" + strings.ToLower(strings.ReplaceAll(n, " ", ""))}
		return report(e, st.CreateOAuthApp(ctx, x), "oauth app", x.ID, n)
	case "list":
		return listAccounts(ctx, e, st)
	}
	fmt.Fprint(e.stderr, accountHelp)
	return fmt.Errorf("unknown account command %q", verb)
}

func report(e *env, err error, what string, id int64, name string) error {
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, name, err)
	}
	fmt.Fprintf(e.stdout, "%s %s created (id %d)\n", what, name, id)
	return nil
}

func listAccounts(ctx context.Context, e *env, st usage.Store) error {
	ents, err := st.ListEnterprises(ctx)
	if err != nil {
		return err
	}
	for _, x := range ents {
		fmt.Fprintf(e.stdout, "enterprise %d %s\n", x.ID, x.Slug)
	}
	orgs, err := st.ListOrganizations(ctx, 0)
	if err != nil {
		return err
	}
	for _, x := range orgs {
		fmt.Fprintf(e.stdout, "organization %d %s\n", x.ID, x.Login)
	}
	users, err := st.ListUsers(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "users: %d\n", len(users))
	apps, err := st.ListApps(ctx)
	if err != nil {
		return err
	}
	for _, x := range apps {
		fmt.Fprintf(e.stdout, "app %d %s\n", x.ID, x.Slug)
	}
	insts, err := st.ListInstallations(ctx)
	if err != nil {
		return err
	}
	for _, x := range insts {
		fmt.Fprintf(e.stdout, "installation %d app=%d account=%s\n", x.ID, x.AppID, x.AccountLogin)
	}
	if cs, ok := st.(billing.CostCenterStore); ok {
		for _, x := range ents {
			teams, err := cs.EnterpriseTeams(ctx, x.ID)
			if err != nil {
				return err
			}
			for _, t := range teams {
				fmt.Fprintf(e.stdout, "enterprise team %d %s/%s members=%s\n", t.ID, x.Slug, t.Slug, strings.Join(t.Members, ","))
			}
		}
	}
	oas, err := st.ListOAuthApps(ctx)
	if err != nil {
		return err
	}
	for _, x := range oas {
		fmt.Fprintf(e.stdout, "oauth app %d %s\n", x.ID, x.Name)
	}
	return nil
}
