package insights

import (
	"context"
	"time"
)

// SummaryStats is the body of the summary-stats endpoints.
type SummaryStats struct {
	TotalRequestCount       int64 `json:"total_request_count"`
	RateLimitedRequestCount int64 `json:"rate_limited_request_count"`
}

// TimeStat is one bucket of the time-stats endpoints.
type TimeStat struct {
	Timestamp               string `json:"timestamp"`
	TotalRequestCount       int64  `json:"total_request_count"`
	RateLimitedRequestCount int64  `json:"rate_limited_request_count"`
}

// SubjectStat is one item of subject-stats.
type SubjectStat struct {
	SubjectType              string  `json:"subject_type"`
	SubjectName              string  `json:"subject_name"`
	SubjectID                int64   `json:"subject_id"`
	TotalRequestCount        int64   `json:"total_request_count"`
	RateLimitedRequestCount  int64   `json:"rate_limited_request_count"`
	LastRateLimitedTimestamp *string `json:"last_rate_limited_timestamp"`
	LastRequestTimestamp     string  `json:"last_request_timestamp"`
}

// UserStat is one item of user-stats: an actor the user made requests with.
type UserStat struct {
	ActorType                string  `json:"actor_type"`
	ActorName                string  `json:"actor_name"`
	ActorID                  int64   `json:"actor_id"`
	IntegrationID            *int64  `json:"integration_id"`
	OAuthApplicationID       *int64  `json:"oauth_application_id"`
	TotalRequestCount        int64   `json:"total_request_count"`
	RateLimitedRequestCount  int64   `json:"rate_limited_request_count"`
	LastRateLimitedTimestamp *string `json:"last_rate_limited_timestamp"`
	LastRequestTimestamp     string  `json:"last_request_timestamp"`
}

// RouteStat is one item of route-stats.
type RouteStat struct {
	HTTPMethod               string  `json:"http_method"`
	APIRoute                 string  `json:"api_route"`
	TotalRequestCount        int64   `json:"total_request_count"`
	RateLimitedRequestCount  int64   `json:"rate_limited_request_count"`
	LastRateLimitedTimestamp *string `json:"last_rate_limited_timestamp"`
	LastRequestTimestamp     string  `json:"last_request_timestamp"`
}

// Service answers the insights endpoints from a Store.
type Service struct {
	Store     Store
	Now       func() time.Time
	Retention Retention
	// Gate admits list answers (subject-, user- and route-stats); nil
	// admits every one.
	Gate *Gate
}

// NewService returns a service over store with the default retention.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{Store: store, Now: now, Retention: DefaultRetention, Gate: NewGate(DefaultGate())}
}

// Ingest validates nothing (the decoder did) and records events durably.
func (s *Service) Ingest(ctx context.Context, events []Event) (IngestResult, error) {
	return s.Store.InsightsIngest(ctx, events, s.Retention.Cutoffs(s.Now()))
}

// Prune deletes what the retention no longer keeps.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	return s.Store.InsightsPrune(ctx, s.Retention.Cutoffs(s.Now()))
}

// segments covers p's range for an answer read from levels up to max.
// Range edges older than a level's retention are widened to the next
// coarser level, whose buckets are still kept.
func (s *Service) segments(p *Params, max Level) []Segment {
	a, b := p.Start, p.End
	cut := s.Retention.Cutoffs(s.Now())
	for _, l := range Levels[:len(Levels)-1] {
		if cut.Level[l] == 0 || l >= max {
			continue
		}
		up := l + 1
		if a < cut.Level[l] {
			a = up.Floor(a)
		}
		if b < cut.Level[l] {
			b = ceilTo(b, up.Seconds())
		}
	}
	return Segments(a, b, max)
}

// Summary answers summary-stats for a scope.
func (s *Service) Summary(ctx context.Context, sc Scope, p *Params) (SummaryStats, error) {
	c, err := s.Store.InsightsTotals(ctx, sc, s.segments(p, Day))
	if err != nil {
		return SummaryStats{}, err
	}
	return SummaryStats{c.Total, c.RateLimited}, nil
}

// TimeStats answers time-stats for a scope: a dense series of buckets of
// p.Increment aligned to multiples of the increment since the Unix epoch,
// from the bucket holding the start of the range to the one holding its
// end. Each bucket counts only requests inside the range.
func (s *Service) TimeStats(ctx context.Context, sc Scope, p *Params) ([]TimeStat, error) {
	series, err := s.TimeSeries(ctx, sc, p)
	if err != nil {
		return nil, err
	}
	return series.Stats(), nil
}

// Series is a time-stats answer without its timestamps: bucket i starts
// First + i*Increment (unix seconds) and holds Counts[i]. The HTTP adapter
// writes it as JSON without building a TimeStat (and a timestamp string)
// per bucket; Stats gives the TimeStat form.
type Series struct {
	First, Increment int64
	Counts           []SeriesCounts
}

// SeriesCounts is the requests of one bucket of a Series.
type SeriesCounts struct {
	Total, RateLimited int64
}

// Timestamp is the start of bucket i.
func (s *Series) Timestamp(i int) int64 { return s.First + int64(i)*s.Increment }

// Stats returns the series as time-stats items (never nil).
func (s *Series) Stats() []TimeStat {
	out := make([]TimeStat, len(s.Counts))
	if len(out) == 0 {
		return out
	}
	// One string holds every timestamp; the items hold slices of it.
	var all []byte
	end := make([]int, len(out))
	for i := range out {
		all = AppendTimestamp(all, s.Timestamp(i))
		end[i] = len(all)
	}
	str := string(all)
	start := 0
	for i, c := range s.Counts {
		out[i] = TimeStat{str[start:end[i]], c.Total, c.RateLimited}
		start = end[i]
	}
	return out
}

// TimeSeries answers time-stats for a scope, as TimeStats does, in the
// compact form of a Series.
func (s *Service) TimeSeries(ctx context.Context, sc Scope, p *Params) (Series, error) {
	inc := p.Increment
	first := floorDiv(p.Start, inc) * inc
	n := (p.End - first + inc - 1) / inc
	rows, err := s.Store.InsightsSeries(ctx, sc, s.segments(p, CoarsestLevel(inc)))
	if err != nil {
		return Series{}, err
	}
	out := Series{First: first, Increment: inc, Counts: make([]SeriesCounts, n)}
	for _, r := range rows {
		i := (r.Bucket - first) / inc
		if r.Bucket < first || i >= n {
			continue
		}
		out.Counts[i].Total += r.Total
		out.Counts[i].RateLimited += r.RateLimited
	}
	return out, nil
}

func lastTimes(c Counts) (string, *string) {
	last := FormatTimestamp(c.Last)
	if c.LastRateLimited == 0 {
		return last, nil
	}
	rl := FormatTimestamp(c.LastRateLimited)
	return last, &rl
}

func optional(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

// Page is one page of a list answer and the number of items in all pages.
type Page[T any] struct {
	Items []T
	Total int
}

// SubjectStats answers subject-stats.
func (s *Service) SubjectStats(ctx context.Context, org string, p *Params) (Page[SubjectStat], error) {
	rows, total, err := answerList(ctx, s, Scope{Org: org}, p, s.subjectLister())
	return toPage(rows, total, func(r SubjectRow) SubjectStat {
		last, rl := lastTimes(r.Counts)
		return SubjectStat{r.Type, r.Name, r.ID, r.Total, r.RateLimited, rl, last}
	}), err
}

// UserStats answers user-stats for one user.
func (s *Service) UserStats(ctx context.Context, org string, userID int64, p *Params) (Page[UserStat], error) {
	rows, total, err := answerList(ctx, s, Scope{Org: org, UserID: userID}, p, s.actorLister())
	return toPage(rows, total, func(r ActorRow) UserStat {
		last, rl := lastTimes(r.Counts)
		return UserStat{string(r.Type), r.Name, r.ID, optional(r.IntegrationID), optional(r.OAuthApplicationID),
			r.Total, r.RateLimited, rl, last}
	}), err
}

// RouteStats answers route-stats for one actor.
func (s *Service) RouteStats(ctx context.Context, org string, actor ActorRef, p *Params) (Page[RouteStat], error) {
	rows, total, err := answerList(ctx, s, Scope{Org: org, Actor: actor}, p, s.routeLister())
	return toPage(rows, total, func(r RouteRow) RouteStat {
		last, rl := lastTimes(r.Counts)
		return RouteStat{r.Method, r.Route, r.Total, r.RateLimited, rl, last}
	}), err
}

// answerList runs one list answer once the gate admits it: the scope's
// groups over the range, then the page (see list).
func answerList[R any](ctx context.Context, s *Service, sc Scope, p *Params, l lister[R]) ([]R, int, error) {
	release, err := s.Gate.Acquire(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer release()
	var g Groups
	if err := s.Store.InsightsGroups(ctx, sc, s.segments(p, Day), &g); err != nil {
		return nil, 0, err
	}
	return list(ctx, l, &g, p)
}

func toPage[R, W any](rows []R, total int, wire func(R) W) Page[W] {
	out := Page[W]{Total: total, Items: make([]W, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, wire(r))
	}
	return out
}

func countKey(c Counts, key string) int64 {
	switch key {
	case SortLastRateLimited:
		return c.LastRateLimited
	case SortLastRequest:
		return c.Last
	case SortRateLimitedCount:
		return c.RateLimited
	}
	return c.Total
}
