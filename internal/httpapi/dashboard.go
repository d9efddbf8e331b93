package httpapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/usage"
)

// BillingScope resolves the billing account the dashboard shows for
// actor, with exactly the rules of the usage-report endpoints: kind
// "enterprise" is GET /enterprises/{name}/settings/billing/usage, "org" is
// GET /organizations/{name}/settings/billing/usage (an organization in an
// enterprise is narrowed from the enterprise's ledger). Errors are those
// endpoints' (404 for an account the actor may not see, 403 naming the
// scope).
func (s *Server) BillingScope(ctx context.Context, actor *usage.Actor, kind, name string) (billing.Scope, error) {
	r := (&http.Request{Method: http.MethodGet, URL: &url.URL{}, Header: http.Header{}}).WithContext(usage.WithActor(ctx, actor))
	switch kind {
	case "enterprise":
		r.SetPathValue("enterprise", name)
		return s.entUsage(r)
	case "org":
		r.SetPathValue("org", name)
		return s.orgUsage(r)
	}
	return billing.Scope{}, usage.ErrNotFound
}

// CopilotAccount resolves the account of the dashboard's Copilot view for
// actor, with exactly the rules (and the policy check) of the Copilot
// usage metrics report routes: kind "enterprise" as
// /enterprises/{name}/copilot/metrics/reports/*, "org" as
// /orgs/{name}/copilot/metrics/reports/*. Exactly one of ent and org is set.
func (s *Server) CopilotAccount(ctx context.Context, actor *usage.Actor, kind, name string) (sc copilot.Scope, ent *usage.Enterprise, org *usage.Organization, err error) {
	r := (&http.Request{Method: http.MethodGet, URL: &url.URL{}, Header: http.Header{}}).WithContext(usage.WithActor(ctx, actor))
	switch kind {
	case "enterprise":
		r.SetPathValue("enterprise", name)
		if ent, err = s.copilotEnterprise(r); err != nil {
			return sc, nil, nil, err
		}
		return copilot.Scope{Enterprise: true, ID: ent.ID}, ent, nil, nil
	case "org":
		r.SetPathValue("org", name)
		if org, err = s.copilotOrg(r); err != nil {
			return sc, nil, nil, err
		}
		return copilot.Scope{ID: org.ID}, nil, org, nil
	}
	return sc, nil, nil, usage.ErrNotFound
}

// CostCenterList lists an enterprise's cost centers (every state, with
// their current resources) for actor, with exactly the rules of
// GET /enterprises/{name}/settings/billing/cost-centers; nil when the
// server keeps no cost centers.
func (s *Server) CostCenterList(ctx context.Context, actor *usage.Actor, name string) ([]*billing.CostCenter, error) {
	if s.CostCenters == nil {
		return nil, nil
	}
	r := (&http.Request{Method: http.MethodGet, URL: &url.URL{}, Header: http.Header{}}).WithContext(usage.WithActor(ctx, actor))
	r.SetPathValue("enterprise", name)
	ent, err := s.costCenterEnterprise(r, costCenterRead)
	if err != nil {
		return nil, err
	}
	return s.CostCenters.List(ctx, ent.ID, "")
}
