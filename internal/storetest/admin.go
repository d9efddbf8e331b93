package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// RunAdmin runs the site-admin cases (usage.AdminStore) against backends
// returned by open; see Run.
func RunAdmin(t *testing.T, open func(t *testing.T) Backend) {
	runStoreCases(t, open, []storeCase{
		{"RenameUser", testRenameUser},
		{"SiteAdminAndSuspension", testSiteAdminAndSuspension},
		{"DeleteUser", testDeleteUser},
		{"RenameOrganization", testRenameOrganization},
		{"UserEmailAndSuspendedAtCreate", testUserEmailAtCreate},
	})
}

func adminStore(t *testing.T, s usage.Store) usage.AdminStore {
	t.Helper()
	a, ok := s.(usage.AdminStore)
	if !ok {
		t.Skip("backend has no usage.AdminStore")
	}
	return a
}

func testRenameUser(t *testing.T, s usage.Store) {
	ctx := context.Background()
	a := adminStore(t, s)
	u := &usage.User{Login: "ada", CreatedAt: testTime}
	must(t, "CreateUser", s.CreateUser(ctx, u))
	must(t, "CreateUser", s.CreateUser(ctx, &usage.User{Login: "grace", CreatedAt: testTime}))
	must(t, "RenameUser", a.RenameUser(ctx, u.ID, "Ada-L"))
	got, err := s.UserByLogin(ctx, "ada-l")
	must(t, "UserByLogin(new)", err)
	if got.ID != u.ID || got.Login != "Ada-L" {
		t.Errorf("renamed user = %+v", got)
	}
	_, err = s.UserByLogin(ctx, "ada")
	wantKind(t, "UserByLogin(old)", err, usage.KindNotFound)
	wantKind(t, "RenameUser to a taken login (other case)", a.RenameUser(ctx, u.ID, "GRACE"), usage.KindConflict)
	wantKind(t, "RenameUser of a missing user", a.RenameUser(ctx, u.ID+1000, "x"), usage.KindNotFound)
}

func testSiteAdminAndSuspension(t *testing.T, s usage.Store) {
	ctx := context.Background()
	a := adminStore(t, s)
	u := &usage.User{Login: "ada", CreatedAt: testTime}
	must(t, "CreateUser", s.CreateUser(ctx, u))
	must(t, "SetSiteAdmin(true)", a.SetSiteAdmin(ctx, u.ID, true))
	if got, _ := s.UserByID(ctx, u.ID); got == nil || !got.SiteAdmin {
		t.Fatalf("after promotion: %+v", got)
	}
	at := testTime.Add(time.Hour)
	must(t, "SetSuspended", a.SetSuspended(ctx, u.ID, at))
	got, err := s.UserByID(ctx, u.ID)
	must(t, "UserByID", err)
	if !got.Suspended() || !got.SiteAdmin {
		t.Fatalf("after suspension: %+v", got)
	}
	sameTime(t, "SuspendedAt", got.SuspendedAt, at)
	must(t, "SetSiteAdmin(false)", a.SetSiteAdmin(ctx, u.ID, false))
	must(t, "SetSuspended(zero)", a.SetSuspended(ctx, u.ID, time.Time{}))
	got, _ = s.UserByLogin(ctx, "ada")
	if got.Suspended() || got.SiteAdmin {
		t.Fatalf("after demotion and unsuspension: %+v", got)
	}
	wantKind(t, "SetSuspended of a missing user", a.SetSuspended(ctx, u.ID+1000, at), usage.KindNotFound)
	wantKind(t, "SetSiteAdmin of a missing user", a.SetSiteAdmin(ctx, u.ID+1000, true), usage.KindNotFound)
}

func testUserEmailAtCreate(t *testing.T, s usage.Store) {
	ctx := context.Background()
	adminStore(t, s)
	u := &usage.User{Login: "ada", Email: "ada@example.com", CreatedAt: testTime, SuspendedAt: testTime}
	must(t, "CreateUser", s.CreateUser(ctx, u))
	got, err := s.UserByID(ctx, u.ID)
	must(t, "UserByID", err)
	if got.Email != "ada@example.com" || !got.Suspended() {
		t.Errorf("got %+v", got)
	}
	sameTime(t, "SuspendedAt", got.SuspendedAt, testTime)
}

func testDeleteUser(t *testing.T, s usage.Store) {
	ctx := context.Background()
	a := adminStore(t, s)
	org := &usage.Organization{Login: "acme", CreatedAt: testTime}
	must(t, "CreateOrganization", s.CreateOrganization(ctx, org))
	ent := &usage.Enterprise{Slug: "ent", Name: "Ent", CreatedAt: testTime}
	must(t, "CreateEnterprise", s.CreateEnterprise(ctx, ent))
	team := &usage.Team{OrgID: org.ID, Slug: "core", Name: "Core"}
	must(t, "CreateTeam", s.CreateTeam(ctx, team))
	u := &usage.User{Login: "ada", CreatedAt: testTime}
	keep := &usage.User{Login: "grace", CreatedAt: testTime}
	must(t, "CreateUser", s.CreateUser(ctx, u))
	must(t, "CreateUser", s.CreateUser(ctx, keep))
	for _, id := range []int64{u.ID, keep.ID} {
		must(t, "SetOrgRole", s.SetOrgRole(ctx, org.ID, id, usage.RoleMember))
		must(t, "SetEnterpriseRole", s.SetEnterpriseRole(ctx, ent.ID, id, usage.RoleMember))
		must(t, "AddTeamMember", s.AddTeamMember(ctx, team.ID, id))
		tok := &usage.Token{Type: usage.ActorClassicPAT, Hash: usage.HashToken(usage.NewTokenString(usage.ActorClassicPAT)), LastEight: "abcdefgh", UserID: id, CreatedAt: testTime}
		must(t, "CreateToken", s.CreateToken(ctx, tok))
	}
	must(t, "DeleteUser", a.DeleteUser(ctx, u.ID))
	_, err := s.UserByID(ctx, u.ID)
	wantKind(t, "UserByID(deleted)", err, usage.KindNotFound)
	if toks, err := s.ListTokens(ctx, u.ID); err != nil || len(toks) != 0 {
		t.Errorf("tokens of the deleted user: %d, %v", len(toks), err)
	}
	if toks, err := s.ListTokens(ctx, keep.ID); err != nil || len(toks) != 1 {
		t.Errorf("tokens of the other user: %d, %v", len(toks), err)
	}
	orgs, _, err := s.Roles(ctx, keep.ID)
	must(t, "Roles", err)
	if orgs["acme"] != usage.RoleMember {
		t.Errorf("the other user's roles went too: %v", orgs)
	}
	// The login is free again.
	must(t, "CreateUser(ada again)", s.CreateUser(ctx, &usage.User{Login: "ada", CreatedAt: testTime}))
	wantKind(t, "DeleteUser of a missing user", a.DeleteUser(ctx, u.ID), usage.KindNotFound)
}

func testRenameOrganization(t *testing.T, s usage.Store) {
	ctx := context.Background()
	a := adminStore(t, s)
	org := &usage.Organization{Login: "acme", CreatedAt: testTime}
	must(t, "CreateOrganization", s.CreateOrganization(ctx, org))
	must(t, "CreateOrganization", s.CreateOrganization(ctx, &usage.Organization{Login: "other", CreatedAt: testTime}))
	must(t, "RenameOrganization", a.RenameOrganization(ctx, org.ID, "acme-corp"))
	got, err := s.OrganizationByLogin(ctx, "ACME-CORP")
	must(t, "OrganizationByLogin(new)", err)
	if got.ID != org.ID {
		t.Errorf("renamed org = %+v", got)
	}
	_, err = s.OrganizationByLogin(ctx, "acme")
	wantKind(t, "OrganizationByLogin(old)", err, usage.KindNotFound)
	wantKind(t, "RenameOrganization to a taken login", a.RenameOrganization(ctx, org.ID, "Other"), usage.KindConflict)
	wantKind(t, "RenameOrganization of a missing org", a.RenameOrganization(ctx, org.ID+1000, "x"), usage.KindNotFound)
}
