package billing

import (
	"context"
	"fmt"
	"strings"

	"github.com/ghusage/ghusage/internal/usage"
)

// OrgOwner narrows the cost-center operations to what an owner of some of
// the enterprise's organizations may do, as GitHub documents it:
// organization owners can view, update and archive the cost centers
// associated with resources they administer, and add or remove non-team
// resources of theirs. Orgs holds the lower-case logins they own.
type OrgOwner struct {
	Orgs map[string]bool
}

// administers reports whether r is one of the owner's organizations or a
// repository of one.
func (o *OrgOwner) administers(t ResourceType, name string) bool {
	switch t {
	case ResourceOrg:
		return o.Orgs[strings.ToLower(name)]
	case ResourceRepo:
		owner, _, _ := strings.Cut(name, "/")
		return o.Orgs[strings.ToLower(owner)]
	}
	return false
}

// Sees reports whether cc (with all its resources) holds an organization
// of the owner's or a repository of one.
func (o *OrgOwner) Sees(cc *CostCenter) bool {
	for _, r := range cc.Resources {
		if o.administers(r.Type, r.Name) {
			return true
		}
	}
	return false
}

// MayChange checks that the owner may add or remove req's resources: no
// enterprise teams, and organizations and repositories only of their own
// organizations (users are not administered by an organization alone, so
// any may be named). The error is a 403 naming the field.
func (o *OrgOwner) MayChange(req ResourceRequest) error {
	if len(req.EnterpriseTeams) > 0 {
		return ccForbidden("enterprise_teams", "organization owners cannot add or remove enterprise teams; an enterprise owner or billing manager can.")
	}
	for i, n := range req.Organizations {
		if !o.administers(ResourceOrg, strings.TrimSpace(n)) {
			return ccForbidden("organizations", fmt.Sprintf("organizations[%d] %q is not an organization you own.", i, ccClip(n)))
		}
	}
	for i, n := range req.Repositories {
		if !o.administers(ResourceRepo, strings.TrimSpace(n)) {
			return ccForbidden("repositories", fmt.Sprintf("repositories[%d] %q is not in an organization you own.", i, ccClip(n)))
		}
	}
	return nil
}

func ccForbidden(field, msg string) error {
	return &usage.Error{Kind: usage.KindForbidden, Message: "Forbidden: " + msg,
		Fields: []usage.FieldError{{Resource: "CostCenter", Field: field, Code: "forbidden", Message: msg}}}
}

// CheckOwner answers 404 (as for an unknown id) unless the enterprise's
// cost center id holds a resource the owner administers.
func (s *CostCenters) CheckOwner(ctx context.Context, enterpriseID int64, id string, o *OrgOwner) error {
	if err := CheckCostCenterID(id); err != nil {
		return err
	}
	cc, err := s.Store.CostCenter(ctx, enterpriseID, id)
	if err != nil {
		return ccNotFound(err, id)
	}
	if cc, err = s.withResources(ctx, cc); err != nil {
		return err
	}
	if !o.Sees(cc) {
		return CostCenterNotFound(id)
	}
	return nil
}
