package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-github/v92/github"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// ccEnv is a running server for the cost-center and budget tests, on
// either store.
type ccEnv struct {
	name  string
	URL   string
	Token string
	Store usage.Store
	Data  *demo.Dataset
	Srv   *server.Server
}

// ccEnvs returns a server on SQLite and, when PostgreSQL answers, one on
// PostgreSQL, both seeded with the demo accounts.
func ccEnvs(t *testing.T) []*ccEnv {
	t.Helper()
	e := testenv.New(t)
	envs := []*ccEnv{{name: "sqlite", URL: e.URL, Token: e.AdminToken, Store: e.Store, Data: e.Data, Srv: e.Server}}
	if pg := pgEnv(t); pg != nil {
		envs = append(envs, pg)
	}
	return envs
}

// pgEnv starts a server on a fresh PostgreSQL schema, or returns nil when
// PostgreSQL is not reachable and not required.
func pgEnv(t *testing.T) *ccEnv {
	t.Helper()
	if !t.Run("postgres", func(t *testing.T) { pgtest.Server(t) }) {
		return nil // skipped: PostgreSQL does not answer and is not required
	}
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := demo.Seed(ctx, st, demo.Options{Seed: 1, Scale: 0.2, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.TokenCacheTTL = 0
	srv, err := server.New(cfg, st, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.API.Handler())
	t.Cleanup(hs.Close)
	return &ccEnv{name: "postgres", URL: hs.URL, Token: d.AdminToken, Store: st, Data: d, Srv: srv}
}

func (e *ccEnv) do(t *testing.T, method, path, token string, body any) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// operationSchema returns the schema of an operation's response status.
func operationSchema(t *testing.T, doc *openapi3.T, operationID string, status int) *openapi3.Schema {
	t.Helper()
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID == operationID {
				r := op.Responses.Value(fmt.Sprint(status))
				if r == nil {
					t.Fatalf("%s documents no %d response", operationID, status)
				}
				return r.Value.Content.Get("application/json").Schema.Value
			}
		}
	}
	t.Fatalf("operation %s is not in the contract", operationID)
	return nil
}

// call sends a request, checks the status and validates the body against
// the operation's schema for that status, and returns the decoded body.
func (e *ccEnv) call(t *testing.T, doc *openapi3.T, op, method, path string, body any, status int) map[string]any {
	t.Helper()
	resp, text := e.do(t, method, path, e.Token, body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, text, status)
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v\n%s", method, path, err, text)
	}
	if err := operationSchema(t, doc, op, status).VisitJSON(v); err != nil {
		t.Fatalf("%s %s: the %d response does not match the contract of %s: %v\n%s", method, path, status, op, err, text)
	}
	m, _ := v.(map[string]any)
	return m
}

const ccBase = "/enterprises/acme/settings/billing/cost-centers"

func firstRepo(t *testing.T, e *ccEnv, org string) string {
	t.Helper()
	rs, err := e.Store.ListRepositories(context.Background(), org)
	if err != nil || len(rs) == 0 {
		t.Fatalf("repositories of %s: %v %v", org, rs, err)
	}
	return rs[0].FullName()
}

func TestCostCenterResponsesMatchContract(t *testing.T) {
	doc := loadContract(t)
	for _, e := range ccEnvs(t) {
		t.Run(e.name, func(t *testing.T) {
			u0, u1 := e.Data.Users[0].Login, e.Data.Users[1].Login
			repo := firstRepo(t, e, "acme-data")
			a := e.call(t, doc, "billing/create-cost-center", "POST", ccBase, map[string]any{"name": "Web"}, 200)
			b := e.call(t, doc, "billing/create-cost-center", "POST", "/api/v3"+ccBase, map[string]any{"name": "Data", "ai_credit_pool_enabled": false}, 200)
			aID, bID := a["id"].(string), b["id"].(string)
			if a["state"] != "active" || len(a["resources"].([]any)) != 0 {
				t.Fatalf("created %v", a)
			}
			add := e.call(t, doc, "billing/add-resource-to-cost-center", "POST", ccBase+"/"+aID+"/resource",
				map[string]any{"users": []string{u0, u1}, "organizations": []string{"acme-web"}, "repositories": []string{repo}}, 200)
			if add["message"] != "Resources successfully added to the cost center." || add["reassigned_resources"] != nil {
				t.Fatalf("add: %v", add)
			}
			moved := e.call(t, doc, "billing/add-resource-to-cost-center", "POST", ccBase+"/"+bID+"/resource",
				map[string]any{"users": []string{strings.ToUpper(u0)}, "repositories": []string{repo}}, 200)
			rr, _ := moved["reassigned_resources"].([]any)
			if len(rr) != 2 {
				t.Fatalf("move: %v", moved)
			}
			first := rr[0].(map[string]any)
			if first["resource_type"] != "user" || first["name"] != u0 || first["previous_cost_center"] != "Web" {
				t.Fatalf("reassigned %v, want user %s from Web", first, u0)
			}
			if second := rr[1].(map[string]any); second["resource_type"] != "repository" || second["name"] != repo {
				t.Fatalf("reassigned %v, want repository %s", second, repo)
			}
			got := e.call(t, doc, "billing/get-cost-center", "GET", ccBase+"/"+aID, nil, 200)
			if res := got["resources"].([]any); len(res) != 2 {
				t.Fatalf("A after the move: %v", got)
			}
			if _, ok := got["has_next_page"]; ok {
				t.Fatalf("has_next_page without pagination: %v", got)
			}
			page := e.call(t, doc, "billing/get-cost-center", "GET", ccBase+"/"+aID+"?per_page=1", nil, 200)
			if len(page["resources"].([]any)) != 1 || page["has_next_page"] != true {
				t.Fatalf("page 1 of 2: %v", page)
			}
			page2 := e.call(t, doc, "billing/get-cost-center", "GET", ccBase+"/"+aID+"?per_page=1&page=2", nil, 200)
			if len(page2["resources"].([]any)) != 1 || page2["has_next_page"] != false {
				t.Fatalf("page 2 of 2: %v", page2)
			}
			up := e.call(t, doc, "billing/update-cost-center", "PATCH", ccBase+"/"+aID, map[string]any{"name": "Web platform"}, 200)
			if up["name"] != "Web platform" || len(up["resources"].([]any)) != 2 {
				t.Fatalf("update: %v", up)
			}
			pool := e.call(t, doc, "billing/update-cost-center", "PATCH", ccBase+"/"+bID, map[string]any{"ai_credit_pool_enabled": false}, 200)
			if pool["ai_credit_pool_enabled"] != false {
				t.Fatalf("pool flag: %v", pool)
			}
			e.call(t, doc, "billing/remove-resource-from-cost-center", "DELETE", ccBase+"/"+bID+"/resource", map[string]any{"users": []string{u0}}, 200)
			list := e.call(t, doc, "billing/get-all-cost-centers", "GET", ccBase, nil, 200)
			if n := len(list["costCenters"].([]any)); n != 2 {
				t.Fatalf("list: %v", list)
			}
			del := e.call(t, doc, "billing/delete-cost-center", "DELETE", ccBase+"/"+bID, nil, 200)
			if del["costCenterState"] != "CostCenterArchived" || del["id"] != bID || del["name"] != "Data" {
				t.Fatalf("delete: %v", del)
			}
			deleted := e.call(t, doc, "billing/get-all-cost-centers", "GET", ccBase+"?state=deleted", nil, 200)
			dl := deleted["costCenters"].([]any)
			if len(dl) != 1 || dl[0].(map[string]any)["state"] != "deleted" || len(dl[0].(map[string]any)["resources"].([]any)) != 0 {
				t.Fatalf("deleted list: %v", deleted)
			}
			active := e.call(t, doc, "billing/get-all-cost-centers", "GET", ccBase+"?state=active", nil, 200)
			if al := active["costCenters"].([]any); len(al) != 1 || al[0].(map[string]any)["id"] != aID {
				t.Fatalf("active list: %v", active)
			}
			// Error bodies match the contract too.
			e.call(t, doc, "billing/create-cost-center", "POST", ccBase, map[string]any{"name": "web PLATFORM"}, 409)
			e.call(t, doc, "billing/create-cost-center", "POST", ccBase, map[string]any{}, 400)
			e.call(t, doc, "billing/get-cost-center", "GET", ccBase+"/not-a-uuid", nil, 400)
			e.call(t, doc, "billing/update-cost-center", "PATCH", ccBase+"/"+bID, map[string]any{"name": "x"}, 409)
			e.call(t, doc, "billing/delete-cost-center", "DELETE", ccBase+"/00000000-0000-4000-8000-000000000000", nil, 404)
			e.call(t, doc, "billing/add-resource-to-cost-center", "POST", ccBase+"/"+aID+"/resource", map[string]any{"users": []string{"nobody-at-all"}}, 400)
		})
	}
}

func TestCostCenterBadInput(t *testing.T) {
	e := ccEnvs(t)[0]
	resp, body := e.do(t, "POST", ccBase, e.Token, map[string]any{"name": "Ops"})
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var cc struct{ ID string }
	json.Unmarshal([]byte(body), &cc)
	many := make([]string, 51)
	for i := range many {
		many[i] = e.Data.Users[i%len(e.Data.Users)].Login + strings.Repeat("x", i/len(e.Data.Users))
	}
	cases := []struct {
		name, method, path string
		body               any
		status             int
		wants              []string
	}{
		{"256-character name", "POST", ccBase, map[string]any{"name": strings.Repeat("n", 256)}, 400, []string{"name", "255"}},
		{"255-character name is fine, but taken twice", "POST", ccBase, map[string]any{"name": "Ops"}, 409, []string{"There's already a cost center created with that name."}},
		{"missing name", "POST", ccBase, map[string]any{"ai_credit_pool_enabled": true}, 400, []string{"Bad request: name is required."}},
		{"blank name", "POST", ccBase, map[string]any{"name": "   "}, 400, []string{"name is required"}},
		{"name of the wrong type", "POST", ccBase, `{"name": 12}`, 400, []string{"name must be a string"}},
		{"malformed JSON", "POST", ccBase, `{"name":`, 400, []string{"Problems parsing JSON"}},
		{"51 resources", "POST", ccBase + "/" + cc.ID + "/resource", map[string]any{"users": many}, 400, []string{"51", "at most 50"}},
		{"no resources", "POST", ccBase + "/" + cc.ID + "/resource", map[string]any{}, 400, []string{"users", "organizations", "repositories", "enterprise_teams"}},
		{"unknown user", "POST", ccBase + "/" + cc.ID + "/resource", map[string]any{"users": []string{e.Data.Users[0].Login, "no-such-user"}}, 400, []string{"users: no-such-user"}},
		{"repository not owner/repo", "POST", ccBase + "/" + cc.ID + "/resource", map[string]any{"repositories": []string{"just-a-name"}}, 400, []string{"repositories[0]", "owner/repo"}},
		{"unknown organization", "DELETE", ccBase + "/" + cc.ID + "/resource", map[string]any{"organizations": []string{"globex"}}, 400, []string{"organizations: globex"}},
		{"malformed UUID", "GET", ccBase + "/1234", nil, 400, []string{"cost_center_id", "UUID"}},
		{"malformed UUID on add", "POST", ccBase + "/zz/resource", map[string]any{"users": []string{"x"}}, 400, []string{"cost_center_id"}},
		{"unknown cost center", "GET", ccBase + "/6f1c1f0e-0000-4000-8000-000000000000", nil, 404, []string{"Cost center with ID 6f1c1f0e-0000-4000-8000-000000000000 not found."}},
		{"bad state", "GET", ccBase + "?state=archived", nil, 400, []string{"state", "active, deleted"}},
		{"per_page too large", "GET", ccBase + "/" + cc.ID + "?per_page=101", nil, 422, []string{"per_page"}},
		{"empty update", "PATCH", ccBase + "/" + cc.ID, map[string]any{}, 400, []string{"name", "ai_credit_pool_enabled"}},
		{"unknown enterprise", "GET", "/enterprises/globex/settings/billing/cost-centers", nil, 404, []string{"Not Found"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.do(t, c.method, c.path, e.Token, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, resp.StatusCode, body, c.status)
			}
			for _, w := range c.wants {
				if !strings.Contains(body, w) {
					t.Errorf("body %s does not contain %q", body, w)
				}
			}
		})
	}
}

func TestCostCenterAccess(t *testing.T) {
	e := ccEnvs(t)[0]
	ctx := context.Background()
	member := e.Data.Users[10] // an enterprise member, not an owner
	tok := func(tk *usage.Token) string {
		tk.CreatedAt = time.Now()
		s, err := demo.IssueToken(ctx, e.Store, tk)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	owner := e.Data.Admin
	noScope := tok(&usage.Token{Type: usage.ActorClassicPAT, UserID: owner.ID, Scopes: []string{"read:org"}})
	billingScope := tok(&usage.Token{Type: usage.ActorClassicPAT, UserID: owner.ID, Scopes: []string{"manage_billing:enterprise"}})
	memberTok := tok(&usage.Token{Type: usage.ActorClassicPAT, UserID: member.ID, Scopes: []string{"manage_billing:enterprise"}})
	fine := tok(&usage.Token{Type: usage.ActorFineGrainedPAT, UserID: owner.ID, ResourceOwner: "acme", Permissions: map[string]string{"enterprise_billing": "write"}})
	for _, c := range []struct {
		name, token string
		status      int
	}{
		{"no token", "", 401},
		{"classic without the scope", noScope, 403},
		{"classic with manage_billing:enterprise", billingScope, 200},
		{"enterprise member who is not an owner", memberTok, 403},
		{"fine-grained token", fine, 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.do(t, "GET", ccBase, c.token, nil)
			if resp.StatusCode != c.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, c.status)
			}
			if c.status == 403 && strings.Contains(c.name, "without the scope") && resp.Header.Get("X-Accepted-OAuth-Scopes") != "manage_billing:enterprise" {
				t.Errorf("X-Accepted-OAuth-Scopes = %q", resp.Header.Get("X-Accepted-OAuth-Scopes"))
			}
		})
	}
}

// TestGoGitHubCostCenters round-trips go-github v92's cost-center methods:
// create → get → add resources → get shows them → remove → delete →
// listed with state=deleted.
func TestGoGitHubCostCenters(t *testing.T) {
	for _, e := range ccEnvs(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			base := e.URL + "/"
			c, err := github.NewClient(github.WithURLs(&base, &base), github.WithAuthToken(e.Token))
			if err != nil {
				t.Fatal(err)
			}
			ent := c.Enterprise
			cc, _, err := ent.CreateCostCenter(ctx, "acme", github.CostCenterRequest{Name: "Mobile"})
			if err != nil {
				t.Fatalf("CreateCostCenter: %v", err)
			}
			if cc.ID == "" || cc.Name != "Mobile" || cc.State == nil || *cc.State != "active" {
				t.Fatalf("created %+v", cc)
			}
			got, _, err := ent.GetCostCenter(ctx, "acme", cc.ID)
			if err != nil || got.Name != "Mobile" || len(got.Resources) != 0 {
				t.Fatalf("GetCostCenter: %+v %v", got, err)
			}
			repo := firstRepo(t, e, "acme-web")
			user := e.Data.Users[3].Login
			added, _, err := ent.AddResourcesToCostCenter(ctx, "acme", cc.ID, github.CostCenterResourceRequest{
				Users: []string{user}, Organizations: []string{"acme-infra"}, Repositories: []string{repo}})
			if err != nil || added.GetMessage() != "Resources successfully added to the cost center." || len(added.ReassignedResources) != 0 {
				t.Fatalf("AddResourcesToCostCenter: %+v %v", added, err)
			}
			got, _, err = ent.GetCostCenter(ctx, "acme", cc.ID)
			if err != nil || len(got.Resources) != 3 {
				t.Fatalf("GetCostCenter after add: %+v %v", got, err)
			}
			want := map[string]string{"User": user, "Org": "acme-infra", "Repo": repo}
			for _, r := range got.Resources {
				if want[r.Type] != r.Name {
					t.Errorf("resource %+v; want %v", r, want)
				}
			}
			other, _, err := ent.CreateCostCenter(ctx, "acme", github.CostCenterRequest{Name: "Infra"})
			if err != nil {
				t.Fatal(err)
			}
			moved, _, err := ent.AddResourcesToCostCenter(ctx, "acme", other.ID, github.CostCenterResourceRequest{Organizations: []string{"acme-infra"}})
			if err != nil || len(moved.ReassignedResources) != 1 || moved.ReassignedResources[0].GetPreviousCostCenter() != "Mobile" ||
				moved.ReassignedResources[0].GetResourceType() != "organization" {
				t.Fatalf("move: %+v %v", moved, err)
			}
			removed, _, err := ent.RemoveResourcesFromCostCenter(ctx, "acme", cc.ID, github.CostCenterResourceRequest{Users: []string{user}})
			if err != nil || removed.GetMessage() != "Resources successfully removed from the cost center." {
				t.Fatalf("RemoveResourcesFromCostCenter: %+v %v", removed, err)
			}
			renamed, _, err := ent.UpdateCostCenter(ctx, "acme", cc.ID, github.CostCenterRequest{Name: "Mobile apps"})
			if err != nil || renamed.Name != "Mobile apps" || len(renamed.Resources) != 1 {
				t.Fatalf("UpdateCostCenter: %+v %v", renamed, err)
			}
			del, _, err := ent.DeleteCostCenter(ctx, "acme", cc.ID)
			if err != nil || del.CostCenterState != "CostCenterArchived" || del.ID != cc.ID {
				t.Fatalf("DeleteCostCenter: %+v %v", del, err)
			}
			list, _, err := ent.ListCostCenters(ctx, "acme", &github.ListCostCenterOptions{State: github.Ptr("deleted")})
			if err != nil || len(list.CostCenters) != 1 || list.CostCenters[0].ID != cc.ID || list.CostCenters[0].GetState() != "deleted" {
				t.Fatalf("ListCostCenters(deleted): %+v %v", list, err)
			}
			all, _, err := ent.ListCostCenters(ctx, "acme", nil)
			if err != nil || len(all.CostCenters) != 2 {
				t.Fatalf("ListCostCenters: %+v %v", all, err)
			}
			_, resp, err := ent.CreateCostCenter(ctx, "acme", github.CostCenterRequest{Name: "infra"})
			if err == nil || resp.StatusCode != 409 {
				t.Fatalf("duplicate name: %v %v", resp, err)
			}
		})
	}
}
