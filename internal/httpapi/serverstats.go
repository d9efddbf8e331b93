package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/usage"
)

// ServerStatsIngestPath is where GHES server-statistics documents are
// uploaded (doc/server-statistics.md).
const ServerStatsIngestPath = "/ghusage/v1/ingest/server-statistics"

// handleServerStatistics answers GET /enterprise-installation/{enterprise_or_org}/server-statistics:
// the account's daily snapshots within date_start..date_end (inclusive
// dates, at most 365 days, by default the last 365), ascending.
func (s *Server) handleServerStatistics(w http.ResponseWriter, r *http.Request) error {
	if s.ServerStats == nil {
		return usage.ErrNotFound
	}
	acct, err := serverstats.ResolveAccount(r.Context(), s.Store, r.PathValue("enterprise_or_org"))
	if err != nil {
		return err
	}
	if err := acct.Authorize(usage.ActorFrom(r.Context())); err != nil {
		return err
	}
	win, err := serverstats.ParseWindow(r.URL.Query(), s.Now())
	if err != nil {
		return err
	}
	items, err := s.ServerStats.History(r.Context(), acct.Login(), win)
	if err != nil {
		return err
	}
	writeRawArray(w, items)
	return nil
}

// writeRawArray writes stored JSON documents as one JSON array, in one
// Write: the bytes writeJSON writes for the decoded documents.
func writeRawArray(w http.ResponseWriter, items []json.RawMessage) {
	n := 3
	for _, it := range items {
		n += len(it) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	b = append(b, ']', '\n')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// enterpriseStats answers GET /enterprise/stats/{typ} for site
// administrators: the latest snapshot of each server summed over servers,
// or one server's with ?server_id= (a ghusage extension).
func (s *Server) enterpriseStats(typ string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := serverstats.AuthorizeSiteAdmin(usage.ActorFrom(r.Context())); err != nil {
			return err
		}
		if s.ServerStats == nil {
			return usage.ErrNotFound
		}
		cur, err := s.ServerStats.Current(r.Context(), r.URL.Query().Get("server_id"))
		if err != nil {
			return err
		}
		body, ok := cur.Section(typ)
		if !ok {
			return usage.ErrNotFound
		}
		writeJSON(w, http.StatusOK, body)
		return nil
	}
}

// handleIngestServerStatistics stores uploaded server-statistics documents
// (an item, an array of items, or several; gzip accepted) for the servers
// of ?account=, all or none, once durable. A snapshot replaces the one of
// the same server and day, so an upload may always be sent again.
// Like every ingest batch, it is decoded once admitted (admitIngest):
// 503 with Retry-After, nothing recorded, when the server is too busy.
func (s *Server) handleIngestServerStatistics(w http.ResponseWriter, r *http.Request) error {
	if err := authorizeStatsIngest(usage.ActorFrom(r.Context())); err != nil {
		return err
	}
	if s.ServerStats == nil {
		return usage.Errorf(usage.KindNotFound, "Server statistics are not enabled on this server")
	}
	body, release, err := s.admitIngest(r, serverstats.MaxUploadBytes)
	if err != nil {
		return err
	}
	defer release()
	snaps, err := serverstats.DecodeUpload(body, s.Now())
	if err != nil {
		return err
	}
	res, err := s.ServerStats.Ingest(r.Context(), r.URL.Query().Get("account"), snaps)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// authorizeStatsIngest is the ingestion rule of doc/architecture.md: a
// classic token with ghusage:ingest, or ghusage_ingest=write.
func authorizeStatsIngest(a *usage.Actor) error {
	if !a.Authenticated() {
		return usage.ErrRequiresAuthentication
	}
	switch a.Type {
	case usage.ActorClassicPAT, usage.ActorOAuthApp:
		if usage.HasScope(a.Token.Scopes, IngestScope) {
			return nil
		}
		return &usage.Error{Kind: usage.KindForbidden, AcceptedScopes: []string{IngestScope},
			Message: "Uploading server statistics requires the " + IngestScope + " scope"}
	}
	if usage.HasPermission(a.Token.Permissions, "ghusage_ingest", "write") {
		return nil
	}
	return usage.Errorf(usage.KindForbidden, "Uploading server statistics requires the ghusage_ingest permission (write)")
}
