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
// Usage is attributed at the time it happened: the Service splits a row
// whose hour or day straddles a change of membership by its records'
// times, so moves and removals change only later usage.
type CostCenterAttribution struct {
	Store    CostCenterStore
	Accounts interface {
		EnterpriseBySlug(ctx context.Context, slug string) (*usage.Enterprise, error)
	}
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

// Memberships loads what attributing the enterprise's usage in [from, to)
// needs: the memberships overlapping it, cost-center names and teams.
func (a *CostCenterAttribution) Memberships(ctx context.Context, enterprise string, from, to time.Time) (*AttributionIndex, error) {
	ent, err := a.Accounts.EnterpriseBySlug(ctx, enterprise)
	if err != nil {
		return nil, err
	}
	return a.Index(ctx, ent.ID, from, to)
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

// resourceKey identifies a resource as Resource.Key does, without
// building a string (usage rows' names are lower case already, so
// strings.ToLower returns them as they are).
type resourceKey struct {
	t    ResourceType
	name string
}

func keyOf(t ResourceType, name string) resourceKey { return resourceKey{t, strings.ToLower(name)} }

// AttributionIndex answers which cost center a resource was in at a time.
type AttributionIndex struct {
	byKey map[resourceKey][]Membership // resource (name lower-cased) → intervals by start
	names map[string]string            // cost-center id → name
	teams map[string][]string          // lower-cased login → team slugs, oldest team first
	users bool                         // some membership is of a user or an enterprise team
}

// Empty reports whether the index holds no membership: no usage has a
// cost center.
func (ix *AttributionIndex) Empty() bool { return len(ix.byKey) == 0 }

// NeedsUsers reports whether some membership is of a user or an
// enterprise team, so that attributing per-user usage needs its user.
// Without one, usage summed over users attributes exactly as its parts.
func (ix *AttributionIndex) NeedsUsers() bool { return ix.users }

// NewAttributionIndex indexes memberships, cost-center names and enterprise teams.
func NewAttributionIndex(ms []Membership, ccs []*CostCenter, teams []*EnterpriseTeam) *AttributionIndex {
	ix := &AttributionIndex{byKey: map[resourceKey][]Membership{}, names: map[string]string{}, teams: map[string][]string{}}
	for _, m := range ms {
		k := keyOf(m.Type, m.Name)
		ix.byKey[k] = append(ix.byKey[k], m)
		if m.Type == ResourceUser || m.Type == ResourceTeam {
			ix.users = true
		}
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
	for _, m := range ix.byKey[keyOf(t, name)] {
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

// FirstChange returns the earliest time strictly inside (from, to) at
// which a membership that decides the attribution of product's usage by
// org, repo and user starts or ends; ok is false when none does, and the
// cost center at from then holds for the whole of [from, to).
func (ix *AttributionIndex) FirstChange(product, org, repo, user string, from, to time.Time) (first time.Time, ok bool) {
	consider := func(t ResourceType, name string) {
		if name == "" {
			return
		}
		for _, m := range ix.byKey[keyOf(t, name)] {
			for _, c := range [2]time.Time{m.Start, m.End} {
				if c.After(from) && c.Before(to) && (!ok || c.Before(first)) {
					first, ok = c, true
				}
			}
		}
	}
	if userAttributed[product] {
		consider(ResourceUser, user)
		for _, team := range ix.teams[strings.ToLower(user)] {
			consider(ResourceTeam, team)
		}
	} else {
		consider(ResourceRepo, repo)
	}
	if org == "" && repo != "" {
		org, _, _ = strings.Cut(repo, "/")
	}
	consider(ResourceOrg, org)
	return first, ok
}
