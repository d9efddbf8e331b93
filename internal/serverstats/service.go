package serverstats

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Store is what a backend implements for server statistics.
type Store interface {
	// ServerStatsPut stores snapshots (their Account set, at most one per
	// server and day), all or none. A snapshot replaces the stored one of
	// the same server and day. A server belongs to one account: a snapshot
	// for a server already stored under another account is a KindConflict
	// naming the server, and nothing is stored. It returns how many
	// snapshots replaced a stored one. When it returns nil the snapshots
	// are durable.
	ServerStatsPut(ctx context.Context, snaps []Snapshot) (replaced int, err error)
	// ServerStatsList returns the item documents (MarshalItem's bytes, as
	// stored) of the snapshots of an account (lower-case) whose day lies
	// within w, ordered by day, then server id.
	ServerStatsList(ctx context.Context, account string, w Window) ([]json.RawMessage, error)
	// ServerStatsLatest returns the latest snapshot (by day) of each
	// server, ordered by server id; of one server only when serverID is
	// not "" (none when it is unknown).
	ServerStatsLatest(ctx context.Context, serverID string) ([]Snapshot, error)
}

// IngestResult says what became of an upload.
type IngestResult struct {
	Received int `json:"received"` // snapshots in the upload
	Recorded int `json:"recorded"` // snapshots stored (one per server and day)
	// Replaced counts snapshots that replaced one of the same server and
	// day, stored before or earlier in the same upload.
	Replaced int `json:"replaced"`
}

// Service answers the server-statistics endpoints from a Store.
type Service struct {
	Store Store
	// Accounts resolves the account an upload names.
	Accounts usage.AccountStore
	Now      func() time.Time
}

// NewService returns a service over store.
func NewService(store Store, accounts usage.AccountStore, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{Store: store, Accounts: accounts, Now: now}
}

// Ingest stores validated snapshots of servers belonging to account (an
// enterprise slug or organization login; 422 naming account when there is
// no such account), all or none. Of several snapshots of one server and
// day, the last one wins.
func (s *Service) Ingest(ctx context.Context, account string, snaps []Snapshot) (IngestResult, error) {
	res := IngestResult{Received: len(snaps)}
	if account == "" {
		return IngestResult{}, &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed", Fields: []usage.FieldError{{Resource: "ServerStatistics",
			Field: "account", Code: "missing_field", Message: "account (the enterprise or organization the servers belong to) is required"}}}
	}
	acct, err := ResolveAccount(ctx, s.Accounts, account)
	if usage.IsNotFound(err) {
		return IngestResult{}, usage.Invalid("ServerStatistics", "account", "no enterprise or organization is called "+quote(account))
	}
	if err != nil {
		return IngestResult{}, err
	}
	account = acct.Login()
	type key struct {
		server string
		day    Day
	}
	at := map[key]int{}
	var out []Snapshot
	for _, sn := range snaps {
		sn.Account = account
		k := key{sn.ServerID, sn.Day()}
		if i, ok := at[k]; ok {
			out[i] = sn
			res.Replaced++
			continue
		}
		at[k] = len(out)
		out = append(out, sn)
	}
	replaced, err := s.Store.ServerStatsPut(ctx, out)
	if err != nil {
		return IngestResult{}, err
	}
	res.Recorded = len(out)
	res.Replaced += replaced
	return res, nil
}

// History answers server-statistics: the item documents of the account's
// snapshots within w, ascending by collection day, as stored (never nil).
// Written one after another inside [ ], they are exactly the JSON
// encoding/json gives for the decoded items.
func (s *Service) History(ctx context.Context, account string, w Window) ([]json.RawMessage, error) {
	items, err := s.Store.ServerStatsList(ctx, strings.ToLower(account), w)
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	return items, nil
}

// Current answers /enterprise/stats/*: the latest snapshot of every server
// summed, or of one server when serverID is not "" (404 when unknown).
func (s *Service) Current(ctx context.Context, serverID string) (Current, error) {
	latest, err := s.Store.ServerStatsLatest(ctx, serverID)
	if err != nil {
		return Current{}, err
	}
	if serverID != "" && len(latest) == 0 {
		return Current{}, usage.Errorf(usage.KindNotFound, "No server statistics for server_id %s", quote(serverID))
	}
	return Sum(latest), nil
}

// Account is the enterprise or organization a server belongs to; exactly
// one of the two is set.
type Account struct {
	Enterprise *usage.Enterprise
	Org        *usage.Organization
}

// Login is the account's lower-case slug or login, the key snapshots are stored under.
func (a Account) Login() string {
	if a.Enterprise != nil {
		return strings.ToLower(a.Enterprise.Slug)
	}
	return strings.ToLower(a.Org.Login)
}

// ResolveAccount finds the enterprise (by slug) or, failing that, the
// organization (by login) called name; KindNotFound when neither exists.
func ResolveAccount(ctx context.Context, st usage.AccountStore, name string) (Account, error) {
	if name == "" {
		return Account{}, usage.ErrNotFound
	}
	e, err := st.EnterpriseBySlug(ctx, name)
	if err == nil {
		return Account{Enterprise: e}, nil
	}
	if !usage.IsNotFound(err) {
		return Account{}, err
	}
	o, err := st.OrganizationByLogin(ctx, name)
	if err == nil {
		return Account{Org: o}, nil
	}
	if usage.IsNotFound(err) {
		return Account{}, usage.ErrNotFound
	}
	return Account{}, err
}

// Access to server-statistics (seed 001): read:enterprise or the
// fine-grained "Enterprise administration" (read) for an enterprise;
// read:org or "Administration" organization (read) for an organization.
// Only the account's owners read it (GitHub's documentation of Server
// Statistics); site administrators read every account's.
var (
	EnterpriseAccess = usage.Access{Scopes: []string{"read:enterprise"}, Permission: "enterprise_administration", Level: "read", Role: usage.RoleOwner}
	OrgAccess        = usage.Access{Scopes: []string{"read:org"}, Permission: "organization_administration", Level: "read", Role: usage.RoleAdmin}
)

// Authorize checks that actor may read the account's server statistics:
// 401 without credentials, 404 for an account it cannot see, 403 naming
// the accepted scopes for a token without them.
func (a Account) Authorize(actor *usage.Actor) error {
	if a.Enterprise != nil {
		return usage.AuthorizeEnterprise(actor, a.Enterprise, EnterpriseAccess)
	}
	return usage.AuthorizeOrg(actor, a.Org, OrgAccess)
}

// AuthorizeSiteAdmin is the rule of GHES's /enterprise/stats/*: site
// administrators with a classic personal access token only; any other
// authenticated caller gets 404, as on GHES (401 without credentials).
func AuthorizeSiteAdmin(actor *usage.Actor) error {
	if !actor.Authenticated() {
		return usage.ErrRequiresAuthentication
	}
	if actor.Type != usage.ActorClassicPAT || actor.User == nil || !actor.User.SiteAdmin {
		return usage.ErrNotFound
	}
	return nil
}

// ErrOtherAccount is the conflict a store answers for a snapshot of a
// server that belongs to another account.
func ErrOtherAccount(serverID string) error {
	return &usage.Error{Kind: usage.KindConflict,
		Message: "server " + quote(serverID) + " belongs to another account; a server's snapshots stay with the account they were first uploaded for"}
}
