package billing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ghusage/ghusage/internal/usage"
)

// Cost-center limits, as GitHub documents them.
const (
	MaxCostCenterNameLength = 255  // characters
	MaxActiveCostCenters    = 1000 // per enterprise
	MaxResourcesPerRequest  = 50   // added or removed in one request
)

// Cost-center states, as the API spells them.
const (
	CostCenterActive  = "active"
	CostCenterDeleted = "deleted"
)

// ResourceType is the type of a cost-center resource, as the API spells it
// in a cost center's resources.
type ResourceType string

// The resource types a cost center holds, in the order they are listed.
const (
	ResourceUser ResourceType = "User"
	ResourceOrg  ResourceType = "Org"
	ResourceRepo ResourceType = "Repo"
	ResourceTeam ResourceType = "Team" // an enterprise team
)

// ReassignedType is how reassigned_resources names a resource type.
func (t ResourceType) ReassignedType() string {
	switch t {
	case ResourceUser:
		return "user"
	case ResourceOrg:
		return "organization"
	case ResourceRepo:
		return "repository"
	case ResourceTeam:
		return "team"
	}
	return string(t)
}

// field is the request-body field that lists resources of type t.
func (t ResourceType) field() string {
	switch t {
	case ResourceUser:
		return "users"
	case ResourceOrg:
		return "organizations"
	case ResourceRepo:
		return "repositories"
	}
	return "enterprise_teams"
}

// Resource is a user (login), organization (login), repository
// (owner/name) or enterprise team (slug) of a cost center. Stores return
// names as the account spells them; lookups ignore case.
type Resource struct {
	Type ResourceType `json:"type"`
	Name string       `json:"name"`
}

// Key is the resource's case-insensitive identity.
func (r Resource) Key() string { return string(r.Type) + ":" + strings.ToLower(r.Name) }

// CostCenter is a named group of resources whose usage is charged together.
// Deleting a cost center archives it: its state becomes deleted, its
// resources are released, and usage recorded while they belonged to it
// stays attributed to it.
type CostCenter struct {
	ID                  string
	EnterpriseID        int64
	Name                string
	State               string
	AICreditPoolEnabled bool
	CreatedAt           time.Time
	DeletedAt           time.Time // zero while active
	// Resources are the resources it holds now, in the order they were
	// added (none once deleted). Stores fill them where their method says so.
	Resources []Resource
}

// Reassignment is a resource that an add moved from another cost center.
type Reassignment struct {
	Resource
	PreviousCostCenterID   string
	PreviousCostCenterName string
}

// Membership is one interval during which a resource belonged to a cost
// center: from Start (inclusive) to End (exclusive; zero while it still does).
type Membership struct {
	CostCenterID string
	Resource
	Start, End time.Time
}

// Contains reports whether t falls within the membership.
func (m Membership) Contains(t time.Time) bool {
	return !t.Before(m.Start) && (m.End.IsZero() || t.Before(m.End))
}

// EnterpriseTeam is a team of the enterprise (not of one organization);
// cost centers may hold it, and its members' licence and premium-request
// usage then goes to that cost center unless the user is assigned directly.
type EnterpriseTeam struct {
	ID           int64
	EnterpriseID int64
	Slug         string
	Name         string
	CreatedAt    time.Time
	Members      []string // user logins
}

// CostCenterUpdate changes a cost center's name and/or AI-credit-pool flag.
type CostCenterUpdate struct {
	Name                *string
	AICreditPoolEnabled *bool
}

// CostCenterStore keeps cost centers, their membership intervals and the
// enterprise teams they may hold. Mutations of one enterprise's cost
// centers are serialized by the store (a transaction under a per-enterprise
// lock), so concurrent replicas agree: a resource has at most one open
// membership, and an active name is unique ignoring case.
//
// Errors: KindNotFound for an unknown cost center; the errors of this
// package (ErrDuplicateName, ErrCostCenterLimit, ErrCostCenterArchived,
// UnknownResources, ErrAIPoolResources) for broken rules.
type CostCenterStore interface {
	// CreateCostCenter stores cc (ID, name and flags set by the caller) as
	// active, unless another active cost center of the enterprise has its
	// name or maxActive are active already.
	CreateCostCenter(ctx context.Context, cc *CostCenter, maxActive int) error
	// CostCenter returns one cost center without its resources.
	CostCenter(ctx context.Context, enterpriseID int64, id string) (*CostCenter, error)
	// ListCostCenters lists the enterprise's cost centers in state ("" for
	// all) with their resources, oldest first.
	ListCostCenters(ctx context.Context, enterpriseID int64, state string) ([]*CostCenter, error)
	// CostCenterResources returns a page of a cost center's current
	// resources and how many it holds.
	CostCenterResources(ctx context.Context, enterpriseID int64, id string, offset, limit int) ([]Resource, int, error)
	// UpdateCostCenter renames an active cost center and/or sets its pool flag.
	UpdateCostCenter(ctx context.Context, enterpriseID int64, id string, u CostCenterUpdate) (*CostCenter, error)
	// ArchiveCostCenter marks an active cost center deleted at at and ends
	// its open memberships then.
	ArchiveCostCenter(ctx context.Context, enterpriseID int64, id string, at time.Time) (*CostCenter, error)
	// AddCostCenterResources resolves rs (unknown ones: UnknownResources,
	// nothing changed), ends each one's open membership elsewhere and opens
	// one in this cost center at at, and reports the moves. A resource
	// already in this cost center is left as it is.
	AddCostCenterResources(ctx context.Context, enterpriseID int64, id string, rs []Resource, at time.Time) ([]Reassignment, error)
	// RemoveCostCenterResources ends the open memberships of rs in this
	// cost center at at. Unknown accounts are UnknownResources; known ones
	// not in the cost center are ignored.
	RemoveCostCenterResources(ctx context.Context, enterpriseID int64, id string, rs []Resource, at time.Time) error
	// CostCenterMemberships returns every membership interval of the
	// enterprise that overlaps [from, to), by start time.
	CostCenterMemberships(ctx context.Context, enterpriseID int64, from, to time.Time) ([]Membership, error)

	// CreateEnterpriseTeam stores t with its members (logins of existing
	// users), assigning its ID; a duplicate slug is KindConflict.
	CreateEnterpriseTeam(ctx context.Context, t *EnterpriseTeam) error
	// EnterpriseTeams lists the enterprise's teams with their members, oldest first.
	EnterpriseTeams(ctx context.Context, enterpriseID int64) ([]*EnterpriseTeam, error)
}

// Errors of the cost-center rules, with GitHub's messages where it has them.
var (
	ErrDuplicateName = &usage.Error{Kind: usage.KindConflict,
		Message: "There's already a cost center created with that name."}
	ErrCostCenterLimit = &usage.Error{Kind: usage.KindBadRequest,
		Message: fmt.Sprintf("This enterprise is already at the cost center limit of %d active cost centers.", MaxActiveCostCenters)}
	ErrCostCenterArchived = &usage.Error{Kind: usage.KindConflict,
		Message: "This cost center has been deleted; a deleted cost center cannot be changed."}
	ErrAIPoolResources = &usage.Error{Kind: usage.KindBadRequest,
		Message: "This cost center has the AI credit pool enabled, so it can only contain users and teams. Remove any organizations or repositories from your request, or disable the AI credit pool for this cost center before adding them."}
)

// CostCenterNotFound is the 404 for a cost-center id the enterprise does not have.
func CostCenterNotFound(id string) error {
	return &usage.Error{Kind: usage.KindNotFound, Message: fmt.Sprintf("Cost center with ID %s not found.", id)}
}

// UnknownResources is the 400 naming resources that are no account of the
// enterprise, grouped by the request field that listed them.
func UnknownResources(rs []Resource) error {
	var parts []string
	var fields []usage.FieldError
	for _, t := range []ResourceType{ResourceUser, ResourceOrg, ResourceRepo, ResourceTeam} {
		var names []string
		for _, r := range rs {
			if r.Type == t {
				names = append(names, r.Name)
			}
		}
		if len(names) == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %s", t.field(), strings.Join(names, ", ")))
		fields = append(fields, usage.FieldError{Resource: "CostCenter", Field: t.field(), Code: "invalid",
			Message: "not found: " + strings.Join(names, ", ")})
	}
	return &usage.Error{Kind: usage.KindBadRequest, Fields: fields,
		Message: "Bad request: these resources were not found in the enterprise: " + strings.Join(parts, "; ") + "."}
}

func ccBadRequest(field, message string) error {
	return &usage.Error{Kind: usage.KindBadRequest, Message: "Bad request: " + message,
		Fields: []usage.FieldError{{Resource: "CostCenter", Field: field, Code: "invalid", Message: message}}}
}

// NewUUID returns a random (version 4) UUID.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ValidUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hex form.
func ValidUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// CheckCostCenterID answers 400 naming cost_center_id for an id that is not a UUID.
func CheckCostCenterID(id string) error {
	if !ValidUUID(id) {
		return ccBadRequest("cost_center_id", fmt.Sprintf("cost_center_id %q is not a valid cost center ID (a UUID).", ccClip(id)))
	}
	return nil
}

func ccClip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// ValidName checks a cost-center name: required, at most 255 characters.
func ValidName(name string) error {
	if strings.TrimSpace(name) == "" {
		return ccBadRequest("name", "name is required.")
	}
	if n := utf8.RuneCountInString(name); n > MaxCostCenterNameLength {
		return ccBadRequest("name", fmt.Sprintf("name is %d characters long; the maximum is %d.", n, MaxCostCenterNameLength))
	}
	if !utf8.ValidString(name) {
		return ccBadRequest("name", "name is not valid UTF-8.")
	}
	return nil
}

// NameKey is the case-insensitive identity of a cost-center name.
func NameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// ResourceRequest is the body of the add and remove resource operations.
type ResourceRequest struct {
	Users           []string `json:"users"`
	Organizations   []string `json:"organizations"`
	Repositories    []string `json:"repositories"`
	EnterpriseTeams []string `json:"enterprise_teams"`
}

// Resources validates the request and returns its resources, duplicates
// (ignoring case) dropped: at least one and at most 50 in all, none empty,
// repositories as owner/name.
func (q ResourceRequest) Resources() ([]Resource, error) {
	var out []Resource
	seen := map[string]bool{}
	total := 0
	for _, g := range []struct {
		t     ResourceType
		names []string
	}{{ResourceUser, q.Users}, {ResourceOrg, q.Organizations}, {ResourceRepo, q.Repositories}, {ResourceTeam, q.EnterpriseTeams}} {
		for i, n := range g.names {
			total++
			n = strings.TrimSpace(n)
			if n == "" {
				return nil, ccBadRequest(g.t.field(), fmt.Sprintf("%s[%d] is empty.", g.t.field(), i))
			}
			if g.t == ResourceRepo {
				owner, repo, ok := strings.Cut(n, "/")
				if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
					return nil, ccBadRequest("repositories", fmt.Sprintf("repositories[%d] %q is not of the form owner/repo.", i, ccClip(n)))
				}
			}
			r := Resource{Type: g.t, Name: n}
			if !seen[r.Key()] {
				seen[r.Key()] = true
				out = append(out, r)
			}
		}
	}
	if total == 0 {
		return nil, ccBadRequest("users", "at least one of users, organizations, repositories or enterprise_teams must list a resource.")
	}
	if total > MaxResourcesPerRequest {
		return nil, ccBadRequest("resources", fmt.Sprintf("%d resources were given; at most %d may be added or removed in one request (users, organizations, repositories and enterprise_teams together).", total, MaxResourcesPerRequest))
	}
	return out, nil
}

// CostCenters is the cost-center service the HTTP adapter calls.
type CostCenters struct {
	Store CostCenterStore
	Now   func() time.Time
	// NewID makes cost-center ids; NewUUID when nil.
	NewID func() string
}

// now is the service's clock, to the microsecond (what PostgreSQL keeps),
// so both stores record the same instants.
func (s *CostCenters) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

// CreateCostCenter is the body of the create operation.
type CreateCostCenter struct {
	Name                *string `json:"name"`
	AICreditPoolEnabled *bool   `json:"ai_credit_pool_enabled"`
}

// Create makes an active cost center in the enterprise.
func (s *CostCenters) Create(ctx context.Context, enterpriseID int64, req CreateCostCenter) (*CostCenter, error) {
	if req.Name == nil {
		return nil, ccBadRequest("name", "name is required.")
	}
	if err := ValidName(*req.Name); err != nil {
		return nil, err
	}
	id := NewUUID
	if s.NewID != nil {
		id = s.NewID
	}
	cc := &CostCenter{ID: id(), EnterpriseID: enterpriseID, Name: strings.TrimSpace(*req.Name), State: CostCenterActive,
		AICreditPoolEnabled: req.AICreditPoolEnabled != nil && *req.AICreditPoolEnabled, CreatedAt: s.now(), Resources: []Resource{}}
	if err := s.Store.CreateCostCenter(ctx, cc, MaxActiveCostCenters); err != nil {
		return nil, err
	}
	return cc, nil
}

// Get returns a cost center with a page of its resources and whether more follow.
func (s *CostCenters) Get(ctx context.Context, enterpriseID int64, id string, p usage.Page) (*CostCenter, bool, error) {
	if err := CheckCostCenterID(id); err != nil {
		return nil, false, err
	}
	cc, err := s.Store.CostCenter(ctx, enterpriseID, id)
	if err != nil {
		return nil, false, ccNotFound(err, id)
	}
	rs, total, err := s.Store.CostCenterResources(ctx, enterpriseID, id, p.Offset(), p.PerPage)
	if err != nil {
		return nil, false, ccNotFound(err, id)
	}
	cc.Resources = rs
	if cc.Resources == nil {
		cc.Resources = []Resource{}
	}
	return cc, p.Offset()+len(rs) < total, nil
}

// List lists the enterprise's cost centers, in state when it is not "".
func (s *CostCenters) List(ctx context.Context, enterpriseID int64, state string) ([]*CostCenter, error) {
	switch state {
	case "", CostCenterActive, CostCenterDeleted:
	default:
		return nil, ccBadRequest("state", fmt.Sprintf("state %q is not one of active, deleted.", ccClip(state)))
	}
	return s.Store.ListCostCenters(ctx, enterpriseID, state)
}

// UpdateCostCenter is the body of the update operation.
type UpdateCostCenter struct {
	Name                *string `json:"name"`
	AICreditPoolEnabled *bool   `json:"ai_credit_pool_enabled"`
}

// Update renames a cost center or sets its AI-credit-pool flag, and
// returns it with its resources.
func (s *CostCenters) Update(ctx context.Context, enterpriseID int64, id string, req UpdateCostCenter) (*CostCenter, error) {
	if err := CheckCostCenterID(id); err != nil {
		return nil, err
	}
	if req.Name == nil && req.AICreditPoolEnabled == nil {
		return nil, ccBadRequest("name", "at least one of name or ai_credit_pool_enabled is required.")
	}
	u := CostCenterUpdate{AICreditPoolEnabled: req.AICreditPoolEnabled}
	if req.Name != nil {
		if err := ValidName(*req.Name); err != nil {
			return nil, err
		}
		n := strings.TrimSpace(*req.Name)
		u.Name = &n
	}
	cc, err := s.Store.UpdateCostCenter(ctx, enterpriseID, id, u)
	if err != nil {
		return nil, ccNotFound(err, id)
	}
	return s.withResources(ctx, cc)
}

func (s *CostCenters) withResources(ctx context.Context, cc *CostCenter) (*CostCenter, error) {
	rs, _, err := s.Store.CostCenterResources(ctx, cc.EnterpriseID, cc.ID, 0, 25000)
	if err != nil {
		return nil, err
	}
	cc.Resources = rs
	if cc.Resources == nil {
		cc.Resources = []Resource{}
	}
	return cc, nil
}

// Delete archives a cost center.
func (s *CostCenters) Delete(ctx context.Context, enterpriseID int64, id string) (*CostCenter, error) {
	if err := CheckCostCenterID(id); err != nil {
		return nil, err
	}
	cc, err := s.Store.ArchiveCostCenter(ctx, enterpriseID, id, s.now())
	if err != nil {
		if usage.ErrorKind(err) == usage.KindConflict {
			return nil, &usage.Error{Kind: usage.KindBadRequest, Message: "Bad request: this cost center is already deleted."}
		}
		return nil, ccNotFound(err, id)
	}
	return cc, nil
}

// AddResources moves the request's resources into the cost center and
// reports those that were in another one.
func (s *CostCenters) AddResources(ctx context.Context, enterpriseID int64, id string, req ResourceRequest) ([]Reassignment, error) {
	if err := CheckCostCenterID(id); err != nil {
		return nil, err
	}
	rs, err := req.Resources()
	if err != nil {
		return nil, err
	}
	moved, err := s.Store.AddCostCenterResources(ctx, enterpriseID, id, rs, s.now())
	return moved, ccNotFound(err, id)
}

// RemoveResources releases the request's resources from the cost center.
func (s *CostCenters) RemoveResources(ctx context.Context, enterpriseID int64, id string, req ResourceRequest) error {
	if err := CheckCostCenterID(id); err != nil {
		return err
	}
	rs, err := req.Resources()
	if err != nil {
		return err
	}
	err = ccNotFound(s.Store.RemoveCostCenterResources(ctx, enterpriseID, id, rs, s.now()), id)
	if usage.ErrorKind(err) == usage.KindConflict {
		// DELETE …/resource documents no 409: an archived cost center holds nothing to remove.
		return &usage.Error{Kind: usage.KindBadRequest, Message: "Bad request: this cost center is deleted and holds no resources."}
	}
	return err
}

// notFound gives a plain not-found error GitHub's cost-center message.
func ccNotFound(err error, id string) error {
	if err != nil && usage.ErrorKind(err) == usage.KindNotFound {
		var ue *usage.Error
		if e, ok := err.(*usage.Error); ok {
			ue = e
		}
		if ue == nil || ue.Message == "Not Found" {
			return CostCenterNotFound(id)
		}
	}
	return err
}

// SortResources orders resources by type (users, organizations,
// repositories, teams), then name; stores may use it for stable output.
func SortResources(rs []Resource) {
	order := map[ResourceType]int{ResourceUser: 0, ResourceOrg: 1, ResourceRepo: 2, ResourceTeam: 3}
	slices.SortFunc(rs, func(a, b Resource) int {
		if d := order[a.Type] - order[b.Type]; d != 0 {
			return d
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
}
