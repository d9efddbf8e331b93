package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/usage"
)

// TestCostCenterOrgOwnerAccess checks the contract's rule for organization
// owners: they see, update and archive only the cost centers holding
// resources they administer, may add and remove their own organizations'
// resources (never enterprise teams), and may not create cost centers.
func TestCostCenterOrgOwnerAccess(t *testing.T) {
	e := ccEnvs(t)[0]
	ctx := context.Background()
	u := &usage.User{Login: "data-owner", CreatedAt: time.Now()}
	if err := e.Store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	var dataOrg, webOrg *usage.Organization
	for _, o := range e.Data.Orgs {
		switch o.Login {
		case "acme-data":
			dataOrg = o
		case "acme-web":
			webOrg = o
		}
	}
	if err := e.Store.SetOrgRole(ctx, dataOrg.ID, u.ID, usage.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.SetOrgRole(ctx, webOrg.ID, u.ID, usage.RoleMember); err != nil {
		t.Fatal(err)
	}
	tok, err := demo.IssueToken(ctx, e.Store, &usage.Token{Type: usage.ActorClassicPAT, UserID: u.ID, Scopes: []string{"manage_billing:enterprise"}, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string, orgs ...string) string {
		resp, body := e.do(t, "POST", ccBase, e.Token, map[string]any{"name": name})
		if resp.StatusCode != 200 {
			t.Fatalf("create %s: %d %s", name, resp.StatusCode, body)
		}
		var cc struct{ ID string }
		if err := json.Unmarshal([]byte(body), &cc); err != nil {
			t.Fatal(err)
		}
		if resp, body := e.do(t, "POST", ccBase+"/"+cc.ID+"/resource", e.Token, map[string]any{"organizations": orgs}); resp.StatusCode != 200 {
			t.Fatalf("add to %s: %d %s", name, resp.StatusCode, body)
		}
		return cc.ID
	}
	data, web := create("Owned data", "acme-data"), create("Not theirs", "acme-web")
	dataRepo := firstRepo(t, e, "acme-data")

	resp, body := e.do(t, "GET", ccBase, tok, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, data) || strings.Contains(body, web) {
		t.Fatalf("list as the owner of acme-data: %d %s; want only %s", resp.StatusCode, body, data)
	}
	for _, c := range []struct {
		name, method, path string
		body               any
		status             int
		mention            string
	}{
		{"get theirs", "GET", ccBase + "/" + data, nil, 200, "acme-data"},
		{"get another's", "GET", ccBase + "/" + web, nil, 404, "not found"},
		{"rename another's", "PATCH", ccBase + "/" + web, map[string]any{"name": "x"}, 404, "not found"},
		{"archive another's", "DELETE", ccBase + "/" + web, nil, 404, "not found"},
		{"add to another's", "POST", ccBase + "/" + web + "/resource", map[string]any{"repositories": []string{dataRepo}}, 404, "not found"},
		{"create", "POST", ccBase, map[string]any{"name": "mine"}, 404, "not found"}, // only enterprise owners and billing managers create
		{"add another organization", "POST", ccBase + "/" + data + "/resource", map[string]any{"organizations": []string{"acme-web"}}, 403, "organizations"},
		{"add an enterprise team", "POST", ccBase + "/" + data + "/resource", map[string]any{"enterprise_teams": []string{"platform"}}, 403, "enterprise_teams"},
		{"add their repository", "POST", ccBase + "/" + data + "/resource", map[string]any{"repositories": []string{dataRepo}}, 200, "successfully added"},
		{"remove their repository", "DELETE", ccBase + "/" + data + "/resource", map[string]any{"repositories": []string{dataRepo}}, 200, "successfully removed"},
		{"rename theirs", "PATCH", ccBase + "/" + data, map[string]any{"name": "Data (renamed)"}, 200, "Data (renamed)"},
		{"archive theirs", "DELETE", ccBase + "/" + data, nil, 200, "successfully deleted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.do(t, c.method, c.path, tok, c.body)
			if resp.StatusCode != c.status || !strings.Contains(strings.ToLower(body), strings.ToLower(c.mention)) {
				t.Fatalf("%d %s, want %d mentioning %q", resp.StatusCode, body, c.status, c.mention)
			}
		})
	}
	// No longer an owner, they see nothing of the enterprise's billing.
	if err := e.Store.SetOrgRole(ctx, dataOrg.ID, u.ID, usage.RoleMember); err != nil {
		t.Fatal(err)
	}
	if resp, body := e.do(t, "GET", ccBase, tok, nil); resp.StatusCode != 404 {
		t.Fatalf("list after losing ownership: %d %s, want 404", resp.StatusCode, body)
	}
}
