package insights

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Event is one API request, as ghusage meters it or as a gateway, proxy or
// log shipper reports it through the ingest endpoint. ID makes ingestion
// idempotent: an event whose ID was already recorded is skipped. Metered
// events have no ID and are never deduplicated (they are recorded once).
type Event struct {
	ID                 string          `json:"id"`
	Timestamp          time.Time       `json:"timestamp"`
	Org                string          `json:"org"`
	ActorType          usage.ActorType `json:"actor_type"`
	ActorID            int64           `json:"actor_id"`
	ActorName          string          `json:"actor_name"`
	OAuthApplicationID int64           `json:"oauth_application_id,omitempty"`
	IntegrationID      int64           `json:"integration_id,omitempty"`
	UserID             int64           `json:"user_id,omitempty"`
	UserLogin          string          `json:"user_login,omitempty"`
	SubjectType        string          `json:"subject_type"`
	SubjectID          int64           `json:"subject_id"`
	SubjectName        string          `json:"subject_name"`
	HTTPMethod         string          `json:"http_method"`
	APIRoute           string          `json:"api_route"`
	RateLimited        bool            `json:"rate_limited"`
	// Weight counts the event as that many identical requests (0 means
	// one). It is not part of the ingest format: the demo dataset uses it
	// to write roll-ups without raw events.
	Weight int64 `json:"-"`
}

// Subject types: who a request is attributed to.
const (
	SubjectUser         = "user"
	SubjectInstallation = "installation"
	SubjectIntegration  = "integration"
)

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// Limits on event fields.
const (
	MaxIDLength    = 128
	MaxNameLength  = 255
	MaxRouteLength = 1024
	// MaxFutureSkew is how far ahead of the server clock an event may be.
	MaxFutureSkew = time.Hour
)

// FieldError names the field of an event that is invalid and why.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Normalize lower-cases the organization login and upper-cases the HTTP
// method, the two fields compared case-insensitively, and maps api_route to
// the route it is recorded under (CanonicalRoute: a raw path becomes
// GitHub's route template).
func (e *Event) Normalize() { e.normalize(nil) }

// normalize is Normalize with what earlier events of the batch left in c
// (nil for none).
func (e *Event) normalize(c *normCache) {
	switch {
	case c == nil:
		e.Org = strings.ToLower(e.Org)
	case e.Org == c.org: // most often: the same (interned) login
		e.Org = c.lowerOrg
	default:
		c.org, c.lowerOrg = e.Org, strings.ToLower(e.Org)
		e.Org = c.lowerOrg
	}
	if !upperMethod(e.HTTPMethod) {
		e.HTTPMethod = strings.ToUpper(e.HTTPMethod)
	}
	if !strings.HasPrefix(e.APIRoute, "/") || len(e.APIRoute) > MaxRouteLength || !validMethod(e.HTTPMethod) {
		return // Validate names the field
	}
	e.APIRoute = c.canonical(e.HTTPMethod, e.APIRoute)
}

// normCache is what normalize remembers within a batch: the routes raw
// paths were mapped to (a batch repeats its routes), up to a bound (the
// last ones by a cheap hash of the route's ends, checked first, then a
// map), and the last organization login with its lower case.
type normCache struct {
	m      map[RouteRef]string
	recent [1024]struct{ method, route, canon string }
	// the last organization login normalized, and its lower case
	org, lowerOrg string
}

func (c *normCache) canonical(method, route string) string {
	if c == nil {
		return CanonicalRoute(method, route)
	}
	n := len(route) // > 0: it starts with '/'
	h := uint64(n)<<8 ^ uint64(method[0])
	if n >= 8 {
		h ^= (uint64(route[n-1]) | uint64(route[n-2])<<8 | uint64(route[n-3])<<16 | uint64(route[n-4])<<24 |
			uint64(route[n-5])<<32 | uint64(route[n-6])<<40 | uint64(route[n-7])<<48 | uint64(route[n-8])<<56) * 0x9e3779b97f4a7c15
	} else {
		h ^= uint64(route[n-1]) * 0x9e3779b97f4a7c15
	}
	r := &c.recent[(h*0x165667b19e3779f9)>>(64-10)]
	if r.route == route && r.method == method {
		return r.canon
	}
	k := RouteRef{method, route}
	canon, ok := c.m[k]
	if !ok {
		canon = CanonicalRoute(method, route)
		if c.m == nil {
			c.m = map[RouteRef]string{}
		}
		if len(c.m) < 1<<14 {
			c.m[k] = canon
		}
	}
	r.method, r.route, r.canon = method, route, canon
	return canon
}

// Validate checks e as the ingest endpoint accepts it; requireID is false
// for metered events. now bounds future timestamps.
func (e *Event) Validate(now time.Time, requireID bool) *FieldError {
	bad := func(field, format string, args ...any) *FieldError {
		return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case requireID && e.ID == "":
		return bad("id", "is required: a unique id per event makes re-sending a batch safe")
	case len(e.ID) > MaxIDLength:
		return bad("id", "is longer than %d characters", MaxIDLength)
	case e.Timestamp.IsZero():
		return bad("timestamp", "is required (ISO 8601, e.g. 2024-09-11T15:04:05Z)")
	case e.Timestamp.Unix() < 0:
		return bad("timestamp", "is before 1970")
	case e.Timestamp.After(now.Add(MaxFutureSkew)):
		return bad("timestamp", "is more than %s in the future", MaxFutureSkew)
	case !validLogin(e.Org):
		return bad("org", "must be an organization login (letters, digits and hyphens, at most 39 characters)")
	}
	if _, ok := usage.ParseActorType(string(e.ActorType)); !ok {
		return bad("actor_type", "must be one of installation, classic_pat, fine_grained_pat, oauth_app, github_app_user_to_server")
	}
	switch {
	case e.ActorID <= 0:
		return bad("actor_id", "must be a positive integer")
	case e.ActorName == "" || len(e.ActorName) > MaxNameLength:
		return bad("actor_name", "is required, at most %d characters", MaxNameLength)
	case e.OAuthApplicationID < 0:
		return bad("oauth_application_id", "must not be negative")
	case e.IntegrationID < 0:
		return bad("integration_id", "must not be negative")
	case e.UserID < 0:
		return bad("user_id", "must not be negative")
	case len(e.UserLogin) > MaxNameLength:
		return bad("user_login", "is longer than %d characters", MaxNameLength)
	case e.SubjectType != SubjectUser && e.SubjectType != SubjectInstallation && e.SubjectType != SubjectIntegration:
		return bad("subject_type", "must be one of user, installation, integration")
	case e.SubjectID <= 0:
		return bad("subject_id", "must be a positive integer")
	case e.SubjectName == "" || len(e.SubjectName) > MaxNameLength:
		return bad("subject_name", "is required, at most %d characters", MaxNameLength)
	case !validMethod(e.HTTPMethod):
		return bad("http_method", "must be one of %s", strings.Join(httpMethods, ", "))
	case !strings.HasPrefix(e.APIRoute, "/") || len(e.APIRoute) > MaxRouteLength:
		return bad("api_route", "must be a route template (e.g. /repos/:owner/:repo) or a request path (e.g. /repos/acme/web), starting with /, at most %d characters", MaxRouteLength)
	}
	return nil
}

// upperMethod reports whether m is one of httpMethods as written there.
func upperMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return true
	}
	return false
}

func validMethod(m string) bool {
	if upperMethod(m) {
		return true
	}
	for _, h := range httpMethods {
		if strings.EqualFold(h, m) {
			return true
		}
	}
	return false
}

func validLogin(s string) bool {
	if s == "" || len(s) > 39 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// EventKey is the 16-byte deduplication key of an event id (a truncated
// SHA-256, so ids of any form are stored at a fixed size).
func EventKey(id string) [16]byte {
	h := sha256.Sum256([]byte(id))
	var k [16]byte
	copy(k[:], h[:16])
	return k
}
