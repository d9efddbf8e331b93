// Package billinggen generates billing usage records for tests, benchmarks
// and the demo: deterministic for a seed, spread over a time range, across
// an enterprise's organizations, repositories and users, with every kind of
// SKU the catalogue prices (runners of every size, self-hosted, storage,
// packages transfer, Copilot premium requests and AI credits).
package billinggen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
)

// Mix is the SKUs records are drawn from, with their relative weights and
// the largest quantity of one record.
var Mix = []struct {
	SKU    string
	Weight int
	Max    int64 // whole units; storage is drawn in thousandths of it
}{
	{"actions_linux", 40, 60},
	{"actions_windows", 10, 45},
	{"actions_macos", 5, 30},
	{"actions_linux_4_core", 5, 40},
	{"actions_linux_2_core_arm", 3, 20},
	{"actions_self_hosted", 5, 60},
	{"actions_storage", 8, 40},
	{"packages_storage", 4, 20},
	{"packages_bandwidth", 4, 5},
	{"copilot_premium_request", 10, 30},
	{"copilot_ai_credits", 4, 200},
	{"copilot_for_business", 2, 1},
}

// Models are the AI models of premium requests and credits.
var Models = []string{"GPT-5", "Claude Sonnet 4.5", "Gemini 2.5 Pro"}

// Gen describes generated usage: N records over [Start, End) billed to
// Enterprise through Orgs, each with Repos repositories (every fourth
// public) and Users users.
type Gen struct {
	Seed       uint64
	N          int
	Start, End time.Time
	Enterprise string
	Orgs       []string
	Repos      int
	Users      int
	IDPrefix   string
}

// Record returns the i-th record (the same for the same Gen and i),
// in time order over the range.
func (g *Gen) Record(i int) billing.Record {
	r := rand.New(rand.NewPCG(g.Seed, uint64(i)))
	c := defaultCatalog
	total := 0
	for _, m := range Mix {
		total += m.Weight
	}
	pick := r.IntN(total)
	mi := 0
	for ; pick >= Mix[mi].Weight; mi++ {
		pick -= Mix[mi].Weight
	}
	m := Mix[mi]
	sku := c.SKU(m.SKU)
	span := g.End.Sub(g.Start)
	ts := g.Start.Add(time.Duration(float64(span) * (float64(i) + r.Float64()) / float64(max(g.N, 1)))).Truncate(time.Second)
	org := g.Orgs[r.IntN(len(g.Orgs))]
	repo := r.IntN(max(g.Repos, 1))
	rec := billing.Record{
		ID: fmt.Sprintf("%s%d", g.IDPrefix, i), Timestamp: ts, Product: sku.Product, SKU: m.SKU, Unit: sku.Unit,
		Enterprise: g.Enterprise, Organization: org,
		Username: fmt.Sprintf("%s-user%d", org, r.IntN(max(g.Users, 1))),
	}
	switch sku.Unit {
	case billing.UnitGigabyteHours:
		rec.Quantity = billing.Quantity(1+r.Int64N(m.Max*1000)) * 1_000_000 // thousandths of a GB-hour
	default:
		rec.Quantity = billing.Units(1 + r.Int64N(m.Max))
	}
	if sku.Product == "actions" || sku.Product == "packages" {
		rec.Repository = fmt.Sprintf("%s/repo%d", org, repo)
		rec.Public = repo%4 == 3
	}
	if sku.Product == "actions" && sku.Unit == billing.UnitMinutes {
		rec.WorkflowPath = fmt.Sprintf(".github/workflows/ci%d.yml", repo%3)
	}
	if sku.Unit == billing.UnitRequests || sku.Unit == billing.UnitCredits {
		rec.Model = Models[r.IntN(len(Models))]
	}
	return rec
}

// Records returns all N records.
func (g *Gen) Records() []billing.Record {
	out := make([]billing.Record, g.N)
	for i := range out {
		out[i] = g.Record(i)
	}
	return out
}

var defaultCatalog = billing.DefaultCatalog()
