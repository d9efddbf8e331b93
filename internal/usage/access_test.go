package usage

import (
	"testing"
)

func TestAuthorizeOrg(t *testing.T) {
	org := &Organization{ID: 1, Login: "Acme-Web"}
	member := &User{ID: 10, Login: "mona"}
	insights := Access{Scopes: []string{"read:org"}, Permission: "organization_api_insights", Level: "read"}
	ownerOnly := Access{Scopes: []string{"admin:org"}, Permission: "organization_administration", Level: "read", Role: RoleAdmin}
	classic := func(scopes ...string) *Actor {
		return &Actor{Type: ActorClassicPAT, Token: &Token{Scopes: scopes}, User: member, Orgs: map[string]string{"acme-web": RoleMember}}
	}
	cases := []struct {
		name   string
		actor  *Actor
		need   Access
		want   Kind
		scopes bool // expect accepted scopes on the error
	}{
		{"unauthenticated", &Actor{}, insights, KindUnauthenticated, false},
		{"classic with read:org", classic("read:org"), insights, -1, false},
		{"classic with admin:org implies read:org", classic("admin:org"), insights, -1, false},
		{"classic without scope", classic("repo"), insights, KindForbidden, true},
		{"classic non-member sees nothing", &Actor{Type: ActorClassicPAT, Token: &Token{Scopes: []string{"admin:org"}}, User: member}, insights, KindNotFound, false},
		{"member is not owner", classic("admin:org"), ownerOnly, KindForbidden, false},
		{"site admin sees every org", &Actor{Type: ActorClassicPAT, Token: &Token{Scopes: []string{"admin:org"}}, User: &User{ID: 1, SiteAdmin: true}}, ownerOnly, -1, false},
		{"fine-grained with permission", &Actor{Type: ActorFineGrainedPAT, User: member, Orgs: map[string]string{"acme-web": RoleMember},
			Token: &Token{ResourceOwner: "acme-web", Permissions: map[string]string{"organization_api_insights": "read"}}}, insights, -1, false},
		{"fine-grained for another owner", &Actor{Type: ActorFineGrainedPAT, User: member, Orgs: map[string]string{"acme-web": RoleMember},
			Token: &Token{ResourceOwner: "acme-data", Permissions: map[string]string{"organization_api_insights": "read"}}}, insights, KindNotFound, false},
		{"fine-grained of a non-member sees nothing", &Actor{Type: ActorFineGrainedPAT, User: member, Orgs: map[string]string{"acme-data": RoleMember},
			Token: &Token{ResourceOwner: "acme-web", Permissions: map[string]string{"organization_api_insights": "read"}}}, insights, KindNotFound, false},
		{"fine-grained without permission", &Actor{Type: ActorFineGrainedPAT, User: member, Orgs: map[string]string{"acme-web": RoleMember},
			Token: &Token{ResourceOwner: "acme-web", Permissions: map[string]string{"contents": "write"}}}, insights, KindForbidden, false},
		{"installation on the org", &Actor{Type: ActorInstallation, Installation: &Installation{AccountLogin: "acme-web"},
			Token: &Token{Permissions: map[string]string{"organization_api_insights": "write"}}}, insights, -1, false},
		{"classic with write:org implies read:org", classic("write:org"), insights, -1, false},
		{"user-to-server of a member", &Actor{Type: ActorUserToServer, User: member, Orgs: map[string]string{"acme-web": RoleMember},
			Token: &Token{Permissions: map[string]string{"organization_api_insights": "read"}}}, insights, -1, false},
		{"user-to-server of a non-member sees nothing", &Actor{Type: ActorUserToServer, User: member, Orgs: map[string]string{"acme-data": RoleMember},
			Token: &Token{Permissions: map[string]string{"organization_api_insights": "read"}}}, insights, KindNotFound, false},
		{"user-to-server of a member without permission", &Actor{Type: ActorUserToServer, User: member, Orgs: map[string]string{"acme-web": RoleMember},
			Token: &Token{Permissions: map[string]string{"metadata": "read"}}}, insights, KindForbidden, false},
		{"installation elsewhere", &Actor{Type: ActorInstallation, Installation: &Installation{AccountLogin: "acme-data"},
			Token: &Token{Permissions: map[string]string{"organization_api_insights": "read"}}}, insights, KindNotFound, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := AuthorizeOrg(c.actor, org, c.need)
			if c.want == -1 {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("allowed; want %s", c.want)
			}
			if got := ErrorKind(err); got != c.want {
				t.Fatalf("kind %s, want %s (%v)", got, c.want, err)
			}
			if e := err.(*Error); c.scopes != (len(e.AcceptedScopes) > 0) {
				t.Fatalf("accepted scopes %v", e.AcceptedScopes)
			}
		})
	}
}

func TestHasPermissionLevels(t *testing.T) {
	p := map[string]string{"a": "write"}
	if !HasPermission(p, "a", "read") || !HasPermission(p, "a", "write") || HasPermission(p, "a", "admin") || HasPermission(p, "b", "read") {
		t.Fatal("permission levels do not order read < write < admin")
	}
}

// Scope implication follows GitHub: admin:org ⊃ write:org ⊃ read:org, and
// never the other way.
func TestScopeImplication(t *testing.T) {
	for _, c := range []struct {
		granted, want string
		ok            bool
	}{
		{"write:org", "read:org", true},
		{"admin:org", "read:org", true},
		{"admin:org", "write:org", true},
		{"read:org", "write:org", false},
		{"write:org", "admin:org", false},
		{"admin:enterprise", "read:enterprise", true},
		{"admin:enterprise", "manage_billing:enterprise", true},
		{"read:enterprise", "admin:enterprise", false},
		{"repo", "read:org", false},
	} {
		if got := HasScope([]string{c.granted}, c.want); got != c.ok {
			t.Errorf("HasScope([%s], %s) = %v, want %v", c.granted, c.want, got, c.ok)
		}
	}
}
