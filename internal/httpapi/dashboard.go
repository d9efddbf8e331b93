package httpapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ghusage/ghusage/internal/billing"
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
