package billing

import (
	"context"
	"time"
)

// IngestResult says what became of an ingested batch.
type IngestResult struct {
	Received   int `json:"received"`   // records in the batch
	Recorded   int `json:"recorded"`   // records added to the ledger now
	Duplicates int `json:"duplicates"` // records whose id was already recorded
}

// Level is the time resolution of stored usage rows.
type Level int

// Levels of usage rows: hours (for the usage endpoint's hour parameter)
// and UTC days (everything else).
const (
	LevelHour Level = iota
	LevelDay
	// LevelItems is stored only: the day rows with per-user SKUs summed
	// over users (see Query.ByItem), its lines sorted by key.
	LevelItems
)

// Query selects ledger usage of one billing account in [From, To) (whole
// hours at LevelHour, whole days at LevelDay). Empty filters select all;
// filters are lower case and combine with AND.
type Query struct {
	Account      Account
	Level        Level
	From, To     time.Time
	Organization string
	Repository   string // owner/name
	Username     string
	Product      string   // product id: BillingRecords filters by it; rows keep only the SKU, so
	SKUs         []string // BillingRows filters by SKUs: set them with Product (Catalog.ProductSKUs)
	SKU          string
	Model        string
	// ByItem, at LevelDay without Username, asks for the rows of per-user
	// SKUs summed over users (Username "", Model kept), as the usage
	// endpoint's items and the model reports need them: stores answer it
	// from day item packs, a few lines per item whatever the number of
	// users. Ignored at LevelHour or with Username set.
	ByItem bool
}

// PackLevel is the stored level of the packs q reads (the lvl column of
// billing_row_packs): q.Level, or LevelItems for a ByItem day query.
func PackLevel(q *Query) Level {
	if q.ByItem && q.Level == LevelDay && q.Username == "" {
		return LevelItems
	}
	return q.Level
}

// Row is the usage of one key in one bucket: the summed quantity of the
// records sharing bucket, SKU, organization, repository, user, model and
// public flag (user and model are kept only for per-user SKUs, see
// RowOf). Stores keep rows per account at both levels, summed at ingest,
// so queries never read records.
type Row struct {
	Bucket       time.Time // start of the hour or day, UTC
	SKU          string
	Organization string
	Repository   string
	Username     string
	Model        string
	Public       bool
	Quantity     Quantity
}

// DayTotal is an account's usage of one SKU on one UTC day, split by the
// public flag: what included quotas are computed from.
type DayTotal struct {
	Day      time.Time
	SKU      string
	Public   bool
	Quantity Quantity
}

// Push is one pushed commit's author for Advanced Security: who pushed to
// which repository, when, and the commit's author date and email.
type Push struct {
	Account      Account
	Organization string
	Repository   string // owner/name
	Login        string
	Email        string
	AuthorDate   time.Time
	PushedAt     time.Time
}

// Committer is a user's latest push to one repository.
type Committer struct {
	Organization string
	Repository   string
	Login        string
	Email        string
	AuthorDate   time.Time // of the most recent commit pushed by the user (last_pushed_date)
	PushedAt     time.Time
}

// Store is what a backend implements for the billing ledger.
type Store interface {
	// BillingIngest appends records to the ledger, all or none, skipping
	// those whose id was recorded before (also within the batch), and adds
	// the new ones to the hour, day and account-day rows. When it returns
	// nil the batch is durable. Records must be normalized and valid.
	BillingIngest(ctx context.Context, recs []Record) (IngestResult, error)
	// BillingRows returns the stored rows q selects, in any order.
	BillingRows(ctx context.Context, q Query) ([]Row, error)
	// BillingDayTotals returns an account's per-day, per-SKU totals in
	// [from, to) (whole days), in any order.
	BillingDayTotals(ctx context.Context, a Account, from, to time.Time) ([]DayTotal, error)
	// BillingRecords calls fn with the ledger records of q's account in
	// [q.From, q.To) that match q's filters, by timestamp then id; fn must
	// not keep the record. It is for report exports, not API answers.
	BillingRecords(ctx context.Context, q Query, fn func(*Record) error) error
	// BillingRecordPushes remembers, per account, repository and login,
	// the latest push (and the author date and email of its commit).
	BillingRecordPushes(ctx context.Context, pushes []Push) error
	// BillingCommitters returns the committers of an account whose latest
	// push is at or after since, optionally of one organization, in any order.
	BillingCommitters(ctx context.Context, a Account, org string, since time.Time) ([]Committer, error)
}

// CostCenterRef names a cost center.
type CostCenterRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CostCenterFilter is the cost_center_id parameter of the usage,
// usage/summary, premium_request and ai_credit endpoints: the zero value
// (the parameter absent), "none" (usage of no cost center) or an id.
type CostCenterFilter struct {
	Set  bool   // the parameter was given
	None bool   // cost_center_id=none
	ID   string // a cost center id
}

// Attribution is the seam for cost centers (their own package files,
// costcenter*.go): it gives the membership intervals (an organization,
// repository, user or enterprise team is in a cost center from one time
// to another) from which the Service attributes each record to the cost
// center its resource was in when the usage happened.
//
// The usage endpoint's default (no cost_center_id) is usage that has no
// cost center; usage/summary's default is all usage; "none" is usage of
// no cost center; an id is that cost center's usage. Without an
// Attribution (nil), no usage has a cost center: the default and "none"
// select everything and any id is unknown (404).
type Attribution interface {
	// CostCenter returns the enterprise's cost center with id, or an error
	// of usage.KindNotFound.
	CostCenter(ctx context.Context, enterprise, id string) (CostCenterRef, error)
	// Memberships returns the enterprise's memberships overlapping
	// [from, to), indexed, with the names of its cost centers.
	Memberships(ctx context.Context, enterprise string, from, to time.Time) (*AttributionIndex, error)
}
