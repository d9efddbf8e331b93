package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ghusage/ghusage/internal/usage"
)

func runAccounts(t *testing.T, open func(t *testing.T) Backend) {
	runStoreCases(t, open, []storeCase{
		{"EnterpriseRoundTrip", testEnterpriseRoundTrip},
		{"EnterpriseDuplicateSlug", testEnterpriseDuplicate},
		{"OrganizationRoundTrip", testOrganizationRoundTrip},
		{"OrganizationDuplicateLogin", testOrganizationDuplicate},
		{"ListOrganizationsByEnterprise", testListOrganizations},
		{"UserRoundTrip", testUserRoundTrip},
		{"UserDuplicateLogin", testUserDuplicate},
		{"UserExplicitID", testUserExplicitID},
		{"ConcurrentCreateOneWins", testConcurrentCreate},
		{"ListUsersByID", testListUsers},
		{"Roles", testRoles},
		{"RolesUnknownAccount", testRolesUnknown},
		{"Teams", testTeams},
		{"Repositories", testRepositories},
		{"Apps", testApps},
		{"Installations", testInstallations},
		{"OAuthApps", testOAuthApps},
		{"NotFound", testAccountsNotFound},
	})
}

func testEnterpriseRoundTrip(t *testing.T, s usage.Store) {
	ctx := t.Context()
	e := &usage.Enterprise{Slug: "Acme", Name: "Acme Corp", CreatedAt: testTime}
	must(t, "CreateEnterprise", s.CreateEnterprise(ctx, e))
	if e.ID == 0 {
		t.Fatal("CreateEnterprise did not assign an ID")
	}
	for _, slug := range []string{"Acme", "acme", "ACME"} {
		got, err := s.EnterpriseBySlug(ctx, slug)
		must(t, "EnterpriseBySlug "+slug, err)
		if got.ID != e.ID || got.Slug != "Acme" || got.Name != "Acme Corp" {
			t.Errorf("EnterpriseBySlug(%q) = %+v, want %+v (slug keeps its case)", slug, got, e)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, testTime)
	}
	e2 := &usage.Enterprise{Slug: "globex", Name: "Globex"}
	must(t, "CreateEnterprise", s.CreateEnterprise(ctx, e2))
	if e2.ID == e.ID {
		t.Fatalf("two enterprises got the same ID %d", e.ID)
	}
	list, err := s.ListEnterprises(ctx)
	must(t, "ListEnterprises", err)
	if len(list) != 2 || list[0].ID != e.ID || list[1].ID != e2.ID {
		t.Errorf("ListEnterprises = %v, want acme then globex by id", slugs(list))
	}
}

func slugs(es []*usage.Enterprise) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Slug)
	}
	return out
}

func testEnterpriseDuplicate(t *testing.T, s usage.Store) {
	ctx := t.Context()
	must(t, "CreateEnterprise", s.CreateEnterprise(ctx, &usage.Enterprise{Slug: "acme", Name: "A"}))
	err := s.CreateEnterprise(ctx, &usage.Enterprise{Slug: "ACME", Name: "B"})
	wantKind(t, "CreateEnterprise with a slug differing only in case", err, usage.KindConflict)
	list, err := s.ListEnterprises(ctx)
	must(t, "ListEnterprises", err)
	if len(list) != 1 || list[0].Name != "A" {
		t.Errorf("after a refused duplicate, ListEnterprises = %v", slugs(list))
	}
}

func testOrganizationRoundTrip(t *testing.T, s usage.Store) {
	ctx := t.Context()
	e := &usage.Enterprise{Slug: "acme", Name: "Acme"}
	must(t, "CreateEnterprise", s.CreateEnterprise(ctx, e))
	o := &usage.Organization{Login: "Acme-Web", EnterpriseID: e.ID, CreatedAt: testTime}
	must(t, "CreateOrganization", s.CreateOrganization(ctx, o))
	if o.ID == 0 {
		t.Fatal("CreateOrganization did not assign an ID")
	}
	for _, login := range []string{"Acme-Web", "acme-web", "ACME-WEB"} {
		got, err := s.OrganizationByLogin(ctx, login)
		must(t, "OrganizationByLogin "+login, err)
		if got.ID != o.ID || got.Login != "Acme-Web" || got.EnterpriseID != e.ID {
			t.Errorf("OrganizationByLogin(%q) = %+v, want %+v", login, got, o)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, testTime)
	}
	// An organization outside any enterprise has EnterpriseID 0.
	solo := &usage.Organization{Login: "solo"}
	must(t, "CreateOrganization", s.CreateOrganization(ctx, solo))
	got, err := s.OrganizationByLogin(ctx, "solo")
	must(t, "OrganizationByLogin", err)
	if got.EnterpriseID != 0 {
		t.Errorf("EnterpriseID = %d, want 0 for an organization without enterprise", got.EnterpriseID)
	}
}

func testOrganizationDuplicate(t *testing.T, s usage.Store) {
	ctx := t.Context()
	must(t, "CreateOrganization", s.CreateOrganization(ctx, &usage.Organization{Login: "acme-web"}))
	err := s.CreateOrganization(ctx, &usage.Organization{Login: "Acme-WEB"})
	wantKind(t, "CreateOrganization duplicate", err, usage.KindConflict)
}

func testListOrganizations(t *testing.T, s usage.Store) {
	ctx := t.Context()
	a := &usage.Enterprise{Slug: "a", Name: "A"}
	b := &usage.Enterprise{Slug: "b", Name: "B"}
	must(t, "CreateEnterprise", s.CreateEnterprise(ctx, a))
	must(t, "CreateEnterprise", s.CreateEnterprise(ctx, b))
	var orgs []*usage.Organization
	for i, ent := range []int64{a.ID, b.ID, 0, a.ID} {
		o := &usage.Organization{Login: fmt.Sprintf("org-%d", i), EnterpriseID: ent}
		must(t, "CreateOrganization", s.CreateOrganization(ctx, o))
		orgs = append(orgs, o)
	}
	check := func(entID int64, want ...*usage.Organization) {
		t.Helper()
		got, err := s.ListOrganizations(ctx, entID)
		must(t, "ListOrganizations", err)
		if len(got) != len(want) {
			t.Fatalf("ListOrganizations(%d) = %v, want %v", entID, orgLogins(got), orgLogins(want))
		}
		for i := range got {
			if got[i].ID != want[i].ID || got[i].Login != want[i].Login || got[i].EnterpriseID != want[i].EnterpriseID {
				t.Fatalf("ListOrganizations(%d) = %v, want %v in id order", entID, orgLogins(got), orgLogins(want))
			}
		}
	}
	check(0, orgs...)
	check(a.ID, orgs[0], orgs[3])
	check(b.ID, orgs[1])
}

func orgLogins(os []*usage.Organization) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.Login)
	}
	return out
}

func testUserRoundTrip(t *testing.T, s usage.Store) {
	ctx := t.Context()
	u := &usage.User{Login: "Octocat", Name: "The Octocat", SiteAdmin: true, CreatedAt: testTime}
	must(t, "CreateUser", s.CreateUser(ctx, u))
	if u.ID == 0 {
		t.Fatal("CreateUser did not assign an ID")
	}
	check := func(what string, got *usage.User, err error) {
		t.Helper()
		must(t, what, err)
		if got.ID != u.ID || got.Login != "Octocat" || got.Name != "The Octocat" || !got.SiteAdmin {
			t.Errorf("%s = %+v, want %+v", what, got, u)
		}
		sameTime(t, what+" CreatedAt", got.CreatedAt, testTime)
	}
	got, err := s.UserByLogin(ctx, "octocat")
	check("UserByLogin(octocat)", got, err)
	got, err = s.UserByLogin(ctx, "OCTOCAT")
	check("UserByLogin(OCTOCAT)", got, err)
	got, err = s.UserByID(ctx, u.ID)
	check("UserByID", got, err)

	plain := &usage.User{Login: "hubot"}
	must(t, "CreateUser", s.CreateUser(ctx, plain))
	got, err = s.UserByLogin(ctx, "hubot")
	must(t, "UserByLogin", err)
	if got.SiteAdmin || got.Name != "" {
		t.Errorf("UserByLogin(hubot) = %+v, want no name and not site admin", got)
	}
}

func testUserDuplicate(t *testing.T, s usage.Store) {
	ctx := t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, &usage.User{Login: "octocat"}))
	wantKind(t, "CreateUser duplicate login", s.CreateUser(ctx, &usage.User{Login: "OctoCat"}), usage.KindConflict)
}

// testUserExplicitID checks that a given ID is kept (GitHub user ids are
// stable and imported data carries them), that a duplicate ID conflicts,
// and that later assigned IDs do not collide with it.
func testUserExplicitID(t *testing.T, s usage.Store) {
	ctx := t.Context()
	u := &usage.User{ID: 583231, Login: "octocat"}
	must(t, "CreateUser with ID", s.CreateUser(ctx, u))
	if u.ID != 583231 {
		t.Fatalf("CreateUser changed the given ID to %d", u.ID)
	}
	got, err := s.UserByID(ctx, 583231)
	must(t, "UserByID", err)
	if got.Login != "octocat" {
		t.Errorf("UserByID(583231).Login = %q", got.Login)
	}
	wantKind(t, "CreateUser with a taken ID", s.CreateUser(ctx, &usage.User{ID: 583231, Login: "other"}), usage.KindConflict)
	seen := map[int64]bool{583231: true}
	for i := range 3 {
		n := &usage.User{Login: fmt.Sprintf("user-%d", i)}
		must(t, "CreateUser", s.CreateUser(ctx, n))
		if seen[n.ID] {
			t.Fatalf("assigned ID %d twice", n.ID)
		}
		seen[n.ID] = true
	}
}

// testConcurrentCreate checks that of several concurrent creations of the
// same login exactly one succeeds and the others conflict, as happens when
// replicas share one database.
func testConcurrentCreate(t *testing.T, s usage.Store) {
	ctx := t.Context()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.CreateUser(ctx, &usage.User{Login: fmt.Sprintf("Racer%s", "x"[:i%2])})
		})
	}
	wg.Wait()
	// Logins alternate between "Racer" and "Racerx": one of each wins.
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantKind(t, fmt.Sprintf("concurrent CreateUser %d", i), err, usage.KindConflict)
	}
	if ok != 2 {
		t.Errorf("%d concurrent creations succeeded, want 2 (one per login)", ok)
	}
	users, err := s.ListUsers(ctx)
	must(t, "ListUsers", err)
	if len(users) != 2 {
		t.Errorf("ListUsers has %d users, want 2", len(users))
	}
}

func testListUsers(t *testing.T, s usage.Store) {
	ctx := t.Context()
	var want []int64
	for _, login := range []string{"zed", "amy", "Mia"} {
		u := &usage.User{Login: login}
		must(t, "CreateUser", s.CreateUser(ctx, u))
		want = append(want, u.ID)
	}
	got, err := s.ListUsers(ctx)
	must(t, "ListUsers", err)
	if len(got) != 3 {
		t.Fatalf("ListUsers returned %d users, want 3", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].ID >= got[i].ID {
			t.Fatalf("ListUsers not in id order: %d before %d", got[i-1].ID, got[i].ID)
		}
	}
	for i, u := range got {
		if u.ID != want[i] {
			t.Errorf("ListUsers[%d].ID = %d, want %d", i, u.ID, want[i])
		}
	}
}

func testRoles(t *testing.T, s usage.Store) {
	ctx := t.Context()
	e := &usage.Enterprise{Slug: "Acme", Name: "Acme"}
	must(t, "CreateEnterprise", s.CreateEnterprise(ctx, e))
	web := &usage.Organization{Login: "Acme-Web", EnterpriseID: e.ID}
	data := &usage.Organization{Login: "acme-data", EnterpriseID: e.ID}
	must(t, "CreateOrganization", s.CreateOrganization(ctx, web))
	must(t, "CreateOrganization", s.CreateOrganization(ctx, data))
	u := &usage.User{Login: "mona"}
	other := &usage.User{Login: "hubot"}
	must(t, "CreateUser", s.CreateUser(ctx, u))
	must(t, "CreateUser", s.CreateUser(ctx, other))

	orgs, ents, err := s.Roles(ctx, u.ID)
	must(t, "Roles", err)
	if len(orgs) != 0 || len(ents) != 0 {
		t.Fatalf("Roles of a user without memberships = %v, %v; want none", orgs, ents)
	}

	must(t, "SetOrgRole", s.SetOrgRole(ctx, web.ID, u.ID, usage.RoleMember))
	must(t, "SetOrgRole", s.SetOrgRole(ctx, data.ID, u.ID, usage.RoleAdmin))
	must(t, "SetEnterpriseRole", s.SetEnterpriseRole(ctx, e.ID, u.ID, usage.RoleMember))
	must(t, "SetOrgRole other", s.SetOrgRole(ctx, web.ID, other.ID, usage.RoleAdmin))

	orgs, ents, err = s.Roles(ctx, u.ID)
	must(t, "Roles", err)
	wantOrgs := map[string]string{"acme-web": usage.RoleMember, "acme-data": usage.RoleAdmin}
	if !sameMap(orgs, wantOrgs) {
		t.Errorf("org roles = %v, want %v (keys lower-cased)", orgs, wantOrgs)
	}
	if !sameMap(ents, map[string]string{"acme": usage.RoleMember}) {
		t.Errorf("enterprise roles = %v, want acme: member", ents)
	}

	// Setting a role again replaces it.
	must(t, "SetOrgRole promote", s.SetOrgRole(ctx, web.ID, u.ID, usage.RoleAdmin))
	must(t, "SetEnterpriseRole promote", s.SetEnterpriseRole(ctx, e.ID, u.ID, usage.RoleOwner))
	orgs, ents, err = s.Roles(ctx, u.ID)
	must(t, "Roles", err)
	if orgs["acme-web"] != usage.RoleAdmin || len(orgs) != 2 {
		t.Errorf("after promotion, org roles = %v, want acme-web: admin among 2", orgs)
	}
	if ents["acme"] != usage.RoleOwner || len(ents) != 1 {
		t.Errorf("after promotion, enterprise roles = %v, want acme: owner", ents)
	}

	// Another user's roles are their own.
	orgs, ents, err = s.Roles(ctx, other.ID)
	must(t, "Roles other", err)
	if !sameMap(orgs, map[string]string{"acme-web": usage.RoleAdmin}) || len(ents) != 0 {
		t.Errorf("other's roles = %v, %v; want acme-web: admin only", orgs, ents)
	}
}

func testRolesUnknown(t *testing.T, s usage.Store) {
	ctx := t.Context()
	o := &usage.Organization{Login: "acme-web"}
	e := &usage.Enterprise{Slug: "acme", Name: "Acme"}
	u := &usage.User{Login: "mona"}
	must(t, "CreateOrganization", s.CreateOrganization(ctx, o))
	must(t, "CreateEnterprise", s.CreateEnterprise(ctx, e))
	must(t, "CreateUser", s.CreateUser(ctx, u))
	const missing = 987654321
	wantKind(t, "SetOrgRole unknown org", s.SetOrgRole(ctx, missing, u.ID, usage.RoleMember), usage.KindNotFound)
	wantKind(t, "SetOrgRole unknown user", s.SetOrgRole(ctx, o.ID, missing, usage.RoleMember), usage.KindNotFound)
	wantKind(t, "SetEnterpriseRole unknown enterprise", s.SetEnterpriseRole(ctx, missing, u.ID, usage.RoleMember), usage.KindNotFound)
	wantKind(t, "SetEnterpriseRole unknown user", s.SetEnterpriseRole(ctx, e.ID, missing, usage.RoleMember), usage.KindNotFound)
}

func testTeams(t *testing.T, s usage.Store) {
	ctx := t.Context()
	web := &usage.Organization{Login: "acme-web"}
	data := &usage.Organization{Login: "acme-data"}
	must(t, "CreateOrganization", s.CreateOrganization(ctx, web))
	must(t, "CreateOrganization", s.CreateOrganization(ctx, data))
	u := &usage.User{Login: "mona"}
	must(t, "CreateUser", s.CreateUser(ctx, u))

	core := &usage.Team{OrgID: web.ID, Slug: "core", Name: "Core"}
	must(t, "CreateTeam", s.CreateTeam(ctx, core))
	if core.ID == 0 {
		t.Fatal("CreateTeam did not assign an ID")
	}
	ops := &usage.Team{OrgID: web.ID, Slug: "ops", Name: "Ops"}
	must(t, "CreateTeam", s.CreateTeam(ctx, ops))
	// The same slug in another organization is another team.
	dataCore := &usage.Team{OrgID: data.ID, Slug: "core", Name: "Data core"}
	must(t, "CreateTeam same slug other org", s.CreateTeam(ctx, dataCore))
	wantKind(t, "CreateTeam duplicate slug", s.CreateTeam(ctx, &usage.Team{OrgID: web.ID, Slug: "Core", Name: "Again"}), usage.KindConflict)
	wantKind(t, "CreateTeam unknown org", s.CreateTeam(ctx, &usage.Team{OrgID: 987654321, Slug: "x", Name: "X"}), usage.KindNotFound)

	teams, err := s.ListTeams(ctx, web.ID)
	must(t, "ListTeams", err)
	if len(teams) != 2 || teams[0].ID != core.ID || teams[1].ID != ops.ID {
		t.Fatalf("ListTeams(acme-web) = %+v, want core then ops", teams)
	}
	if teams[0].Slug != "core" || teams[0].Name != "Core" || teams[0].OrgID != web.ID {
		t.Errorf("ListTeams[0] = %+v, want %+v", teams[0], core)
	}
	teams, err = s.ListTeams(ctx, data.ID)
	must(t, "ListTeams", err)
	if len(teams) != 1 || teams[0].ID != dataCore.ID {
		t.Errorf("ListTeams(acme-data) = %+v, want data core only", teams)
	}

	must(t, "AddTeamMember", s.AddTeamMember(ctx, core.ID, u.ID))
	wantKind(t, "AddTeamMember unknown team", s.AddTeamMember(ctx, 987654321, u.ID), usage.KindNotFound)
	wantKind(t, "AddTeamMember unknown user", s.AddTeamMember(ctx, core.ID, 987654321), usage.KindNotFound)
}

func testRepositories(t *testing.T, s usage.Store) {
	ctx := t.Context()
	must(t, "CreateOrganization", s.CreateOrganization(ctx, &usage.Organization{Login: "Acme-Web"}))
	must(t, "CreateUser", s.CreateUser(ctx, &usage.User{Login: "mona"}))
	site := &usage.Repository{OwnerLogin: "Acme-Web", Name: "site", Private: true}
	must(t, "CreateRepository", s.CreateRepository(ctx, site))
	if site.ID == 0 {
		t.Fatal("CreateRepository did not assign an ID")
	}
	api := &usage.Repository{OwnerLogin: "Acme-Web", Name: "api"}
	must(t, "CreateRepository", s.CreateRepository(ctx, api))
	dots := &usage.Repository{OwnerLogin: "mona", Name: "dotfiles"}
	must(t, "CreateRepository", s.CreateRepository(ctx, dots))
	wantKind(t, "CreateRepository duplicate name", s.CreateRepository(ctx, &usage.Repository{OwnerLogin: "acme-web", Name: "SITE"}), usage.KindConflict)

	for _, owner := range []string{"Acme-Web", "acme-web"} {
		repos, err := s.ListRepositories(ctx, owner)
		must(t, "ListRepositories", err)
		if len(repos) != 2 || repos[0].ID != site.ID || repos[1].ID != api.ID {
			t.Fatalf("ListRepositories(%q) = %+v, want site then api", owner, repos)
		}
		if repos[0].Name != "site" || !repos[0].Private || repos[1].Private {
			t.Errorf("ListRepositories(%q) = %+v, want site private, api public", owner, repos)
		}
		if repos[0].FullName() != "Acme-Web/site" {
			t.Errorf("FullName = %q, want Acme-Web/site (owner keeps its case)", repos[0].FullName())
		}
	}
	repos, err := s.ListRepositories(ctx, "mona")
	must(t, "ListRepositories", err)
	if len(repos) != 1 || repos[0].ID != dots.ID {
		t.Errorf("ListRepositories(mona) = %+v, want dotfiles", repos)
	}
	repos, err = s.ListRepositories(ctx, "nobody")
	if err != nil && !usage.IsNotFound(err) {
		t.Fatalf("ListRepositories(nobody): %v", err)
	}
	if len(repos) != 0 {
		t.Errorf("ListRepositories(nobody) = %+v, want none", repos)
	}
}

func testApps(t *testing.T, s usage.Store) {
	ctx := t.Context()
	a := &usage.App{Slug: "ci-bot", Name: "CI Bot", OwnerLogin: "acme-web", ClientID: "Iv1.abc",
		Permissions: map[string]string{"organization_api_insights": "read", "administration": "write"}}
	must(t, "CreateApp", s.CreateApp(ctx, a))
	if a.ID == 0 {
		t.Fatal("CreateApp did not assign an ID")
	}
	got, err := s.AppByID(ctx, a.ID)
	must(t, "AppByID", err)
	if got.Slug != a.Slug || got.Name != a.Name || got.OwnerLogin != a.OwnerLogin || got.ClientID != a.ClientID || !sameMap(got.Permissions, a.Permissions) {
		t.Errorf("AppByID = %+v, want %+v", got, a)
	}
	b := &usage.App{Slug: "deployer", Name: "Deployer", OwnerLogin: "acme-web", ClientID: "Iv1.def"}
	must(t, "CreateApp without permissions", s.CreateApp(ctx, b))
	got, err = s.AppByID(ctx, b.ID)
	must(t, "AppByID", err)
	if len(got.Permissions) != 0 {
		t.Errorf("AppByID(deployer).Permissions = %v, want none", got.Permissions)
	}
	wantKind(t, "CreateApp duplicate slug", s.CreateApp(ctx, &usage.App{Slug: "CI-Bot", Name: "x", ClientID: "Iv1.zzz"}), usage.KindConflict)
	list, err := s.ListApps(ctx)
	must(t, "ListApps", err)
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Errorf("ListApps = %+v, want ci-bot then deployer", list)
	}
}

func testInstallations(t *testing.T, s usage.Store) {
	ctx := t.Context()
	app := &usage.App{Slug: "ci-bot", Name: "CI Bot", OwnerLogin: "acme-web", ClientID: "Iv1.abc"}
	must(t, "CreateApp", s.CreateApp(ctx, app))
	i := &usage.Installation{AppID: app.ID, AccountLogin: "Acme-Web", AccountType: "Organization",
		Permissions: map[string]string{"organization_api_insights": "read"}, Repositories: 42}
	must(t, "CreateInstallation", s.CreateInstallation(ctx, i))
	if i.ID == 0 {
		t.Fatal("CreateInstallation did not assign an ID")
	}
	got, err := s.InstallationByID(ctx, i.ID)
	must(t, "InstallationByID", err)
	if got.AppID != app.ID || got.AccountLogin != "Acme-Web" || got.AccountType != "Organization" ||
		got.Repositories != 42 || got.Members != 0 || !sameMap(got.Permissions, i.Permissions) {
		t.Errorf("InstallationByID = %+v, want %+v with no members yet", got, i)
	}

	// Members is derived from the organization's roles when reading: owners
	// and members count, other organizations' members do not.
	org := &usage.Organization{Login: "acme-web"}
	must(t, "CreateOrganization", s.CreateOrganization(ctx, org))
	other := &usage.Organization{Login: "acme-data"}
	must(t, "CreateOrganization", s.CreateOrganization(ctx, other))
	for n, role := range []string{usage.RoleAdmin, usage.RoleMember, usage.RoleMember} {
		u := &usage.User{Login: fmt.Sprintf("member%d", n)}
		must(t, "CreateUser", s.CreateUser(ctx, u))
		must(t, "SetOrgRole", s.SetOrgRole(ctx, org.ID, u.ID, role))
		if n == 0 {
			must(t, "SetOrgRole other", s.SetOrgRole(ctx, other.ID, u.ID, usage.RoleMember))
		}
	}
	got, err = s.InstallationByID(ctx, i.ID)
	must(t, "InstallationByID", err)
	if got.Members != 3 {
		t.Errorf("InstallationByID(org installation).Members = %d, want 3", got.Members)
	}

	j := &usage.Installation{AppID: app.ID, AccountLogin: "mona", AccountType: "User"}
	must(t, "CreateInstallation", s.CreateInstallation(ctx, j))
	list, err := s.ListInstallations(ctx)
	must(t, "ListInstallations", err)
	if len(list) != 2 || list[0].ID != i.ID || list[1].ID != j.ID {
		t.Errorf("ListInstallations = %+v, want the two in id order", list)
	} else if list[0].Members != 3 || list[1].Members != 0 {
		t.Errorf("ListInstallations members = %d, %d, want 3 (organization) and 0 (user)", list[0].Members, list[1].Members)
	}
	wantKind(t, "CreateInstallation unknown app", s.CreateInstallation(ctx, &usage.Installation{AppID: 987654321, AccountLogin: "x", AccountType: "User"}), usage.KindNotFound)
}

func testOAuthApps(t *testing.T, s usage.Store) {
	ctx := t.Context()
	a := &usage.OAuthApp{Name: "Dashboard", ClientID: "Ov23li", OwnerLogin: "acme-web"}
	must(t, "CreateOAuthApp", s.CreateOAuthApp(ctx, a))
	if a.ID == 0 {
		t.Fatal("CreateOAuthApp did not assign an ID")
	}
	got, err := s.OAuthAppByID(ctx, a.ID)
	must(t, "OAuthAppByID", err)
	if *got != *a {
		t.Errorf("OAuthAppByID = %+v, want %+v", got, a)
	}
	b := &usage.OAuthApp{Name: "Exporter", ClientID: "Ov23lj", OwnerLogin: "mona"}
	must(t, "CreateOAuthApp", s.CreateOAuthApp(ctx, b))
	list, err := s.ListOAuthApps(ctx)
	must(t, "ListOAuthApps", err)
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Errorf("ListOAuthApps = %+v, want the two in id order", list)
	}
}

func testAccountsNotFound(t *testing.T, s usage.Store) {
	ctx := t.Context()
	const missing = 987654321
	_, err := s.EnterpriseBySlug(ctx, "nope")
	wantKind(t, "EnterpriseBySlug", err, usage.KindNotFound)
	_, err = s.OrganizationByLogin(ctx, "nope")
	wantKind(t, "OrganizationByLogin", err, usage.KindNotFound)
	_, err = s.UserByLogin(ctx, "nope")
	wantKind(t, "UserByLogin", err, usage.KindNotFound)
	_, err = s.UserByID(ctx, missing)
	wantKind(t, "UserByID", err, usage.KindNotFound)
	_, err = s.AppByID(ctx, missing)
	wantKind(t, "AppByID", err, usage.KindNotFound)
	_, err = s.InstallationByID(ctx, missing)
	wantKind(t, "InstallationByID", err, usage.KindNotFound)
	_, err = s.OAuthAppByID(ctx, missing)
	wantKind(t, "OAuthAppByID", err, usage.KindNotFound)

	// Empty stores list nothing rather than failing.
	if l, err := s.ListEnterprises(ctx); err != nil || len(l) != 0 {
		t.Errorf("ListEnterprises on an empty store = %v, %v", l, err)
	}
	if l, err := s.ListOrganizations(ctx, 0); err != nil || len(l) != 0 {
		t.Errorf("ListOrganizations on an empty store = %v, %v", l, err)
	}
	if l, err := s.ListUsers(ctx); err != nil || len(l) != 0 {
		t.Errorf("ListUsers on an empty store = %v, %v", l, err)
	}
	if l, err := s.ListApps(ctx); err != nil || len(l) != 0 {
		t.Errorf("ListApps on an empty store = %v, %v", l, err)
	}
	// A login is matched exactly, ignoring case only: LIKE wildcards are
	// not patterns.
	must(t, "CreateUser", s.CreateUser(ctx, &usage.User{Login: "a_b"}))
	_, err = s.UserByLogin(ctx, "axb")
	wantKind(t, "UserByLogin with a wildcard-like login", err, usage.KindNotFound)
	_, err = s.UserByLogin(ctx, "a%")
	wantKind(t, "UserByLogin(a%)", err, usage.KindNotFound)
}
