package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

// BillingBurstMinutes is the size of the matrix build that runs in
// acme-data in the middle of each demo month: with the month's other jobs
// it uses up the 50,000 included minutes, so later jobs pay.
const BillingBurstMinutes = 42_000

// demoRunners are the demo's Actions runners, by how often jobs use them.
var demoRunners = []struct {
	sku     string
	weight  int
	minutes int // longest job
}{
	{"actions_linux", 60, 25}, {"actions_windows", 12, 30}, {"actions_macos", 6, 20},
	{"actions_linux_4_core", 6, 40}, {"actions_linux_16_core", 2, 30}, {"actions_linux_2_core_arm", 4, 15},
	{"actions_self_hosted", 10, 45},
}

// SeedBilling writes the demo billing ledger of enterprise acme for the
// previous and the current month up to now: Actions jobs in the three
// organizations' repositories (every runner kind, public and private,
// and a burst that exhausts the included minutes mid-month), hourly
// Actions and Packages storage, packages data transfer, Copilot seats,
// premium requests and AI credits, and Advanced Security pushes. It is
// deterministic for seed and now. With d.CopilotBilling it leaves out the
// Copilot licences and premium requests (the ledger derives them from
// SeedCopilot's seats and activity), drawing the same random numbers.
func SeedBilling(ctx context.Context, st usage.AccountStore, bs billing.Store, d *Dataset, seed uint64, now time.Time) error {
	r := rand.New(rand.NewPCG(seed, 0xb111))
	now = now.UTC()
	start := billing.DateOf(now).MonthStart().Time().AddDate(0, -1, 0)
	ent := strings.ToLower(d.Enterprise.Slug)
	var recs []billing.Record
	add := func(rec billing.Record) {
		rec.Enterprise = ent
		if d.CopilotBilling && (rec.SKU == billing.SKUCopilotBusiness || rec.SKU == billing.SKUCopilotPremium) {
			return // derived from the Copilot seats and activity (--copilot-billing)
		}
		recs = append(recs, rec)
	}
	type repo struct {
		org, name string
		public    bool
	}
	var repos []repo
	for _, o := range d.Orgs {
		rs, err := st.ListRepositories(ctx, o.Login)
		if err != nil {
			return err
		}
		for _, rp := range rs {
			repos = append(repos, repo{strings.ToLower(o.Login), strings.ToLower(rp.FullName()), !rp.Private})
		}
	}
	if len(repos) == 0 || len(d.Users) == 0 {
		return nil
	}
	total := 0
	for _, rn := range demoRunners {
		total += rn.weight
	}
	user := func() string { return strings.ToLower(d.Users[r.IntN(len(d.Users))].Login) }
	job := 0
	for day := start; day.Before(now); day = day.AddDate(0, 0, 1) {
		weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
		jobs := 90
		if weekend {
			jobs = 25
		}
		for range jobs {
			at := day.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))).Truncate(time.Second)
			if !at.Before(now) {
				continue
			}
			pick := r.IntN(total)
			ri := 0
			for ; pick >= demoRunners[ri].weight; ri++ {
				pick -= demoRunners[ri].weight
			}
			rp := repos[r.IntN(len(repos))]
			job++
			add(billing.Record{ID: fmt.Sprintf("demo-job-%d", job), Timestamp: at, Product: "actions", SKU: demoRunners[ri].sku,
				Unit: billing.UnitMinutes, Quantity: billing.Units(1 + r.Int64N(int64(demoRunners[ri].minutes))),
				Organization: rp.org, Repository: rp.name, Username: user(), Public: rp.public,
				WorkflowPath: fmt.Sprintf(".github/workflows/%s.yml", []string{"ci", "release", "nightly"}[r.IntN(3)])})
		}
		// Packages data transfer and Copilot activity, daily.
		for oi, o := range d.Orgs {
			if at := day.Add(20 * time.Hour); at.Before(now) {
				add(billing.Record{ID: fmt.Sprintf("demo-transfer-%s-%s", o.Login, day.Format(time.DateOnly)), Timestamp: at,
					Product: "packages", SKU: "packages_bandwidth", Unit: billing.UnitGigabytes,
					Quantity: billing.Quantity(r.Int64N(3_000)+500) * 1_000_000, Organization: strings.ToLower(o.Login)})
			}
			for ui := oi; ui < len(d.Users) && ui < 60; ui += len(d.Orgs) {
				at := day.Add(time.Duration(9+r.IntN(9)) * time.Hour)
				if weekend || !at.Before(now) {
					continue
				}
				u := strings.ToLower(d.Users[ui].Login)
				add(billing.Record{ID: fmt.Sprintf("demo-premium-%s-%s", u, day.Format(time.DateOnly)), Timestamp: at, Product: "copilot",
					SKU: "copilot_premium_request", Unit: billing.UnitRequests, Quantity: billing.Units(r.Int64N(25)),
					Organization: strings.ToLower(o.Login), Username: u, Model: []string{"GPT-5", "Claude Sonnet 4.5", "Gemini 2.5 Pro"}[r.IntN(3)]})
				if ui%4 == 0 {
					add(billing.Record{ID: fmt.Sprintf("demo-credits-%s-%s", u, day.Format(time.DateOnly)), Timestamp: at, Product: "copilot",
						SKU: "copilot_ai_credits", Unit: billing.UnitCredits, Quantity: billing.Units(r.Int64N(300)),
						Organization: strings.ToLower(o.Login), Username: u, Model: "GPT-5"})
				}
			}
		}
		// The mid-month burst: a big matrix build in acme-data.
		if mid := day.AddDate(0, 0, 1-day.Day()).AddDate(0, 0, 11); day.Equal(mid) {
			for i := range 60 {
				at := day.Add(time.Duration(10*60+i) * time.Minute)
				if !at.Before(now) {
					break
				}
				add(billing.Record{ID: fmt.Sprintf("demo-burst-%s-%d", day.Format(time.DateOnly), i), Timestamp: at, Product: "actions",
					SKU: "actions_linux", Unit: billing.UnitMinutes, Quantity: billing.Units(BillingBurstMinutes / 60),
					Organization: "acme-data", Repository: "acme-data/pipeline-auth3", Username: user(), WorkflowPath: ".github/workflows/matrix.yml"})
			}
		}
	}
	// Hourly storage of two repositories per organization, growing.
	stored := map[string]int{}
	for i, rp := range repos {
		if stored[rp.org] == 2 {
			continue
		}
		stored[rp.org]++
		sku := "actions_storage"
		if i%2 == 1 {
			sku = "packages_storage"
		}
		gb := 1 + r.Float64()*6
		for h := start; h.Before(now.Truncate(time.Hour)); h = h.Add(time.Hour) {
			gb *= 1.0004
			add(billing.Record{ID: fmt.Sprintf("demo-storage-%s-%d", rp.name, h.Unix()), Timestamp: h, Product: map[bool]string{true: "packages", false: "actions"}[sku == "packages_storage"],
				SKU: sku, Unit: billing.UnitGigabyteHours, Quantity: billing.Quantity(gb*1e6) * 1000, Organization: rp.org, Repository: rp.name, Public: rp.public})
		}
	}
	// Copilot Business seats, one user-month each per month.
	for m := start; m.Before(now); m = m.AddDate(0, 1, 0) {
		for ui, u := range d.Users {
			if ui >= 60 {
				break
			}
			add(billing.Record{ID: fmt.Sprintf("demo-seat-%s-%s", strings.ToLower(u.Login), m.Format("2006-01")), Timestamp: m, Product: "copilot",
				SKU: "copilot_for_business", Unit: billing.UnitUserMonths, Quantity: billing.Units(1),
				Organization: strings.ToLower(d.Orgs[ui%len(d.Orgs)].Login), Username: strings.ToLower(u.Login)})
		}
	}
	for i := 0; i < len(recs); i += billing.MaxBatch {
		if _, err := bs.BillingIngest(ctx, recs[i:min(i+billing.MaxBatch, len(recs))]); err != nil {
			return err
		}
	}
	// Advanced Security: pushes over the last 90 days to private repositories.
	var pushes []billing.Push
	acct := billing.Account{Kind: billing.KindEnterprise, Login: ent}
	for i := range 400 {
		rp := repos[r.IntN(len(repos))]
		if rp.public {
			continue
		}
		u := d.Users[r.IntN(min(len(d.Users), 80))]
		at := now.Add(-time.Duration(r.Int64N(int64(100 * 24 * time.Hour)))).Truncate(time.Second)
		pushes = append(pushes, billing.Push{Account: acct, Organization: rp.org, Repository: rp.name, Login: strings.ToLower(u.Login),
			Email: strings.ToLower(u.Login) + "@acme.example", AuthorDate: at.Add(-time.Duration(i%48) * time.Hour), PushedAt: at})
	}
	return bs.BillingRecordPushes(ctx, pushes)
}
