package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

// Cost centers and budgets are an enterprise owner's (or billing
// manager's) business: a classic token needs manage_billing:enterprise
// (admin:enterprise includes it); a GitHub App installed on the
// enterprise needs the enterprise billing permission; fine-grained
// personal access tokens are not accepted (the seed says so).
var (
	costCenterRead  = usage.Access{Scopes: []string{"manage_billing:enterprise"}, Permission: EnterpriseBillingPermission, Level: "read", Role: usage.RoleOwner}
	costCenterWrite = usage.Access{Scopes: []string{"manage_billing:enterprise"}, Permission: EnterpriseBillingPermission, Level: "write", Role: usage.RoleOwner}
)

// EnterpriseBillingPermission is the GitHub App permission that lets an
// installation on an enterprise read (or write) its cost centers and budgets.
const EnterpriseBillingPermission = "enterprise_billing"

// costCenterEnterprise resolves {enterprise} and checks that the caller
// is one of its owners or billing managers (or an installation on it).
func (s *Server) costCenterEnterprise(r *http.Request, need usage.Access) (*usage.Enterprise, error) {
	ent, err := s.costCenterResolve(r)
	if err != nil {
		return nil, err
	}
	if err := usage.AuthorizeEnterprise(usage.ActorFrom(r.Context()), ent, need); err != nil {
		return nil, err
	}
	return ent, nil
}

// costCenterCaller is costCenterEnterprise for the routes organization
// owners may use too: an owner of some of the enterprise's organizations
// (whose classic or OAuth token has the route's scope) gets
// a non-nil OrgOwner limiting them to cost centers holding resources they
// administer; anyone else gets costCenterEnterprise's answer.
func (s *Server) costCenterCaller(r *http.Request, need usage.Access) (*usage.Enterprise, *billing.OrgOwner, error) {
	ent, err := s.costCenterResolve(r)
	if err != nil {
		return nil, nil, err
	}
	a := usage.ActorFrom(r.Context())
	authErr := usage.AuthorizeEnterprise(a, ent, need)
	if authErr == nil || !a.Authenticated() || (a.Type != usage.ActorClassicPAT && a.Type != usage.ActorOAuthApp) {
		return ent, nil, authErr
	}
	scoped := false
	for _, sc := range need.Scopes {
		scoped = scoped || usage.HasScope(a.Token.Scopes, sc)
	}
	if !scoped {
		return nil, nil, authErr
	}
	owner := &billing.OrgOwner{Orgs: map[string]bool{}}
	for login, role := range a.Orgs {
		if role != usage.RoleAdmin {
			continue
		}
		org, err := s.Store.OrganizationByLogin(r.Context(), login)
		switch {
		case usage.IsNotFound(err):
		case err != nil:
			return nil, nil, err
		case org.EnterpriseID == ent.ID:
			owner.Orgs[strings.ToLower(login)] = true
		}
	}
	if len(owner.Orgs) == 0 {
		return nil, nil, authErr
	}
	return ent, owner, nil
}

// costCenterOwned is costCenterCaller for the routes of one cost center:
// an organization owner gets 404 for a cost center holding nothing of theirs.
func (s *Server) costCenterOwned(r *http.Request, need usage.Access) (*usage.Enterprise, *billing.OrgOwner, error) {
	ent, owner, err := s.costCenterCaller(r, need)
	if err == nil && owner != nil {
		err = s.CostCenters.CheckOwner(r.Context(), ent.ID, r.PathValue("cost_center_id"), owner)
	}
	if err != nil {
		return nil, nil, err
	}
	return ent, owner, nil
}

// costCenterResolve resolves {enterprise}: 404 when unknown (401 to an
// anonymous caller), 403 for fine-grained personal access tokens.
func (s *Server) costCenterResolve(r *http.Request) (*usage.Enterprise, error) {
	if s.CostCenters == nil {
		return nil, usage.ErrNotFound
	}
	a := usage.ActorFrom(r.Context())
	if a.Authenticated() && a.Type == usage.ActorFineGrainedPAT {
		return nil, usage.Errorf(usage.KindForbidden, "Resource not accessible by personal access token")
	}
	ent, err := s.Store.EnterpriseBySlug(r.Context(), r.PathValue("enterprise"))
	if err != nil {
		if usage.IsNotFound(err) {
			if !a.Authenticated() {
				return nil, usage.ErrRequiresAuthentication
			}
			return nil, usage.ErrNotFound
		}
		return nil, err
	}
	return ent, nil
}

// ccDecode decodes a JSON request body into v. Malformed JSON is GitHub's
// 400 "Problems parsing JSON"; a field of the wrong type is an error of
// kind (400 or 422) naming it.
func ccDecode(r *http.Request, v any, kind usage.Kind, resource string) error {
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(v)
	if err == nil {
		if _, e := dec.Token(); e != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if err == nil {
		return nil
	}
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return err
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		msg := fmt.Sprintf("%s must be %s, not a JSON %s", te.Field, ccJSONKind(te.Type.Kind().String()), te.Value)
		e := &usage.Error{Kind: kind, Message: msg,
			Fields: []usage.FieldError{{Resource: resource, Field: te.Field, Code: "invalid", Message: msg}}}
		if kind == usage.KindInvalid {
			e.Message = "Validation Failed"
		} else {
			e.Message = "Bad request: " + msg
		}
		return e
	}
	return usage.Errorf(usage.KindBadRequest, "Problems parsing JSON")
}

func ccJSONKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "an integer"
	case strings.HasPrefix(k, "float"):
		return "a number"
	case k == "bool":
		return "a boolean"
	case k == "string":
		return "a string"
	case k == "slice":
		return "an array"
	case k == "ptr":
		return "a value of its type"
	}
	return "an object"
}

// costCenterJSON is a cost center on the wire.
type costCenterJSON struct {
	ID                  string             `json:"id"`
	Name                string             `json:"name"`
	State               string             `json:"state"`
	Resources           []billing.Resource `json:"resources"`
	AICreditPoolEnabled bool               `json:"ai_credit_pool_enabled"`
	// AICreditPoolState is present only while the pool is enabled; its
	// amounts are null (not materialized): ghusage does not derive pool
	// caps from licence entitlements.
	AICreditPoolState *aiPoolStateJSON `json:"ai_credit_pool_state,omitempty"`
	HasNextPage       *bool            `json:"has_next_page,omitempty"`
}

type aiPoolStateJSON struct {
	TargetAmount  *float64 `json:"target_amount"`
	CurrentAmount *float64 `json:"current_amount"`
}

func costCenterOut(cc *billing.CostCenter) costCenterJSON {
	out := costCenterJSON{ID: cc.ID, Name: cc.Name, State: cc.State, Resources: cc.Resources, AICreditPoolEnabled: cc.AICreditPoolEnabled}
	if out.Resources == nil {
		out.Resources = []billing.Resource{}
	}
	if cc.AICreditPoolEnabled {
		out.AICreditPoolState = &aiPoolStateJSON{}
	}
	return out
}

func (s *Server) handleListCostCenters(w http.ResponseWriter, r *http.Request) error {
	ent, owner, err := s.costCenterCaller(r, costCenterRead)
	if err != nil {
		return err
	}
	ccs, err := s.CostCenters.List(r.Context(), ent.ID, r.URL.Query().Get("state"))
	if err != nil {
		return err
	}
	out := make([]costCenterJSON, 0, len(ccs))
	for _, cc := range ccs {
		if owner != nil && !owner.Sees(cc) {
			continue
		}
		out = append(out, costCenterOut(cc))
	}
	writeJSON(w, http.StatusOK, map[string]any{"costCenters": out})
	return nil
}

func (s *Server) handleCreateCostCenter(w http.ResponseWriter, r *http.Request) error {
	ent, err := s.costCenterEnterprise(r, costCenterWrite)
	if err != nil {
		return err
	}
	var req billing.CreateCostCenter
	if err := ccDecode(r, &req, usage.KindBadRequest, "CostCenter"); err != nil {
		return err
	}
	cc, err := s.CostCenters.Create(r.Context(), ent.ID, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, costCenterOut(cc))
	return nil
}

func (s *Server) handleGetCostCenter(w http.ResponseWriter, r *http.Request) error {
	ent, _, err := s.costCenterOwned(r, costCenterRead)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	p, err := usage.ParsePage(q, "CostCenter")
	if err != nil {
		return err
	}
	cc, more, err := s.CostCenters.Get(r.Context(), ent.ID, r.PathValue("cost_center_id"), p)
	if err != nil {
		return err
	}
	out := costCenterOut(cc)
	if q.Has("page") || q.Has("per_page") || more || p.Number > 1 {
		out.HasNextPage = &more
	}
	if more || p.Number > 1 {
		// The total is not in the body; the Link header gives next and prev.
		total := p.Offset() + len(cc.Resources)
		if more {
			total += p.PerPage // at least one more page
		}
		setLink(w, r, p, total)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleUpdateCostCenter(w http.ResponseWriter, r *http.Request) error {
	ent, _, err := s.costCenterOwned(r, costCenterWrite)
	if err != nil {
		return err
	}
	var req billing.UpdateCostCenter
	if err := ccDecode(r, &req, usage.KindBadRequest, "CostCenter"); err != nil {
		return err
	}
	cc, err := s.CostCenters.Update(r.Context(), ent.ID, r.PathValue("cost_center_id"), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, costCenterOut(cc))
	return nil
}

func (s *Server) handleDeleteCostCenter(w http.ResponseWriter, r *http.Request) error {
	ent, _, err := s.costCenterOwned(r, costCenterWrite)
	if err != nil {
		return err
	}
	cc, err := s.CostCenters.Delete(r.Context(), ent.ID, r.PathValue("cost_center_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Cost center successfully deleted.", "id": cc.ID, "name": cc.Name,
		"costCenterState": "CostCenterArchived"})
	return nil
}

type reassignedJSON struct {
	ResourceType       string `json:"resource_type"`
	Name               string `json:"name"`
	PreviousCostCenter string `json:"previous_cost_center"`
}

func (s *Server) handleAddCostCenterResources(w http.ResponseWriter, r *http.Request) error {
	ent, owner, err := s.costCenterOwned(r, costCenterWrite)
	if err != nil {
		return err
	}
	var req billing.ResourceRequest
	if err := ccDecode(r, &req, usage.KindBadRequest, "CostCenter"); err != nil {
		return err
	}
	if owner != nil {
		if err := owner.MayChange(req); err != nil {
			return err
		}
	}
	moved, err := s.CostCenters.AddResources(r.Context(), ent.ID, r.PathValue("cost_center_id"), req)
	if err != nil {
		return err
	}
	var out []reassignedJSON // null when nothing moved
	for _, m := range moved {
		out = append(out, reassignedJSON{ResourceType: m.Type.ReassignedType(), Name: m.Name, PreviousCostCenter: m.PreviousCostCenterName})
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Resources successfully added to the cost center.", "reassigned_resources": out})
	return nil
}

func (s *Server) handleRemoveCostCenterResources(w http.ResponseWriter, r *http.Request) error {
	ent, owner, err := s.costCenterOwned(r, costCenterWrite)
	if err != nil {
		return err
	}
	var req billing.ResourceRequest
	if err := ccDecode(r, &req, usage.KindBadRequest, "CostCenter"); err != nil {
		return err
	}
	if owner != nil {
		if err := owner.MayChange(req); err != nil {
			return err
		}
	}
	if err := s.CostCenters.RemoveResources(r.Context(), ent.ID, r.PathValue("cost_center_id"), req); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Resources successfully removed from the cost center."})
	return nil
}
