package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

// RunBudgets runs the budget conformance cases against stores that also
// implement billing.BudgetStore (others are skipped).
func RunBudgets(t *testing.T, open Replicas) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s billing.BudgetStore)
	}{
		{"RoundTrip", testBudgetRoundTrip},
		{"UniqueTargetAndLimit", testBudgetUniqueAndLimit},
		{"ListPagesAndScopes", testBudgetList},
		{"OwnersAreSeparate", testBudgetOwners},
		{"AlertsOncePerThreshold", testBudgetAlertsOnce},
		{"Deliveries", testBudgetDeliveries},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, asBudgetStore(t, open(t, 1)[0]))
		})
	}
	t.Run("ConcurrentAlertsOnce", func(t *testing.T) {
		t.Parallel()
		stores := open(t, 2)
		testConcurrentBudgetAlerts(t, asBudgetStore(t, stores[0]), asBudgetStore(t, stores[1]))
	})
}

func asBudgetStore(t *testing.T, s usage.Store) billing.BudgetStore {
	t.Helper()
	bs, ok := s.(billing.BudgetStore)
	if !ok {
		t.Skip("backend does not implement billing.BudgetStore")
	}
	return bs
}

var budgetSeq int

func newBudget(ent, org int64, scope, entity, sku string) *billing.Budget {
	budgetSeq++
	return &billing.Budget{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", budgetSeq), EnterpriseID: ent, OrgID: org, Type: billing.BudgetProductPricing,
		ProductSKU: sku, Scope: scope, EntityName: entity, Amount: 100, WillAlert: true, AlertRecipients: []string{"mona"},
		CreatedAt: testTime, UpdatedAt: testTime}
}

var budgetMu sync.Mutex

func mkBudget(ent, org int64, scope, entity, sku string) *billing.Budget {
	budgetMu.Lock()
	defer budgetMu.Unlock()
	return newBudget(ent, org, scope, entity, sku)
}

func sameBudget(t *testing.T, got, want *billing.Budget) {
	t.Helper()
	g, w := *got, *want
	sameTime(t, "CreatedAt", g.CreatedAt, w.CreatedAt)
	sameTime(t, "UpdatedAt", g.UpdatedAt, w.UpdatedAt)
	g.CreatedAt, w.CreatedAt, g.UpdatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !slices.Equal(g.AlertRecipients, w.AlertRecipients) {
		t.Errorf("AlertRecipients = %v, want %v", g.AlertRecipients, w.AlertRecipients)
	}
	g.AlertRecipients, w.AlertRecipients = nil, nil
	if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
		t.Errorf("budget = %+v, want %+v", g, w)
	}
}

func testBudgetRoundTrip(t *testing.T, s billing.BudgetStore) {
	ctx := t.Context()
	b := mkBudget(1, 0, billing.ScopeEnterprise, "", "actions")
	b.PreventFurtherUsage = true
	must(t, "CreateBudget", s.CreateBudget(ctx, b, 10))
	got, err := s.Budget(ctx, 1, 0, b.ID)
	must(t, "Budget", err)
	sameBudget(t, got, b)
	b.Amount, b.WillAlert, b.AlertRecipients, b.UpdatedAt = 250, false, nil, testTime.Add(time.Hour)
	b.Type, b.ProductSKU = billing.BudgetSkuPricing, "actions_linux"
	must(t, "UpdateBudget", s.UpdateBudget(ctx, b))
	got, err = s.Budget(ctx, 1, 0, b.ID)
	must(t, "Budget", err)
	sameBudget(t, got, b)
	must(t, "DeleteBudget", s.DeleteBudget(ctx, 1, 0, b.ID))
	_, err = s.Budget(ctx, 1, 0, b.ID)
	wantKind(t, "deleted budget", err, usage.KindNotFound)
	wantKind(t, "delete twice", s.DeleteBudget(ctx, 1, 0, b.ID), usage.KindNotFound)
	wantKind(t, "update deleted", s.UpdateBudget(ctx, b), usage.KindNotFound)
}

func testBudgetUniqueAndLimit(t *testing.T, s billing.BudgetStore) {
	ctx := t.Context()
	a := mkBudget(1, 0, billing.ScopeOrganization, "acme-web", "actions")
	must(t, "create", s.CreateBudget(ctx, a, 3))
	dup := mkBudget(1, 0, billing.ScopeOrganization, "ACME-WEB", "actions")
	if err := s.CreateBudget(ctx, dup, 3); !errors.Is(err, billing.ErrBudgetExists) {
		t.Fatalf("duplicate target: %v, want ErrBudgetExists", err)
	}
	b := mkBudget(1, 0, billing.ScopeOrganization, "acme-web", "packages")
	must(t, "another product", s.CreateBudget(ctx, b, 3))
	b.ProductSKU = "actions"
	if err := s.UpdateBudget(ctx, b); !errors.Is(err, billing.ErrBudgetExists) {
		t.Fatalf("update onto another budget's target: %v", err)
	}
	must(t, "third", s.CreateBudget(ctx, mkBudget(1, 0, billing.ScopeEnterprise, "", "actions"), 3))
	if err := s.CreateBudget(ctx, mkBudget(1, 0, billing.ScopeEnterprise, "", "copilot"), 3); !errors.Is(err, billing.ErrBudgetLimit) {
		t.Fatalf("over the limit: %v, want ErrBudgetLimit", err)
	}
}

func testBudgetList(t *testing.T, s billing.BudgetStore) {
	ctx := t.Context()
	var ids []string
	for i := range 5 {
		scope, entity := billing.ScopeEnterprise, ""
		if i%2 == 1 {
			scope, entity = billing.ScopeOrganization, "acme-web"
		}
		b := mkBudget(1, 0, scope, entity, []string{"actions", "packages", "copilot", "codespaces", "ghas"}[i])
		must(t, "create", s.CreateBudget(ctx, b, 10))
		ids = append(ids, b.ID)
	}
	page, total, err := s.ListBudgets(ctx, 1, 0, "", 2, 2)
	must(t, "list", err)
	if total != 5 || len(page) != 2 || page[0].ID != ids[2] || page[1].ID != ids[3] {
		t.Fatalf("page 2 of size 2 = %d budgets of %d", len(page), total)
	}
	orgs, total, err := s.ListBudgets(ctx, 1, 0, billing.ScopeOrganization, 0, 10)
	must(t, "list by scope", err)
	if total != 2 || len(orgs) != 2 || orgs[0].ID != ids[1] || orgs[1].ID != ids[3] {
		t.Fatalf("organization budgets: %d of %d", len(orgs), total)
	}
	all, err := s.AllBudgets(ctx)
	must(t, "AllBudgets", err)
	if len(all) != 5 {
		t.Fatalf("AllBudgets = %d budgets, want 5", len(all))
	}
}

func testBudgetOwners(t *testing.T, s billing.BudgetStore) {
	ctx := t.Context()
	ent := mkBudget(1, 0, billing.ScopeOrganization, "acme-web", "actions")
	org := mkBudget(1, 7, billing.ScopeOrganization, "acme-web", "actions") // the organization's own, same target
	must(t, "enterprise budget", s.CreateBudget(ctx, ent, 10))
	must(t, "organization budget", s.CreateBudget(ctx, org, 10))
	if _, err := s.Budget(ctx, 1, 7, ent.ID); !usage.IsNotFound(err) {
		t.Fatalf("an organization sees its enterprise's budget: %v", err)
	}
	if _, err := s.Budget(ctx, 1, 0, org.ID); !usage.IsNotFound(err) {
		t.Fatalf("the enterprise list holds an organization's budget: %v", err)
	}
	wantKind(t, "delete through another owner", s.DeleteBudget(ctx, 2, 0, ent.ID), usage.KindNotFound)
	list, total, err := s.ListBudgets(ctx, 1, 7, "", 0, 10)
	must(t, "list", err)
	if total != 1 || list[0].ID != org.ID {
		t.Fatalf("organization list = %d budgets", total)
	}
}

func testBudgetAlertsOnce(t *testing.T, s billing.BudgetStore) {
	ctx := t.Context()
	raise := func(threshold int, urls ...string) bool {
		var ds []billing.BudgetDelivery
		id := fmt.Sprintf("delivery-%d", threshold)
		for _, u := range urls {
			ds = append(ds, billing.BudgetDelivery{DeliveryID: id, URL: u, Payload: "{}", NextAttempt: testTime})
		}
		ok, err := s.RaiseBudgetAlert(ctx, billing.BudgetAlert{BudgetID: "b1", Month: "2026-03", Threshold: threshold, DeliveryID: id, Consumed: "80.5", RaisedAt: testTime}, ds)
		must(t, "RaiseBudgetAlert", err)
		return ok
	}
	if !raise(75, "http://a", "http://b") {
		t.Fatal("first 75 % alert not raised")
	}
	if raise(75, "http://a") {
		t.Fatal("75 % raised twice")
	}
	if !raise(100, "http://a") {
		t.Fatal("100 % after 75 % not raised")
	}
	if raise(90, "http://a") {
		t.Fatal("90 % raised after 100 %")
	}
	alerts, err := s.BudgetAlerts(ctx, "b1", "2026-03")
	must(t, "BudgetAlerts", err)
	if len(alerts) != 2 || alerts[0].Threshold != 75 || alerts[1].Threshold != 100 || alerts[0].Consumed != "80.5" || alerts[0].DeliveryID != "delivery-75" {
		t.Fatalf("alerts = %+v, want 75 and 100", alerts)
	}
	sameTime(t, "RaisedAt", alerts[0].RaisedAt, testTime)
	// Another month starts over.
	ok, err := s.RaiseBudgetAlert(ctx, billing.BudgetAlert{BudgetID: "b1", Month: "2026-04", Threshold: 75, DeliveryID: "april", RaisedAt: testTime}, nil)
	must(t, "next month", err)
	if !ok {
		t.Fatal("75 % in the next month not raised")
	}
	due, err := s.DueBudgetDeliveries(ctx, testTime, 10)
	must(t, "due", err)
	if len(due) != 3 {
		t.Fatalf("%d deliveries due, want 3 (two for 75 %%, one for 100 %%)", len(due))
	}
}

func testBudgetDeliveries(t *testing.T, s billing.BudgetStore) {
	ctx := t.Context()
	_, err := s.RaiseBudgetAlert(ctx, billing.BudgetAlert{BudgetID: "b2", Month: "2026-03", Threshold: 90, DeliveryID: "d", RaisedAt: testTime},
		[]billing.BudgetDelivery{{DeliveryID: "d", URL: "http://a", Payload: `{"x":1}`, NextAttempt: testTime}, {DeliveryID: "d", URL: "http://b", Payload: `{"x":1}`, NextAttempt: testTime}})
	must(t, "raise", err)
	if due, err := s.DueBudgetDeliveries(ctx, testTime.Add(-time.Second), 10); err != nil || len(due) != 0 {
		t.Fatalf("deliveries due before their time: %v %v", due, err)
	}
	due, err := s.DueBudgetDeliveries(ctx, testTime, 10)
	must(t, "due", err)
	if len(due) != 2 || due[0].Payload != `{"x":1}` {
		t.Fatalf("due = %+v", due)
	}
	a, b := due[0], due[1]
	a.Attempts, a.DeliveredAt = 1, testTime
	b.Attempts, b.NextAttempt, b.LastError = 1, testTime.Add(time.Minute), "answered 500"
	must(t, "update", s.UpdateBudgetDelivery(ctx, a))
	must(t, "update", s.UpdateBudgetDelivery(ctx, b))
	due, err = s.DueBudgetDeliveries(ctx, testTime.Add(time.Minute), 10)
	must(t, "due", err)
	if len(due) != 1 || due[0].URL != b.URL || due[0].Attempts != 1 || due[0].LastError != "answered 500" {
		t.Fatalf("after one delivered and one retried: %+v", due)
	}
	b = due[0]
	b.Attempts, b.Failed = 2, true
	must(t, "fail", s.UpdateBudgetDelivery(ctx, b))
	if due, _ := s.DueBudgetDeliveries(ctx, testTime.Add(time.Hour), 10); len(due) != 0 {
		t.Fatalf("a failed delivery is still due: %+v", due)
	}
}

// testConcurrentBudgetAlerts has two replicas raise every threshold of one
// budget at once, many times: each raised exactly once, and 90 % not at
// all once 100 % was, whichever replica got there first.
func testConcurrentBudgetAlerts(t *testing.T, s1, s2 billing.BudgetStore) {
	ctx := t.Context()
	var wg sync.WaitGroup
	var mu sync.Mutex
	raised := map[int]int{}
	for _, s := range []billing.BudgetStore{s1, s2, s1, s2} {
		wg.Go(func() {
			for _, th := range []int{75, 100, 90, 100, 75} {
				ok, err := s.RaiseBudgetAlert(ctx, billing.BudgetAlert{BudgetID: "race", Month: "2026-03", Threshold: th, DeliveryID: billing.NewUUID(), RaisedAt: testTime}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					raised[th]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if raised[100] != 1 || raised[75] > 1 || raised[90] > 1 {
		t.Fatalf("raised %v: want 100 %% once and 75 %% and 90 %% at most once", raised)
	}
	alerts, err := s1.BudgetAlerts(ctx, "race", "2026-03")
	must(t, "alerts", err)
	n := 0
	for _, c := range raised {
		n += c
	}
	if len(alerts) != n || alerts[len(alerts)-1].Threshold != 100 {
		t.Fatalf("stored alerts %+v, reported %v", alerts, raised)
	}
}
