package billing

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// CostCenterAttribution implements Attribution from the cost centers'
// membership intervals: each usage row goes to the cost center its
// resource belonged to at the row's time, with GitHub's precedence:
//
//   - licences and premium requests, AI credits (Copilot, GHAS, GHEC,
//     Models, Spark): the user's own cost center, else that of the oldest
//     enterprise team of the user that is in one, else the organization's;
//   - usage-based products (Actions, Packages, storage, Git LFS,
//     Codespaces): the repository's cost center, else the organization's.
//
// A row is attributed at its bucket's start (the hour or UTC day it sums),
// so moves and removals change only later buckets.
type CostCenterAttribution struct {
	Store    CostCenterStore
	Accounts interface {
		EnterpriseBySlug(ctx context.Context, slug string) (*usage.Enterprise, error)
	}
	Catalog *Catalog
}

var _ Attribution = (*CostCenterAttribution)(nil)

// userAttributed lists the products charged to a user's cost center first.
var userAttributed = map[string]bool{"copilot": true, "ghas": true, "ghec": true, "models": true, "spark": true}

// CostCenter returns the enterprise's cost center with id, active or deleted.
func (a *CostCenterAttribution) CostCenter(ctx context.Context, enterprise, id string) (CostCenterRef, error) {
	if !ValidUUID(id) {
		return CostCenterRef{}, CostCenterNotFound(ccClip(id)) // no cost center has that id
	}
	ent, err := a.Accounts.EnterpriseBySlug(ctx, enterprise)
	if err != nil {
		return CostCenterRef{}, err
	}
	cc, err := a.Store.CostCenter(ctx, ent.ID, id)
	if err != nil {
		return CostCenterRef{}, ccNotFound(err, id)
	}
	return CostCenterRef{ID: cc.ID, Name: cc.Name}, nil
}

// Attribute returns the cost center of each row.
func (a *CostCenterAttribution) Attribute(ctx context.Context, enterprise string, rows []Row) ([]CostCenterRef, error) {
	out := make([]CostCenterRef, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ent, err := a.Accounts.EnterpriseBySlug(ctx, enterprise)
	if err != nil {
		return nil, err
	}
	from, to := rows[0].Bucket, rows[0].Bucket
	for _, r := range rows {
		from, to = minTime(from, r.Bucket), maxTime(to, r.Bucket)
	}
	ix, err := a.Index(ctx, ent.ID, from, to.Add(24*time.Hour)) // past the last bucket, whatever its width
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		out[i] = ix.Of(a.productOf(r.SKU), r.Organization, r.Repository, r.Username, r.Bucket)
	}
	return out, nil
}

func (a *CostCenterAttribution) productOf(sku string) string {
	c := a.Catalog
	if c == nil {
		c = DefaultCatalog()
	}
	if s := c.SKU(sku); s != nil {
		return s.Product
	}
	return ""
}

// Index loads what attributing usage in [from, to) needs.
func (a *CostCenterAttribution) Index(ctx context.Context, enterpriseID int64, from, to time.Time) (*AttributionIndex, error) {
	ms, err := a.Store.CostCenterMemberships(ctx, enterpriseID, from, to)
	if err != nil {
		return nil, err
	}
	ccs, err := a.Store.ListCostCenters(ctx, enterpriseID, "")
	if err != nil {
		return nil, err
	}
	teams, err := a.Store.EnterpriseTeams(ctx, enterpriseID)
	if err != nil {
		return nil, err
	}
	return NewAttributionIndex(ms, ccs, teams), nil
}

// AttributionIndex answers which cost center a resource was in at a time.
type AttributionIndex struct {
	byKey map[string][]Membership // resource key → intervals by start
	names map[string]string       // cost-center id → name
	teams map[string][]string     // lower-cased login → team slugs, oldest team first
}

// NewAttributionIndex indexes memberships, cost-center names and enterprise teams.
func NewAttributionIndex(ms []Membership, ccs []*CostCenter, teams []*EnterpriseTeam) *AttributionIndex {
	ix := &AttributionIndex{byKey: map[string][]Membership{}, names: map[string]string{}, teams: map[string][]string{}}
	for _, m := range ms {
		ix.byKey[m.Key()] = append(ix.byKey[m.Key()], m)
	}
	for _, cc := range ccs {
		ix.names[cc.ID] = cc.Name
	}
	ordered := slices.Clone(teams)
	slices.SortStableFunc(ordered, func(x, y *EnterpriseTeam) int { return x.CreatedAt.Compare(y.CreatedAt) })
	for _, t := range ordered {
		for _, login := range t.Members {
			k := strings.ToLower(login)
			ix.teams[k] = append(ix.teams[k], t.Slug)
		}
	}
	return ix
}

// at returns the cost center resource r was in at t, or "".
func (ix *AttributionIndex) at(t ResourceType, name string, at time.Time) string {
	if name == "" {
		return ""
	}
	for _, m := range ix.byKey[Resource{Type: t, Name: name}.Key()] {
		if m.Contains(at) {
			return m.CostCenterID
		}
	}
	return ""
}

// Of returns the cost center that usage of product by org, repository
// (owner/name) and user at time at is attributed to; the zero ref for none.
func (ix *AttributionIndex) Of(product, org, repo, user string, at time.Time) CostCenterRef {
	var id string
	if userAttributed[product] {
		id = ix.at(ResourceUser, user, at)
		if id == "" {
			for _, team := range ix.teams[strings.ToLower(user)] {
				if id = ix.at(ResourceTeam, team, at); id != "" {
					break
				}
			}
		}
	} else {
		id = ix.at(ResourceRepo, repo, at)
	}
	if id == "" {
		if org == "" && repo != "" {
			org, _, _ = strings.Cut(repo, "/")
		}
		id = ix.at(ResourceOrg, org, at)
	}
	if id == "" {
		return CostCenterRef{}
	}
	return CostCenterRef{ID: id, Name: ix.names[id]}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
