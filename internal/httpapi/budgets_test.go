package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-github/v92/github"
)

const budgetBase = "/enterprises/acme/settings/billing/budgets"

func enterpriseBudget(scope, entity, typ, sku string) map[string]any {
	return map[string]any{"budget_amount": 200, "prevent_further_usage": false, "budget_scope": scope, "budget_entity_name": entity,
		"budget_type": typ, "budget_product_sku": sku, "budget_alerting": map[string]any{"will_alert": true, "alert_recipients": []string{"ghusage-admin"}}}
}

func TestBudgetResponsesMatchContract(t *testing.T) {
	doc := loadContract(t)
	for _, e := range ccEnvs(t) {
		t.Run(e.name, func(t *testing.T) {
			cc := e.call(t, doc, "billing/create-cost-center", "POST", ccBase, map[string]any{"name": "Budgeted"}, 200)
			repo := firstRepo(t, e, "acme-web")
			var ids []string
			for _, body := range []map[string]any{
				enterpriseBudget("enterprise", "", "ProductPricing", "actions"),
				enterpriseBudget("organization", "ACME-WEB", "SkuPricing", "actions_linux"),
				enterpriseBudget("repository", repo, "ProductPricing", "packages"),
				enterpriseBudget("cost_center", cc["id"].(string), "ProductPricing", "actions"),
				{"budget_amount": 50, "prevent_further_usage": true, "budget_scope": "multi_user_customer", "budget_type": "BundlePricing",
					"budget_product_sku": "ai_credits", "budget_alerting": map[string]any{"will_alert": false, "alert_recipients": []string{}}},
				{"budget_amount": 10, "prevent_further_usage": true, "budget_scope": "multi_user_cost_center", "budget_entity_name": cc["id"], "budget_type": "ProductPricing",
					"budget_product_sku": "premium_requests", "budget_alerting": map[string]any{"will_alert": false, "alert_recipients": []string{}}},
				{"budget_amount": 5, "prevent_further_usage": true, "budget_scope": "user", "user": e.Data.Users[0].Login, "budget_type": "BundlePricing",
					"budget_alerting": map[string]any{"will_alert": false, "alert_recipients": []string{}}},
			} {
				created := e.call(t, doc, "billing/create-budget", "POST", budgetBase, body, 200)
				b := created["budget"].(map[string]any)
				if created["message"] != "Budget successfully created." || b["budget_scope"] != body["budget_scope"] {
					t.Fatalf("create %v: %v", body, created)
				}
				ids = append(ids, b["id"].(string))
			}
			got := e.call(t, doc, "billing/get-budget", "GET", budgetBase+"/"+ids[1], nil, 200)
			if got["budget_entity_name"] != "acme-web" || got["budget_product_sku"] != "actions_linux" {
				t.Fatalf("organization budget: %v", got)
			}
			user := e.call(t, doc, "billing/get-budget", "GET", budgetBase+"/"+ids[6], nil, 200)
			if user["user"] != e.Data.Users[0].Login || user["consumed_amount"] == nil || user["budget_product_sku"] != "ai_credits" {
				t.Fatalf("user budget: %v", user)
			}
			list := e.call(t, doc, "billing/get-all-budgets", "GET", budgetBase+"?per_page=3&page=2", nil, 200)
			if list["total_count"] != float64(7) || list["has_next_page"] != true || len(list["budgets"].([]any)) != 3 {
				t.Fatalf("page 2: %v", list)
			}
			scoped := e.call(t, doc, "billing/get-all-budgets", "GET", budgetBase+"?scope=repository", nil, 200)
			if scoped["total_count"] != float64(1) || scoped["has_next_page"] != false {
				t.Fatalf("scope=repository: %v", scoped)
			}
			byUser := e.call(t, doc, "billing/get-all-budgets", "GET", budgetBase+"?user="+e.Data.Users[0].Login, nil, 200)
			if byUser["user"] != e.Data.Users[0].Login || byUser["effective_budget"].(map[string]any)["id"] != ids[6] {
				t.Fatalf("user=: %v", byUser)
			}
			states := e.call(t, doc, "billing/get-budget-user-states", "GET", budgetBase+"/"+ids[4]+"/user-states", nil, 200)
			if states["total_count"] != float64(1) { // the user with an overriding budget
				t.Fatalf("user states: %v", states)
			}
			st := states["user_states"].([]any)[0].(map[string]any)
			if st["override_budget_id"] != ids[6] || st["target_amount"] != float64(5) {
				t.Fatalf("user state: %v", st)
			}
			up := e.call(t, doc, "billing/update-budget", "PATCH", budgetBase+"/"+ids[0], map[string]any{"budget_amount": 300, "prevent_further_usage": true}, 200)
			if up["message"] != "Budget successfully updated." || up["budget"].(map[string]any)["budget_amount"] != float64(300) {
				t.Fatalf("update: %v", up)
			}
			del := e.call(t, doc, "billing/delete-budget", "DELETE", budgetBase+"/"+ids[2], nil, 200)
			if del["message"] != "Budget successfully deleted." || del["id"] != ids[2] {
				t.Fatalf("delete: %v", del)
			}
			e.call(t, doc, "billing/get-budget", "GET", budgetBase+"/"+ids[2], nil, 404)
			e.call(t, doc, "billing/create-budget", "POST", budgetBase, enterpriseBudget("enterprise", "", "ProductPricing", "actions"), 422)

			// The organization variants.
			ob := "/organizations/acme-data/settings/billing/budgets"
			oc := e.call(t, doc, "billing/create-organization-budget", "POST", ob, map[string]any{"budget_amount": 40, "prevent_further_usage": false,
				"budget_scope": "organization", "budget_type": "ProductPricing", "budget_product_sku": "actions",
				"budget_alerting": map[string]any{"will_alert": true, "alert_recipients": []string{}}}, 200)
			oid := oc["budget"].(map[string]any)["id"].(string)
			if oc["budget"].(map[string]any)["budget_entity_name"] != "acme-data" {
				t.Fatalf("an organization budget without an entity is the organization's: %v", oc)
			}
			e.call(t, doc, "billing/get-budget-org", "GET", ob+"/"+oid, nil, 200)
			ol := e.call(t, doc, "billing/get-all-budgets-org", "GET", ob, nil, 200)
			if ol["total_count"] != float64(1) {
				t.Fatalf("organization list: %v", ol)
			}
			e.call(t, doc, "billing/update-budget-org", "PATCH", ob+"/"+oid, map[string]any{"budget_amount": 45}, 200)
			e.call(t, doc, "billing/get-budget-org", "GET", "/organizations/acme-web/settings/billing/budgets/"+oid, nil, 404)
			e.call(t, doc, "billing/delete-budget-org", "DELETE", ob+"/"+oid, nil, 200)
		})
	}
}

func TestBudgetBadInput(t *testing.T) {
	e := ccEnvs(t)[0]
	with := func(k string, v any) map[string]any {
		b := enterpriseBudget("enterprise", "", "ProductPricing", "actions")
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	cases := []struct {
		name   string
		path   string
		body   any
		status int
		wants  []string
	}{
		{"negative amount", budgetBase, with("budget_amount", -1), 422, []string{`"field":"budget_amount"`, "0 or more"}},
		{"fractional amount", budgetBase, with("budget_amount", 1.5), 422, []string{`"field":"budget_amount"`, "integer"}},
		{"unknown scope", budgetBase, with("budget_scope", "galaxy"), 422, []string{`"field":"budget_scope"`, "galaxy"}},
		{"unknown type", budgetBase, with("budget_type", "FlatPricing"), 422, []string{`"field":"budget_type"`}},
		{"unknown product", budgetBase, with("budget_product_sku", "teleport"), 422, []string{`"field":"budget_product_sku"`, "teleport", "actions"}},
		{"unknown SKU", budgetBase, map[string]any{"budget_amount": 1, "prevent_further_usage": false, "budget_scope": "enterprise", "budget_type": "SkuPricing",
			"budget_product_sku": "actions_quantum", "budget_alerting": map[string]any{"will_alert": false, "alert_recipients": []string{}}}, 422, []string{"actions_quantum", "actions_linux"}},
		{"missing amount", budgetBase, with("budget_amount", nil), 422, []string{`"field":"budget_amount"`, "missing_field"}},
		{"missing alerting", budgetBase, with("budget_alerting", nil), 422, []string{"budget_alerting"}},
		{"unknown organization", budgetBase, enterpriseBudget("organization", "globex", "ProductPricing", "actions"), 422, []string{"budget_entity_name", "globex"}},
		{"repository not owner/repo", budgetBase, enterpriseBudget("repository", "nothing", "ProductPricing", "actions"), 422, []string{"owner/repo"}},
		{"cost center not a UUID", budgetBase, enterpriseBudget("cost_center", "platform", "ProductPricing", "actions"), 422, []string{"budget_entity_name", "UUID"}},
		{"unknown cost center", budgetBase, enterpriseBudget("cost_center", "6f1c1f0e-0000-4000-8000-000000000000", "ProductPricing", "actions"), 422, []string{"not found"}},
		{"unknown recipient", budgetBase, with("budget_alerting", map[string]any{"will_alert": true, "alert_recipients": []string{"nobody-here"}}), 422, []string{"alert_recipients", "nobody-here"}},
		{"user budget on actions", budgetBase, map[string]any{"budget_amount": 1, "prevent_further_usage": true, "budget_scope": "user", "user": "ghusage-admin",
			"budget_type": "ProductPricing", "budget_product_sku": "actions", "budget_alerting": map[string]any{"will_alert": false, "alert_recipients": []string{}}}, 422, []string{"ai_credits", "premium_requests"}},
		{"user budget without prevent_further_usage", budgetBase, map[string]any{"budget_amount": 1, "prevent_further_usage": false, "budget_scope": "user", "user": "ghusage-admin",
			"budget_type": "BundlePricing", "budget_product_sku": "ai_credits", "budget_alerting": map[string]any{"will_alert": false, "alert_recipients": []string{}}}, 422, []string{"prevent_further_usage"}},
		{"user budget with alerts", budgetBase, map[string]any{"budget_amount": 1, "prevent_further_usage": true, "budget_scope": "user", "user": "ghusage-admin",
			"budget_type": "BundlePricing", "budget_product_sku": "ai_credits", "budget_alerting": map[string]any{"will_alert": true, "alert_recipients": []string{}}}, 422, []string{"budget_alerting"}},
		{"user budget for nobody", budgetBase, map[string]any{"budget_amount": 1, "prevent_further_usage": true, "budget_scope": "user", "user": "nobody-here",
			"budget_type": "BundlePricing", "budget_product_sku": "ai_credits", "budget_alerting": map[string]any{"will_alert": false, "alert_recipients": []string{}}}, 422, []string{`"field":"user"`}},
		{"enterprise scope on an organization", "/organizations/acme-web/settings/billing/budgets", enterpriseBudget("enterprise", "", "ProductPricing", "actions"), 422, []string{"budget_scope"}},
		{"another organization's repository", "/organizations/acme-web/settings/billing/budgets", enterpriseBudget("repository", "acme-data/whatever", "ProductPricing", "actions"), 422, []string{"budget_entity_name"}},
		{"malformed JSON", budgetBase, `{"budget_amount":`, 400, []string{"Problems parsing JSON"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.do(t, "POST", c.path, e.Token, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, c.status)
			}
			for _, w := range c.wants {
				if !strings.Contains(body, w) {
					t.Errorf("body %s does not contain %q", body, w)
				}
			}
		})
	}
	for _, c := range []struct{ method, path, want string }{
		{"GET", budgetBase + "/nope", "budget_id"},
		{"DELETE", budgetBase + "/nope", "budget_id"},
		{"GET", budgetBase + "?scope=galaxy", "scope"},
		{"GET", budgetBase + "?per_page=0", "per_page"},
		{"GET", budgetBase + "?user=nobody-here", "user"},
	} {
		resp, body := e.do(t, c.method, c.path, e.Token, nil)
		if resp.StatusCode/100 != 4 || !strings.Contains(body, c.want) {
			t.Errorf("%s %s: %d %s, want a 4xx naming %s", c.method, c.path, resp.StatusCode, body, c.want)
		}
	}
	resp, body := e.do(t, "GET", budgetBase+"/6f1c1f0e-0000-4000-8000-000000000000", e.Token, nil)
	if resp.StatusCode != 404 || !strings.Contains(body, "Budget with ID 6f1c1f0e-0000-4000-8000-000000000000 not found.") {
		t.Errorf("unknown budget: %d %s", resp.StatusCode, body)
	}
}

// TestGoGitHubBudgets round-trips go-github v92's enterprise budget methods.
func TestGoGitHubBudgets(t *testing.T) {
	for _, e := range ccEnvs(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			base := e.URL + "/"
			c, err := github.NewClient(github.WithURLs(&base, &base), github.WithAuthToken(e.Token))
			if err != nil {
				t.Fatal(err)
			}
			ent := c.Enterprise
			created, _, err := ent.CreateBudget(ctx, "acme", github.EnterpriseCreateBudget{BudgetAmount: 500, BudgetScope: github.BudgetScopeOrganization,
				BudgetEntityName: github.Ptr("acme-infra"), BudgetType: github.BudgetTypeSkuPricing, BudgetProductSKU: github.Ptr("actions_linux"),
				BudgetAlerting: &github.EnterpriseBudgetAlerting{WillAlert: github.Ptr(true), AlertRecipients: []string{"ghusage-admin"}}})
			if err != nil || created.Budget.GetID() == "" || created.Budget.GetBudgetAmount() != 500 {
				t.Fatalf("CreateBudget: %+v %v", created, err)
			}
			id := created.Budget.GetID()
			got, _, err := ent.GetBudget(ctx, "acme", id)
			if err != nil || got.GetBudgetEntityName() != "acme-infra" || got.GetBudgetProductSKU() != "actions_linux" || !got.GetBudgetAlerting().GetWillAlert() {
				t.Fatalf("GetBudget: %+v %v", got, err)
			}
			up, _, err := ent.UpdateBudget(ctx, "acme", id, github.EnterpriseUpdateBudget{BudgetAmount: github.Ptr(750)})
			if err != nil || up.Budget.GetBudgetAmount() != 750 || up.Budget.GetBudgetEntityName() != "acme-infra" {
				t.Fatalf("UpdateBudget: %+v %v", up, err)
			}
			list, _, err := ent.ListBudgets(ctx, "acme", &github.EnterpriseListBudgetsOptions{Scope: github.BudgetScopeOrganization})
			if err != nil || list.GetTotalCount() != 1 || list.GetHasNextPage() || list.Budgets[0].GetID() != id {
				t.Fatalf("ListBudgets: %+v %v", list, err)
			}
			del, _, err := ent.DeleteBudget(ctx, "acme", id)
			if err != nil || del.ID != id || del.Message != "Budget successfully deleted." {
				t.Fatalf("DeleteBudget: %+v %v", del, err)
			}
			if _, resp, err := ent.GetBudget(ctx, "acme", id); err == nil || resp.StatusCode != 404 {
				t.Fatalf("GetBudget after delete: %v", err)
			}
		})
	}
}
