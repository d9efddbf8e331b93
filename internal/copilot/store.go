package copilot

import (
	"context"
	"io"
	"time"
)

// StoredRecord is a record in the form the store keeps it.
type StoredRecord struct {
	Day       Day
	UserID    int64
	UserLogin string
	Flags     Flags
	Line      []byte // JSON object of Activity
	Extra     []byte // JSON object of Extra
	// LastAt (unix seconds) and LastEditor are the latest sampled IDE or
	// CLI version of the day, for the seats' last_activity_at/_editor.
	LastAt     int64
	LastEditor string
}

// IngestResult counts what an ingest did.
type IngestResult struct {
	Received  int `json:"received"`
	Recorded  int `json:"recorded"`  // user-days stored for the first time
	Replaced  int `json:"replaced"`  // user-days that replaced a different earlier line
	Unchanged int `json:"unchanged"` // user-days re-sent identical to what was stored
}

// ScanRow is a stored record with the user's memberships, as the report
// builder reads it.
type ScanRow struct {
	Day         Day
	UserID      int64
	UserLogin   string
	Line, Extra []byte  // nil when the scan was asked for identities only
	Orgs        []int64 // organizations the user is a member of
	Enterprises []int64 // enterprises the user is a member of directly
	Teams       []int64 // teams the user is a member of
}

// ActiveUser is, for one user with activity in a range of days, the last
// day of each kind of activity in it (0 when none), and the user's memberships.
type ActiveUser struct {
	UserID      int64
	Last        [numFlags]Day
	Orgs        []int64
	Enterprises []int64
}

// DirtyDay is a day whose activity changed since its reports were built;
// Seq tells a mark set during a build from the one the build saw.
type DirtyDay struct {
	Day Day
	Seq int64
}

// Scope is the account a report is for.
type Scope struct {
	Enterprise bool
	ID         int64
}

// Report kinds.
const (
	KindAggregate1  = "aggregate-1-day"
	KindAggregate28 = "aggregate-28-day"
	KindUsers1      = "users-1-day"
	KindUsers28     = "users-28-day"
	KindUserTeams1  = "user-teams-1-day"
	KindRepos1      = "repos-1-day"
)

// Report is a built report: its files, in order, for a scope, kind and
// day (the last day, for 28-day kinds).
type Report struct {
	Scope   Scope
	Kind    string
	Day     Day
	Files   []string
	Rows    int64  // records in the files (users, user-teams or repos; daily active users for aggregates)
	Body    []byte // the 1-day aggregate object, for KindAggregate1
	BuiltAt time.Time
}

// Policy values of the "Copilot usage metrics" policy.
const (
	PolicyEnabled  = "enabled"
	PolicyDisabled = "disabled"
	// PolicyUnconfigured on an enterprise lets its organizations decide.
	PolicyUnconfigured = "unconfigured"
)

// Seat is a Copilot seat: a user's licence through an organization (OrgID)
// or assigned at the enterprise (OrgID 0), directly or through a team.
type Seat struct {
	EnterpriseID    int64
	OrgID           int64
	UserID          int64
	AssigningTeamID int64 // 0 when assigned directly
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// PendingCancellation is the day the seat ends, when cancelled.
	PendingCancellation Day
	PlanType            string
}

// LastActivity is a user's latest Copilot activity.
type LastActivity struct {
	At     time.Time
	Editor string
}

// Store keeps Copilot activity, reports, policies and seats. Every backend
// implements it; storetest.RunCopilot is its conformance suite.
type Store interface {
	// CopilotIngest stores records keyed by user and day, replacing what
	// was stored for the same key, all or nothing and durably before it
	// returns; a changed day is marked dirty.
	CopilotIngest(ctx context.Context, recs []StoredRecord) (IngestResult, error)
	// CopilotScan streams the records of days [from, to], ordered by day
	// and user id, with the users' memberships; payload=false leaves Line
	// and Extra nil.
	CopilotScan(ctx context.Context, from, to Day, payload bool, fn func(*ScanRow) error) error
	// CopilotActiveUsers streams, per user with activity in [from, to]
	// (by user id), the last day of each kind of activity.
	CopilotActiveUsers(ctx context.Context, from, to Day, fn func(*ActiveUser) error) error
	// CopilotDirtyDays lists the dirty days, oldest first.
	CopilotDirtyDays(ctx context.Context) ([]DirtyDay, error)
	// CopilotClearDirty clears the marks whose day and seq are unchanged.
	CopilotClearDirty(ctx context.Context, days []DirtyDay) error
	// CopilotState reads a number the builder keeps (0, false when unset).
	CopilotState(ctx context.Context, key string) (int64, bool, error)
	CopilotSetState(ctx context.Context, key string, v int64) error

	// CopilotPutReport records r as the report of its scope, kind and day;
	// the files of the report it replaces become garbage, deleted by the
	// builder after garbageAfter.
	CopilotPutReport(ctx context.Context, r *Report, garbageAfter time.Time) error
	// CopilotReport returns the report of a scope, kind and day, or KindNotFound.
	CopilotReport(ctx context.Context, s Scope, kind string, day Day) (*Report, error)
	// CopilotLatestReport returns the report of a kind with the latest day, or KindNotFound.
	CopilotLatestReport(ctx context.Context, s Scope, kind string) (*Report, error)
	// CopilotReports lists a scope's reports of a kind for days [from, to], by day.
	CopilotReports(ctx context.Context, s Scope, kind string, from, to Day) ([]*Report, error)
	// CopilotGarbage lists up to limit files whose deletion is due at now;
	// CopilotDropGarbage forgets them once deleted.
	CopilotGarbage(ctx context.Context, now time.Time, limit int) ([]string, error)
	CopilotDropGarbage(ctx context.Context, names []string) error
	// CopilotPrune deletes activity and reports of days before day; the
	// pruned reports' files become garbage due at once.
	CopilotPrune(ctx context.Context, before Day, now time.Time) (int64, error)

	// CopilotSetPolicy sets the "Copilot usage metrics" policy of an
	// enterprise (s.Enterprise) or organization.
	CopilotSetPolicy(ctx context.Context, s Scope, value string) error
	// CopilotPolicy returns it, "" when never set.
	CopilotPolicy(ctx context.Context, s Scope) (string, error)

	// CopilotAddSeats creates seats for users (with the given enterprise,
	// org and assigning team); an existing live seat is kept (a pending
	// cancellation is lifted). It returns how many seats were created or revived.
	CopilotAddSeats(ctx context.Context, seats []Seat) (int, error)
	// CopilotCancelSeats sets the pending cancellation of the live seats of
	// users in (enterprise, org) assigned through team (0: directly); it
	// returns how many were set.
	CopilotCancelSeats(ctx context.Context, enterpriseID, orgID int64, userIDs []int64, teamID int64, on Day) (int, error)
	// CopilotSeats lists the seats of an organization (orgID != 0) or of an
	// enterprise and its organizations (orgID 0), that have not ended
	// before day, by user id then org id.
	CopilotSeats(ctx context.Context, enterpriseID, orgID int64, day Day) ([]Seat, error)
	// CopilotLastActivity returns users' latest activity, by user id.
	CopilotLastActivity(ctx context.Context, userIDs []int64) (map[int64]LastActivity, error)
	// CopilotTeamMembers lists a team's member user ids, by id.
	CopilotTeamMembers(ctx context.Context, teamID int64) ([]int64, error)
}

// FileStore keeps the report files; blob.Store implements it.
type FileStore interface {
	Put(ctx context.Context, name, contentType string, r io.Reader) (int64, error)
	Delete(ctx context.Context, name string) error
}
