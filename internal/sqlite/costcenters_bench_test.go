package sqlite_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/usage"
)

// BenchmarkCostCenterSummary measures what attribution costs a month's
// usage/summary: the same query without cost_center_id (all usage, no
// attribution) and with one (every row attributed, from 300 cost centers
// holding 3 organizations, 120 repositories, 150 users and a team, with
// moves). Compare the two sub-benchmarks' ns/op, run side by side:
//
//	go test -run X -bench CostCenterSummary ./internal/sqlite
func BenchmarkCostCenterSummary(b *testing.B) {
	ctx := context.Background()
	db := openTemp(b)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	orgs := []string{"acme-web", "acme-data", "acme-infra"}
	ent := &usage.Enterprise{Slug: "acme", Name: "Acme", CreatedAt: start}
	if err := db.CreateEnterprise(ctx, ent); err != nil {
		b.Fatal(err)
	}
	var users []string
	for _, o := range orgs {
		if err := db.CreateOrganization(ctx, &usage.Organization{Login: o, EnterpriseID: ent.ID, CreatedAt: start}); err != nil {
			b.Fatal(err)
		}
		for i := range 40 {
			if err := db.CreateRepository(ctx, &usage.Repository{OwnerLogin: o, Name: fmt.Sprint("repo", i), Private: true}); err != nil {
				b.Fatal(err)
			}
		}
		for i := range 50 {
			u := fmt.Sprintf("%s-user%d", o, i)
			if err := db.CreateUser(ctx, &usage.User{Login: u, CreatedAt: start}); err != nil {
				b.Fatal(err)
			}
			users = append(users, u)
		}
	}
	if err := db.CreateEnterpriseTeam(ctx, &billing.EnterpriseTeam{EnterpriseID: ent.ID, Slug: "platform", Name: "Platform", CreatedAt: start, Members: users[:20]}); err != nil {
		b.Fatal(err)
	}
	clock := start
	cc := &billing.CostCenters{Store: db, Now: func() time.Time { return clock }}
	var ids []string
	for i := range 300 {
		name := fmt.Sprint("cc", i)
		c, err := cc.Create(ctx, ent.ID, billing.CreateCostCenter{Name: &name})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	add := func(i int, req billing.ResourceRequest) {
		if _, err := cc.AddResources(ctx, ent.ID, ids[i%len(ids)], req); err != nil {
			b.Fatal(err)
		}
	}
	for i, o := range orgs {
		add(i, billing.ResourceRequest{Organizations: []string{o}})
		for r := range 40 {
			add(3+i*40+r, billing.ResourceRequest{Repositories: []string{fmt.Sprintf("%s/repo%d", o, r)}})
		}
	}
	for i, u := range users {
		add(150+i, billing.ResourceRequest{Users: []string{u}})
	}
	add(299, billing.ResourceRequest{EnterpriseTeams: []string{"platform"}})
	clock = start.AddDate(0, 0, 14) // half the repositories move mid-month
	for i, o := range orgs {
		for r := 0; r < 40; r += 2 {
			add(200+i*20+r/2, billing.ResourceRequest{Repositories: []string{fmt.Sprintf("%s/repo%d", o, r)}})
		}
	}
	g := &billinggen.Gen{Seed: 1, N: 200_000, Start: start, End: start.AddDate(0, 1, 0), Enterprise: "acme", Orgs: orgs, Repos: 40, Users: 50, IDPrefix: "r"}
	recs := g.Records()
	for i := 0; i < len(recs); i += 10_000 {
		if _, err := db.BillingIngest(ctx, recs[i:i+10_000]); err != nil {
			b.Fatal(err)
		}
	}
	catalog := billing.DefaultCatalog()
	svc := billing.NewService(db, catalog, func() time.Time { return start.AddDate(0, 1, 0) })
	svc.Attribution = &billing.CostCenterAttribution{Store: db, Accounts: db}
	acme := billing.Scope{Account: billing.Account{Kind: billing.KindEnterprise, Login: "acme"}}
	for _, c := range []struct{ name, cc string }{{"all", ""}, {"cost_center", ids[210]}, {"none", "none"}} {
		q := url.Values{"year": {"2026"}, "month": {"1"}}
		if c.cc != "" {
			q.Set("cost_center_id", c.cc)
		}
		p, err := billing.ParseParams(q, billing.EndpointSummary, catalog, start)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Summary(ctx, acme, p, billing.EndpointSummary); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
