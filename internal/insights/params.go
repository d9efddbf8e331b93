package insights

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Endpoint names the shape of an insights endpoint, which decides the
// query parameters it takes.
type Endpoint int

// The insights endpoint shapes.
const (
	EndpointSummary   Endpoint = iota // summary-stats, by user, by actor
	EndpointTime                      // time-stats, by user, by actor
	EndpointSubjects                  // subject-stats
	EndpointUserStats                 // user-stats/{user_id}
	EndpointRoutes                    // route-stats/{actor_type}/{actor_id}
)

// Sort keys of the list endpoints, as the contract's enums spell them.
const (
	SortLastRateLimited  = "last_rate_limited_timestamp"
	SortLastRequest      = "last_request_timestamp"
	SortRateLimitedCount = "rate_limited_request_count"
	SortTotalCount       = "total_request_count"
	SortSubjectName      = "subject_name"
	SortHTTPMethod       = "http_method"
	SortAPIRoute         = "api_route"
)

// SortKeys lists the sort values an endpoint accepts. user-stats takes the
// subject-stats list, as the contract says; there subject_name sorts by the
// actor's name.
func (ep Endpoint) SortKeys() []string {
	switch ep {
	case EndpointSubjects, EndpointUserStats:
		return []string{SortLastRateLimited, SortLastRequest, SortRateLimitedCount, SortSubjectName, SortTotalCount}
	case EndpointRoutes:
		return []string{SortLastRateLimited, SortLastRequest, SortRateLimitedCount, SortHTTPMethod, SortAPIRoute, SortTotalCount}
	}
	return nil
}

func (ep Endpoint) substringParam() string {
	switch ep {
	case EndpointSubjects:
		return "subject_name_substring"
	case EndpointUserStats:
		return "actor_name_substring"
	case EndpointRoutes:
		return "api_route_substring"
	}
	return ""
}

const (
	// MaxSeriesBuckets bounds the number of buckets one time-stats answer holds.
	MaxSeriesBuckets = 50000
	// MaxSubstring bounds the substring filters.
	MaxSubstring = 256
)

// EarliestUnix and LatestUnix (1970-01-01T00:00:00Z, 9999-12-31T23:59:59Z)
// bound min_timestamp and max_timestamp: every bucket an answer can hold
// then starts between them, so every timestamp written is RFC 3339
// (four-digit years) and none is before the first possible request.
const (
	EarliestUnix = 0
	LatestUnix   = 253402300799
)

// Params are the parsed query parameters of an insights request.
type Params struct {
	// Start and End bound the range in unix seconds, rounded to whole
	// minutes: Start is min_timestamp's minute, End is the end of
	// max_timestamp's minute (both minutes are included).
	Start, End int64
	Increment  int64 // time-stats only: seconds per bucket
	Page       int
	PerPage    int
	Desc       bool     // direction=desc (the default)
	Sort       []string // list endpoints: validated sort keys, at least one
	Substring  string   // list endpoints: the *_substring filter, "" for none
}

func invalid(field, format string, args ...any) *usage.Error {
	return usage.Invalid("ApiInsights", field, fmt.Sprintf(format, args...))
}

func missing(field, why string) *usage.Error {
	return &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed",
		Fields: []usage.FieldError{{Resource: "ApiInsights", Field: field, Code: "missing_field", Message: field + " " + why}}}
}

// ParseParams validates the query of a request to an endpoint of shape ep.
// now is the default max_timestamp. Errors are 422 *usage.Error values
// naming the field.
func ParseParams(q url.Values, ep Endpoint, now time.Time) (*Params, error) {
	p := &Params{Page: 1, PerPage: usage.DefaultPerPage, Desc: true}
	minRaw := q.Get("min_timestamp")
	if minRaw == "" {
		return nil, missing("min_timestamp", "is required (ISO 8601, e.g. 2024-09-11T15:00:00Z)")
	}
	min, err := ParseTimestamp(minRaw)
	if err != nil {
		return nil, invalid("min_timestamp", "%v", err)
	}
	max := now
	if raw := q.Get("max_timestamp"); raw != "" {
		if max, err = ParseTimestamp(raw); err != nil {
			return nil, invalid("max_timestamp", "%v", err)
		}
	}
	for _, t := range []struct {
		name string
		v    time.Time
	}{{"min_timestamp", min}, {"max_timestamp", max}} {
		if u := t.v.Unix(); u < EarliestUnix || u > LatestUnix {
			return nil, invalid(t.name, "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z (answers are RFC 3339 timestamps, since the Unix epoch)")
		}
	}
	if max.Before(min) {
		return nil, invalid("max_timestamp", "max_timestamp (%s) is before min_timestamp (%s)",
			max.Format(time.RFC3339), min.Format(time.RFC3339))
	}
	p.Start = Minute.Floor(min.Unix())
	p.End = Minute.Floor(max.Unix()) + 60

	if ep == EndpointTime {
		raw := q.Get("timestamp_increment")
		if raw == "" {
			return nil, missing("timestamp_increment", "is required (e.g. 5m, 10m, 1h, 1d)")
		}
		inc, err := ParseIncrement(raw)
		if err != nil {
			return nil, invalid("timestamp_increment", "%v", err)
		}
		p.Increment = int64(inc / time.Second)
		first := floorDiv(p.Start, p.Increment) * p.Increment
		if n := (p.End - first + p.Increment - 1) / p.Increment; n > MaxSeriesBuckets {
			return nil, invalid("timestamp_increment", "%s over this range gives %d buckets; at most %d are returned: use a larger increment or a shorter range",
				raw, n, MaxSeriesBuckets)
		}
	}
	if ep.SortKeys() == nil {
		return p, nil
	}
	pg, err := usage.ParsePage(q, "ApiInsights")
	if err != nil {
		return nil, err
	}
	p.Page, p.PerPage = pg.Number, pg.PerPage
	switch d := q.Get("direction"); d {
	case "", "desc":
	case "asc":
		p.Desc = false
	default:
		return nil, invalid("direction", "%q is not a direction: use asc or desc", truncate(d, 20))
	}
	if p.Sort, err = ParseSort(append(q["sort"], q["sort[]"]...), ep.SortKeys()); err != nil {
		return nil, err
	}
	sub := ep.substringParam()
	p.Substring = q.Get(sub)
	if len(p.Substring) > MaxSubstring {
		return nil, invalid(sub, "is longer than %d characters", MaxSubstring)
	}
	return p, nil
}

// ParseSort parses sort values, each a key or a comma-separated list of
// keys from allowed. Repeated keys keep their first position; no value
// means total_request_count.
func ParseSort(values []string, allowed []string) ([]string, error) {
	var keys []string
	for _, v := range values {
		for _, k := range strings.Split(v, ",") {
			k = strings.TrimSpace(k)
			if k == "" {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || a == k
			}
			if !ok {
				return nil, invalid("sort", "%q is not a sort key here; use one or more of %s", truncate(k, 40), strings.Join(allowed, ", "))
			}
			dup := false
			for _, have := range keys {
				dup = dup || have == k
			}
			if !dup {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		keys = []string{SortTotalCount}
	}
	return keys, nil
}

// ParseActor validates the actor_type and actor_id path values.
func ParseActor(actorType, actorID string) (ActorRef, error) {
	t, ok := usage.ParseActorType(actorType)
	if !ok {
		return ActorRef{}, invalid("actor_type", "%q is not an actor type; use one of installation, classic_pat, fine_grained_pat, oauth_app, github_app_user_to_server", truncate(actorType, 40))
	}
	id, err := strconv.ParseInt(actorID, 10, 64)
	if err != nil || id <= 0 {
		return ActorRef{}, invalid("actor_id", "%q is not a positive integer", truncate(actorID, 40))
	}
	return ActorRef{Type: t, ID: id}, nil
}

// ParseUserID validates the user_id path value.
func ParseUserID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid("user_id", "%q is not a user id (a positive integer)", truncate(s, 40))
	}
	return id, nil
}
