package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/copilot/copilotgen"
	"github.com/ghusage/ghusage/internal/usage"
)

// CopilotDays is how many days of Copilot activity the demo has, ending yesterday.
const CopilotDays = 60

// SeedCopilot writes the demo's Copilot data: CopilotDays of activity for
// about 150 users of the three organizations (adoption rising over the
// period: users start one after another and use chat and agents more as
// they go; a mix of IDEs, languages and models; CLI and cloud-agent use;
// pull requests in a dozen repositories), a seat for each of them in their
// home organization, and the "Copilot usage metrics" policy enabled for
// acme. The report job builds the files once the server runs.
func SeedCopilot(ctx context.Context, st usage.Store, cs copilot.Store, d *Dataset, seed uint64, now time.Time) error {
	rng := rand.New(rand.NewPCG(seed^0xc0b1107, seed+7))
	svc := copilot.NewService(cs, st, func() time.Time { return now }, nil)
	if err := svc.SetPolicy(ctx, copilot.Scope{Enterprise: true, ID: d.Enterprise.ID}, copilot.PolicyEnabled); err != nil {
		return err
	}
	var repos []string
	for _, o := range d.Orgs {
		rs, err := st.ListRepositories(ctx, o.Login)
		if err != nil {
			return err
		}
		for _, r := range rs[:min(4, len(rs))] {
			repos = append(repos, r.FullName())
		}
	}
	n := min(len(d.Users), max(1, len(d.Users)*3/4))
	users := d.Users[:n]
	today := copilot.DayOf(now)
	first := today - CopilotDays
	var recs []copilot.Record
	for i, u := range users {
		// Users start one after another over the first two thirds.
		start := first + copilot.Day(i*CopilotDays*2/3/len(users))
		for day := start; day < today; day++ {
			weekday := day.Time().Weekday()
			p := 0.85
			if weekday == time.Saturday || weekday == time.Sunday {
				p = 0.15
			}
			if rng.Float64() >= p {
				continue
			}
			// Adoption grows with the days since the user started.
			adoption := min(1, float64(day-start)/float64(CopilotDays)*1.4+float64(i%7)/20)
			recs = append(recs, copilotgen.Day(rng, u.ID, u.Login, day, copilotgen.Options{Adoption: adoption, Repos: repos, PremiumRequests: d.CopilotBilling}))
		}
	}
	for len(recs) > 0 {
		k := min(len(recs), copilot.MaxBatch)
		if _, err := svc.Ingest(ctx, recs[:k]); err != nil {
			return fmt.Errorf("demo copilot activity: %w", err)
		}
		recs = recs[k:]
	}
	if d.CopilotBilling {
		// Seats since each user started, so the ledger has their history:
		// a user's home organization is Orgs[i mod 3], as in Seed.
		var seats []copilot.Seat
		for i, u := range users {
			home := d.Orgs[i%len(d.Orgs)]
			at := (first + copilot.Day(i*CopilotDays*2/3/len(users))).Time().Add(9 * time.Hour)
			seats = append(seats, copilot.Seat{EnterpriseID: home.EnterpriseID, OrgID: home.ID, UserID: u.ID, CreatedAt: at, UpdatedAt: at, PlanType: copilot.PlanBusiness})
		}
		if _, err := cs.CopilotAddSeats(ctx, seats); err != nil {
			return fmt.Errorf("demo copilot seats: %w", err)
		}
		return nil
	}
	byOrg := map[int64][]string{}
	for i, u := range users {
		home := d.Orgs[i%len(d.Orgs)]
		byOrg[home.ID] = append(byOrg[home.ID], u.Login)
	}
	for _, o := range d.Orgs {
		if len(byOrg[o.ID]) == 0 {
			continue
		}
		if _, err := svc.AddUsers(ctx, d.Enterprise, o, byOrg[o.ID]); err != nil {
			return fmt.Errorf("demo copilot seats of %s: %w", strings.ToLower(o.Login), err)
		}
	}
	return nil
}
