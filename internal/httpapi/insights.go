package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/usage"
)

// insightsAccess is what every insights endpoint requires (seed 000);
// the dashboard checks the same value.
var insightsAccess = insights.Access

// IngestPath is where gateways, proxies and log shippers post request
// events (NDJSON, optionally gzip-compressed); see doc/insights.md.
const IngestPath = "/ghusage/v1/ingest/api-requests"

// IngestScope is the classic scope that allows ingesting request events;
// fine-grained and installation tokens need the ghusage_ingest permission
// at write level.
const IngestScope = "ghusage:ingest"

// Ingest limits.
const (
	IngestMaxBodyBytes = 64 << 20
	IngestMaxEvents    = insights.MaxBatch
)

// insightsOrg resolves the {org} of an insights request and checks the
// caller may read its insights: an organization the caller cannot see is
// 404, as on GitHub.
func (s *Server) insightsOrg(r *http.Request) (string, error) {
	if s.Insights == nil {
		return "", usage.Errorf(usage.KindNotFound, "API insights are not enabled on this server")
	}
	org, err := s.Store.OrganizationByLogin(r.Context(), r.PathValue("org"))
	if err != nil {
		if usage.IsNotFound(err) {
			return "", usage.ErrNotFound
		}
		return "", err
	}
	if err := usage.AuthorizeOrg(usage.ActorFrom(r.Context()), org, insightsAccess); err != nil {
		return "", err
	}
	return strings.ToLower(org.Login), nil
}

func (s *Server) insightsParams(r *http.Request, ep insights.Endpoint) (string, *insights.Params, error) {
	org, err := s.insightsOrg(r)
	if err != nil {
		return "", nil, err
	}
	p, err := insights.ParseParams(r.URL.Query(), ep, s.Now())
	return org, p, err
}

func (s *Server) handleSummaryStats(w http.ResponseWriter, r *http.Request) error {
	return s.summary(w, r, func(org string) (insights.Scope, error) { return insights.Scope{Org: org}, nil })
}

func (s *Server) handleSummaryStatsByUser(w http.ResponseWriter, r *http.Request) error {
	return s.summary(w, r, func(org string) (insights.Scope, error) {
		uid, err := insights.ParseUserID(r.PathValue("user_id"))
		return insights.Scope{Org: org, UserID: uid}, err
	})
}

func (s *Server) handleSummaryStatsByActor(w http.ResponseWriter, r *http.Request) error {
	return s.summary(w, r, func(org string) (insights.Scope, error) {
		a, err := insights.ParseActor(r.PathValue("actor_type"), r.PathValue("actor_id"))
		return insights.Scope{Org: org, Actor: a}, err
	})
}

func (s *Server) summary(w http.ResponseWriter, r *http.Request, scope func(org string) (insights.Scope, error)) error {
	org, p, err := s.insightsParams(r, insights.EndpointSummary)
	if err != nil {
		return err
	}
	sc, err := scope(org)
	if err != nil {
		return err
	}
	res, err := s.Insights.Summary(r.Context(), sc, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) handleTimeStats(w http.ResponseWriter, r *http.Request) error {
	return s.timeStats(w, r, func(org string) (insights.Scope, error) { return insights.Scope{Org: org}, nil })
}

func (s *Server) handleTimeStatsByUser(w http.ResponseWriter, r *http.Request) error {
	return s.timeStats(w, r, func(org string) (insights.Scope, error) {
		uid, err := insights.ParseUserID(r.PathValue("user_id"))
		return insights.Scope{Org: org, UserID: uid}, err
	})
}

func (s *Server) handleTimeStatsByActor(w http.ResponseWriter, r *http.Request) error {
	return s.timeStats(w, r, func(org string) (insights.Scope, error) {
		a, err := insights.ParseActor(r.PathValue("actor_type"), r.PathValue("actor_id"))
		return insights.Scope{Org: org, Actor: a}, err
	})
}

func (s *Server) timeStats(w http.ResponseWriter, r *http.Request, scope func(org string) (insights.Scope, error)) error {
	org, p, err := s.insightsParams(r, insights.EndpointTime)
	if err != nil {
		return err
	}
	sc, err := scope(org)
	if err != nil {
		return err
	}
	res, err := s.Insights.TimeSeries(r.Context(), sc, p)
	if err != nil {
		return err
	}
	writeTimeSeries(w, &res)
	return nil
}

// seriesBuffers recycles the buffers time-stats answers are written into:
// a 30-day series in five-minute buckets is about 800 KB of JSON.
var seriesBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledSeriesBuffer bounds the buffers kept for reuse (a series of
// 43,200 one-minute buckets is about 4 MB; those are allocated each time).
const maxPooledSeriesBuffer = 2 << 20

// writeTimeSeries writes a series as encoding/json writes the equivalent
// []insights.TimeStat (TestTimeSeriesEncodingMatchesEncodingJSON), in one
// Write so the pipeline's response buffer grows once.
func writeTimeSeries(w http.ResponseWriter, series *insights.Series) {
	bp := seriesBuffers.Get().(*[]byte)
	b := appendTimeSeries((*bp)[:0], series)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	if cap(b) <= maxPooledSeriesBuffer {
		*bp = b
		seriesBuffers.Put(bp)
	}
}

// timeStatBytes is an upper bound of the JSON of one bucket whose counts
// have at most 8 digits; longer counts only make the buffer grow.
const timeStatBytes = len(`{"timestamp":"","total_request_count":,"rate_limited_request_count":},`) + insights.TimestampLen + 2*8

// appendTimeSeries appends the JSON of a series (and a newline, as
// writeJSON ends every body): the bytes json.Marshal writes for
// series.Stats(). Timestamps hold only digits, '-', ':', 'T', 'Z' and '+',
// which JSON strings carry unescaped.
func appendTimeSeries(b []byte, series *insights.Series) []byte {
	b = slices.Grow(b, 3+timeStatBytes*len(series.Counts))
	b = append(b, '[')
	for i, c := range series.Counts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"timestamp":"`...)
		b = insights.AppendTimestamp(b, series.Timestamp(i))
		b = append(b, `","total_request_count":`...)
		b = strconv.AppendInt(b, c.Total, 10)
		b = append(b, `,"rate_limited_request_count":`...)
		b = strconv.AppendInt(b, c.RateLimited, 10)
		b = append(b, '}')
	}
	return append(b, ']', '\n')
}

func writePage[T any](w http.ResponseWriter, r *http.Request, p *insights.Params, pg insights.Page[T]) {
	setLink(w, r, usage.Page{Number: p.Page, PerPage: p.PerPage}, pg.Total)
	writeJSON(w, http.StatusOK, pg.Items)
}

func (s *Server) handleSubjectStats(w http.ResponseWriter, r *http.Request) error {
	org, p, err := s.insightsParams(r, insights.EndpointSubjects)
	if err != nil {
		return err
	}
	pg, err := s.Insights.SubjectStats(r.Context(), org, p)
	if err != nil {
		return err
	}
	writePage(w, r, p, pg)
	return nil
}

func (s *Server) handleUserStats(w http.ResponseWriter, r *http.Request) error {
	org, p, err := s.insightsParams(r, insights.EndpointUserStats)
	if err != nil {
		return err
	}
	uid, err := insights.ParseUserID(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	pg, err := s.Insights.UserStats(r.Context(), org, uid, p)
	if err != nil {
		return err
	}
	writePage(w, r, p, pg)
	return nil
}

func (s *Server) handleRouteStats(w http.ResponseWriter, r *http.Request) error {
	org, p, err := s.insightsParams(r, insights.EndpointRoutes)
	if err != nil {
		return err
	}
	a, err := insights.ParseActor(r.PathValue("actor_type"), r.PathValue("actor_id"))
	if err != nil {
		return err
	}
	pg, err := s.Insights.RouteStats(r.Context(), org, a, p)
	if err != nil {
		return err
	}
	writePage(w, r, p, pg)
	return nil
}

// authorizeIngest allows a classic token with the ghusage:ingest scope, or
// a fine-grained or installation token with ghusage_ingest=write.
func authorizeIngest(a *usage.Actor) error {
	if !a.Authenticated() {
		return usage.ErrRequiresAuthentication
	}
	switch a.Type {
	case usage.ActorClassicPAT, usage.ActorOAuthApp:
		if usage.HasScope(a.Token.Scopes, IngestScope) {
			return nil
		}
		return &usage.Error{Kind: usage.KindForbidden, AcceptedScopes: []string{IngestScope},
			Message: "Ingesting request events requires the " + IngestScope + " scope"}
	}
	if usage.HasPermission(a.Token.Permissions, "ghusage_ingest", "write") {
		return nil
	}
	return usage.Errorf(usage.KindForbidden, "Ingesting request events requires the ghusage_ingest permission (write)")
}

// handleIngestAPIRequests records a batch of request events: NDJSON, one
// event per line, gzip-compressed or not. The batch is accepted whole or
// rejected whole (422 naming each bad line and field), and the answer is
// sent once it is durable. Events already recorded (by id) are skipped, so
// a client may always retry a batch it got no answer for.
// Like every ingest batch, it is decoded once admitted (admitIngest):
// 503 with Retry-After, nothing recorded, when the server is too busy.
func (s *Server) handleIngestAPIRequests(w http.ResponseWriter, r *http.Request) error {
	if err := authorizeIngest(usage.ActorFrom(r.Context())); err != nil {
		return err
	}
	if s.Insights == nil {
		return usage.Errorf(usage.KindNotFound, "API insights are not enabled on this server")
	}
	body, release, err := s.admitIngest(r, IngestMaxBodyBytes)
	if err != nil {
		return err
	}
	defer release()
	events, err := s.Insights.DecodeAll(r.Context(), body, IngestMaxEvents)
	if err != nil {
		return err
	}
	res, err := s.Insights.Ingest(r.Context(), events)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
