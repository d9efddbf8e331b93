package insights

import (
	"context"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// ActorRef identifies an actor: a token, installation or app, by type and id.
type ActorRef struct {
	Type usage.ActorType
	ID   int64
}

// SubjectRef identifies a subject: a user or a GitHub App installation.
type SubjectRef struct {
	Type string
	ID   int64
}

// RouteRef is a route template and its HTTP method.
type RouteRef struct {
	Method string
	Route  string
}

// Counts are what a roll-up row keeps: totals, and the last request and
// last rate-limited request times in unix seconds (0 when there was none).
type Counts struct {
	Total           int64
	RateLimited     int64
	Last            int64
	LastRateLimited int64
}

// Add merges o into c.
func (c *Counts) Add(o Counts) {
	c.Total += o.Total
	c.RateLimited += o.RateLimited
	c.Last = max(c.Last, o.Last)
	c.LastRateLimited = max(c.LastRateLimited, o.LastRateLimited)
}

// Scope selects the requests of one organization (a lower-case login),
// optionally only one user's (UserID) or one actor's (Actor.ID != 0). At
// most one of the two is set.
type Scope struct {
	Org    string
	UserID int64
	Actor  ActorRef
}

// BucketCounts is one stored bucket of a series.
type BucketCounts struct {
	Level       Level
	Bucket      int64 // start, unix seconds
	Total       int64
	RateLimited int64
}

// SubjectRow is one subject's counts over a range.
type SubjectRow struct {
	SubjectRef
	Name string
	Counts
}

// ActorRow is one actor's counts over a range.
type ActorRow struct {
	ActorRef
	Name               string
	OAuthApplicationID int64
	IntegrationID      int64
	Counts
}

// RouteRow is one route's counts over a range.
type RouteRow struct {
	RouteRef
	Counts
}

// IngestResult says what became of an ingested batch.
type IngestResult struct {
	Received   int `json:"received"`   // events in the batch
	Recorded   int `json:"recorded"`   // events counted now
	Duplicates int `json:"duplicates"` // events whose id was already recorded
}

// Cutoffs tell a backend which roll-up buckets to keep: a bucket of level l
// is kept when its start is at or after Level[l] (0 keeps everything).
// Event ids are remembered for deduplication while newer than Seen.
type Cutoffs struct {
	Level [len(Levels)]int64
	Seen  int64
	Now   time.Time
}

// Store is what a backend implements for API insights. Methods take
// lower-case organization logins and segments from Segments; every query
// reads roll-ups, never raw events. Grouped queries add their groups'
// counts to a Groups; the Service reads the names of only the groups a
// page can hold, then filters, sorts and pages them.
type Store interface {
	// InsightsIngest records events, all or none, skipping those whose id
	// (see EventKey) was recorded before; events without an id are never
	// deduplicated. It aggregates the new events (see Aggregate) into the
	// roll-ups the cutoffs keep. When it returns nil, the batch is durable.
	// It must not keep or change events after it returns: the recorder
	// reuses the slice for its next batch.
	InsightsIngest(ctx context.Context, events []Event, cut Cutoffs) (IngestResult, error)
	// InsightsTotals sums the scope's requests over the segments
	// (Last and LastRateLimited are not needed).
	InsightsTotals(ctx context.Context, s Scope, segs []Segment) (Counts, error)
	// InsightsSeries returns the scope's stored buckets within the
	// segments, one row per level and bucket, summed over users, actors
	// or routes as the scope requires. Buckets without requests may be omitted.
	InsightsSeries(ctx context.Context, s Scope, segs []Segment) ([]BucketCounts, error)
	// InsightsGroups adds to g the scope's requests over the segments,
	// grouped by the scope's list dimension and keyed by the store's ref
	// of each group: an organization's requests by subject, a user's by
	// actor, an actor's by method and route. It must not hold more than g
	// and one stored row at a time.
	InsightsGroups(ctx context.Context, s Scope, segs []Segment, g *Groups) error
	// InsightsSubjectInfo, InsightsActorInfo and InsightsRouteInfo call fn
	// with the identity and name of each ref of refs (sorted, at most
	// InfoChunk), in any order; rows' Counts are zero. Unknown refs are
	// skipped.
	InsightsSubjectInfo(ctx context.Context, refs []int64, fn func(ref int64, r SubjectRow) error) error
	InsightsActorInfo(ctx context.Context, refs []int64, fn func(ref int64, r ActorRow) error) error
	InsightsRouteInfo(ctx context.Context, refs []int64, fn func(ref int64, r RouteRow) error) error
	// InsightsPrune deletes roll-up buckets and remembered event ids the
	// cutoffs no longer keep, returning how many rows went.
	InsightsPrune(ctx context.Context, cut Cutoffs) (int64, error)
}

// Retention says how long each roll-up level and remembered event ids are
// kept; zero keeps them forever. Five-minute buckets are kept as long as
// minute buckets. Event ids are remembered by event time: an event older
// than Dedup sent again would be counted again.
type Retention struct {
	Minute, Hour, Day time.Duration
	Dedup             time.Duration
}

// DefaultRetention keeps minutes 35 days, hours 400 days, days forever and
// event ids for deduplication 7 days.
var DefaultRetention = Retention{Minute: 35 * 24 * time.Hour, Hour: 400 * 24 * time.Hour, Dedup: 7 * 24 * time.Hour}

// Cutoffs returns the cutoffs r implies at now.
func (r Retention) Cutoffs(now time.Time) Cutoffs {
	c := Cutoffs{Now: now}
	for i, d := range []time.Duration{r.Minute, r.Minute, r.Hour, r.Day} { // five-minute buckets live as long as minutes
		if d > 0 {
			c.Level[i] = Levels[i].Floor(now.Add(-d).Unix())
		}
	}
	if r.Dedup > 0 {
		c.Seen = now.Add(-r.Dedup).Unix()
	}
	return c
}
