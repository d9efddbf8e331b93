package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

// BillingIngestPath is where usage records are posted (NDJSON, optionally
// gzip-compressed); see doc/billing.md.
const BillingIngestPath = "/ghusage/v1/ingest/billing-usage"

// Access of the billing endpoints, as the contract describes each
// (doc/billing.md lists them).
var (
	// Enterprise usage reports: an enterprise owner (ghusage has no
	// separate billing-manager role) with manage_billing:enterprise, or an
	// installation on the enterprise with enterprise billing read.
	billingEnterpriseUsage = usage.Access{Scopes: []string{"manage_billing:enterprise"}, Permission: "enterprise_billing", Level: "read", Role: usage.RoleOwner}
	// Legacy enterprise endpoints and Advanced Security: an enterprise
	// owner with manage_billing:enterprise, or the "Enterprise
	// administration" permission (write) of a fine-grained token.
	billingEnterpriseLegacy = usage.Access{Scopes: []string{"manage_billing:enterprise"}, Permission: "enterprise_administration", Level: "write", Role: usage.RoleOwner}
	// Organization endpoints: an organization owner whose classic token has
	// repo or admin:org, or the "Administration" organization permission.
	billingOrg = usage.Access{Scopes: []string{"admin:org", "repo"}, Permission: "organization_administration", Level: "read", Role: usage.RoleAdmin}
)

// enterpriseScope resolves {enterprise} and checks access.
func (s *Server) billingEnterprise(r *http.Request, need usage.Access, apps, fineGrained bool) (billing.Scope, error) {
	if s.Billing == nil {
		return billing.Scope{}, usage.Errorf(usage.KindNotFound, "Billing is not enabled on this server")
	}
	ent, err := s.Store.EnterpriseBySlug(r.Context(), r.PathValue("enterprise"))
	if err != nil {
		if usage.IsNotFound(err) {
			return billing.Scope{}, usage.ErrNotFound
		}
		return billing.Scope{}, err
	}
	a := usage.ActorFrom(r.Context())
	if err := usage.AuthorizeEnterprise(a, ent, need); err != nil {
		return billing.Scope{}, err
	}
	if err := tokenKindAllowed(a, apps, fineGrained); err != nil {
		return billing.Scope{}, err
	}
	return billing.Scope{Account: billing.Account{Kind: billing.KindEnterprise, Login: strings.ToLower(ent.Slug)}}, nil
}

// tokenKindAllowed refuses installation tokens on endpoints not enabled
// for GitHub Apps, and fine-grained and user-to-server tokens on those
// that take only classic tokens.
func tokenKindAllowed(a *usage.Actor, apps, fineGrained bool) error {
	switch a.Type {
	case usage.ActorInstallation, usage.ActorUserToServer:
		if !apps {
			return usage.Errorf(usage.KindForbidden, "Resource not accessible by integration")
		}
	case usage.ActorFineGrainedPAT:
		if !fineGrained {
			return usage.Errorf(usage.KindForbidden, "Resource not accessible by personal access token")
		}
	}
	return nil
}

// billingOrgScope resolves {org}: an organization in an enterprise is
// billed to the enterprise (its usage narrowed to the organization), one
// outside is its own billing account.
func (s *Server) billingOrgScope(r *http.Request, apps bool) (billing.Scope, error) {
	if s.Billing == nil {
		return billing.Scope{}, usage.Errorf(usage.KindNotFound, "Billing is not enabled on this server")
	}
	org, err := s.Store.OrganizationByLogin(r.Context(), r.PathValue("org"))
	if err != nil {
		if usage.IsNotFound(err) {
			return billing.Scope{}, usage.ErrNotFound
		}
		return billing.Scope{}, err
	}
	a := usage.ActorFrom(r.Context())
	if err := usage.AuthorizeOrg(a, org, billingOrg); err != nil {
		return billing.Scope{}, err
	}
	if err := tokenKindAllowed(a, apps, true); err != nil {
		return billing.Scope{}, err
	}
	login := strings.ToLower(org.Login)
	if org.EnterpriseID != 0 {
		ents, err := s.Store.ListEnterprises(r.Context())
		if err != nil {
			return billing.Scope{}, err
		}
		for _, e := range ents {
			if e.ID == org.EnterpriseID {
				return billing.Scope{Account: billing.Account{Kind: billing.KindEnterprise, Login: strings.ToLower(e.Slug)}, Organization: login}, nil
			}
		}
	}
	return billing.Scope{Account: billing.Account{Kind: billing.KindOrganization, Login: login}}, nil
}

// billingUserScope resolves {username}: only the user (or a site
// administrator) sees a personal account's billing. A classic token needs
// the user scope when scoped is set (the legacy endpoints).
func (s *Server) billingUserScope(r *http.Request, scoped, apps bool) (billing.Scope, error) {
	if s.Billing == nil {
		return billing.Scope{}, usage.Errorf(usage.KindNotFound, "Billing is not enabled on this server")
	}
	a := usage.ActorFrom(r.Context())
	if !a.Authenticated() {
		return billing.Scope{}, usage.ErrRequiresAuthentication
	}
	u, err := s.Store.UserByLogin(r.Context(), r.PathValue("username"))
	if err != nil {
		if usage.IsNotFound(err) {
			return billing.Scope{}, usage.ErrNotFound
		}
		return billing.Scope{}, err
	}
	self := a.User != nil && a.User.ID == u.ID
	if a.Type == usage.ActorInstallation {
		self = a.Installation != nil && strings.EqualFold(a.Installation.AccountLogin, u.Login)
	}
	if !self && !(a.User != nil && a.User.SiteAdmin) {
		return billing.Scope{}, usage.ErrNotFound
	}
	if err := tokenKindAllowed(a, apps, true); err != nil {
		return billing.Scope{}, err
	}
	if scoped && (a.Type == usage.ActorClassicPAT || a.Type == usage.ActorOAuthApp) && !usage.HasScope(a.Token.Scopes, "user") {
		return billing.Scope{}, &usage.Error{Kind: usage.KindForbidden, AcceptedScopes: []string{"user"},
			Message: "Resource not accessible by personal access token"}
	}
	return billing.Scope{Account: billing.Account{Kind: billing.KindUser, Login: strings.ToLower(u.Login)}}, nil
}

// billingScopeFunc resolves the account of a request.
type billingScopeFunc func(r *http.Request) (billing.Scope, error)

func (s *Server) entUsage(r *http.Request) (billing.Scope, error) {
	return s.billingEnterprise(r, billingEnterpriseUsage, true, false)
}
func (s *Server) entLegacy(r *http.Request) (billing.Scope, error) {
	return s.billingEnterprise(r, billingEnterpriseLegacy, false, true)
}
func (s *Server) orgUsage(r *http.Request) (billing.Scope, error) { return s.billingOrgScope(r, true) }
func (s *Server) orgLegacy(r *http.Request) (billing.Scope, error) {
	return s.billingOrgScope(r, false)
}
func (s *Server) userUsage(r *http.Request) (billing.Scope, error) {
	return s.billingUserScope(r, false, true)
}
func (s *Server) userLegacy(r *http.Request) (billing.Scope, error) {
	return s.billingUserScope(r, true, false)
}

// billingUsage serves …/settings/billing/usage.
func (s *Server) billingUsage(scope billingScopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		p, err := billing.ParseParams(r.URL.Query(), billing.EndpointUsage, s.Billing.Catalog, s.Now())
		if err != nil {
			return err
		}
		return s.billingAnswer(w, r, sc, p, billing.EndpointUsage, func(ctx context.Context) (billing.Body, error) {
			return s.Billing.UsageBody(ctx, sc, p)
		})
	}
}

// billingSummary serves usage/summary, premium_request/usage and ai_credit/usage.
func (s *Server) billingSummary(scope billingScopeFunc, ep billing.Endpoint) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		p, err := billing.ParseParams(r.URL.Query(), ep, s.Billing.Catalog, s.Now())
		if err != nil {
			return err
		}
		return s.billingAnswer(w, r, sc, p, ep, func(ctx context.Context) (billing.Body, error) {
			rep, err := s.Billing.Summary(ctx, sc, p, ep)
			if err != nil {
				return billing.Body{}, err
			}
			return bytesBody(appendJSON(nil, rep))
		})
	}
}

func (s *Server) billingActions(scope billingScopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		rep, err := s.Billing.Actions(r.Context(), sc)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, rep)
		return nil
	}
}

func (s *Server) billingPackages(scope billingScopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		rep, err := s.Billing.Packages(r.Context(), sc)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, rep)
		return nil
	}
}

func (s *Server) billingSharedStorage(scope billingScopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		rep, err := s.Billing.SharedStorage(r.Context(), sc)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, rep)
		return nil
	}
}

// billingAdvancedSecurity serves …/settings/billing/advanced-security.
// advanced_security_product (code_security or secret_protection) is
// validated; ghusage does not tell the two products apart (every pushed
// repository counts for both), so both answer the same committers.
func (s *Server) billingAdvancedSecurity(scope billingScopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		if p := q.Get("advanced_security_product"); p != "" && p != "code_security" && p != "secret_protection" {
			return usage.Invalid("AdvancedSecurity", "advanced_security_product", "advanced_security_product must be code_security or secret_protection")
		}
		pg, err := usage.ParsePage(q, "AdvancedSecurity")
		if err != nil {
			return err
		}
		rep, err := s.Billing.AdvancedSecurity(r.Context(), sc, pg.Number, pg.PerPage)
		if err != nil {
			return err
		}
		setLink(w, r, pg, rep.TotalCount)
		writeJSON(w, http.StatusOK, rep)
		return nil
	}
}

// handleIngestBillingUsage records a batch of usage records (NDJSON): all
// or nothing, 422 naming each bad line and field, answered once durable;
// records whose id was recorded before are skipped.
// Like every ingest batch, it is decoded once admitted (admitIngest):
// 503 with Retry-After, nothing recorded, when the server is too busy.
func (s *Server) handleIngestBillingUsage(w http.ResponseWriter, r *http.Request) error {
	if err := authorizeIngest(usage.ActorFrom(r.Context())); err != nil {
		return err
	}
	if s.Billing == nil {
		return usage.Errorf(usage.KindNotFound, "Billing is not enabled on this server")
	}
	body, release, err := s.admitIngest(r, IngestMaxBodyBytes)
	if err != nil {
		return err
	}
	defer release()
	recs, err := s.decodeBillingUsage(body) // copilot_billing.go
	if err != nil {
		return err
	}
	res, err := s.Billing.Ingest(r.Context(), recs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// entAdvancedSecurity scopes the enterprise Advanced Security route.
func (s *Server) entAdvancedSecurity(r *http.Request) (billing.Scope, error) {
	return s.billingEnterprise(r, billingEnterpriseLegacy, false, true)
}
