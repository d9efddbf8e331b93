package httpapi

import (
	"errors"
	"net/http"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/usage"
)

// CopilotIngestPath is where per-user daily Copilot activity is posted
// (NDJSON, optionally gzip-compressed; doc/copilot.md).
const CopilotIngestPath = "/ghusage/v1/ingest/copilot-usage"

// Access of the report routes (seed 003): enterprise owners with
// manage_billing:copilot or read:enterprise, or a GitHub App token with
// "Enterprise Copilot metrics" (fine-grained PATs are refused, as on
// GitHub); organization owners with read:org, or a fine-grained token with
// "Organization Copilot metrics".
var (
	copilotEnterpriseAccess = usage.Access{Scopes: []string{"manage_billing:copilot", "read:enterprise"},
		Permission: "enterprise_copilot_metrics", Level: "read", Role: usage.RoleOwner}
	copilotOrgAccess = usage.Access{Scopes: []string{"read:org"},
		Permission: "organization_copilot_metrics", Level: "read", Role: usage.RoleAdmin}
)

var errCopilotDisabled = usage.Errorf(usage.KindNotFound, "Copilot usage metrics are not enabled on this server")

// handleIngestCopilotUsage records a batch of per-user daily activity,
// whole or not at all (422 naming each bad line and field), answering once
// it is durable. A line for a user and day already stored replaces it.
// Like every ingest batch, it is decoded once admitted (admitIngest):
// 503 with Retry-After, nothing recorded, when the server is too busy.
func (s *Server) handleIngestCopilotUsage(w http.ResponseWriter, r *http.Request) error {
	if err := authorizeIngest(usage.ActorFrom(r.Context())); err != nil {
		return err
	}
	if s.Copilot == nil {
		return errCopilotDisabled
	}
	body, release, err := s.admitIngest(r, IngestMaxBodyBytes)
	if err != nil {
		return err
	}
	defer release()
	recs, err := copilot.DecodeAll(body, s.Copilot.Today())
	if err != nil {
		return err
	}
	res, err := s.Copilot.Ingest(r.Context(), recs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// copilotEnterprise resolves {enterprise} and checks access and policy.
func (s *Server) copilotEnterprise(r *http.Request) (*usage.Enterprise, error) {
	if s.Copilot == nil {
		return nil, errCopilotDisabled
	}
	ent, err := s.Store.EnterpriseBySlug(r.Context(), r.PathValue("enterprise"))
	if err != nil {
		if usage.IsNotFound(err) {
			return nil, usage.ErrNotFound
		}
		return nil, err
	}
	a := usage.ActorFrom(r.Context())
	if err := usage.AuthorizeEnterprise(a, ent, copilotEnterpriseAccess); err != nil {
		return nil, err
	}
	if a.Type == usage.ActorFineGrainedPAT {
		return nil, usage.Errorf(usage.KindForbidden, "Resource not accessible by personal access token")
	}
	return ent, s.Copilot.CheckEnterprisePolicy(r.Context(), ent)
}

// copilotOrg resolves {org} and checks access and policy.
func (s *Server) copilotOrg(r *http.Request) (*usage.Organization, error) {
	if s.Copilot == nil {
		return nil, errCopilotDisabled
	}
	org, err := s.Store.OrganizationByLogin(r.Context(), r.PathValue("org"))
	if err != nil {
		if usage.IsNotFound(err) {
			return nil, usage.ErrNotFound
		}
		return nil, err
	}
	if err := usage.AuthorizeOrg(usage.ActorFrom(r.Context()), org, copilotOrgAccess); err != nil {
		return nil, err
	}
	return org, s.Copilot.CheckOrgPolicy(r.Context(), org)
}

// oneDayReport is the envelope of the 1-day routes.
type oneDayReport struct {
	DownloadLinks []string `json:"download_links"`
	ReportDay     string   `json:"report_day"`
}

// windowReport is the envelope of the 28-day routes.
type windowReport struct {
	DownloadLinks  []string `json:"download_links"`
	ReportStartDay string   `json:"report_start_day"`
	ReportEndDay   string   `json:"report_end_day"`
}

func (s *Server) links(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i], _ = s.Signer.URL(f, 0)
	}
	return out
}

// errNoReport is the 404 of a day or window without a report.
var errNoReport = usage.Errorf(usage.KindNotFound, "No Copilot usage metrics report is available for that day")

// copilotOneDay answers a 1-day route of scope: 200 with signed links, or,
// for a day without data, 204 where GitHub documents it (emptyIs204) and
// 404 elsewhere.
func (s *Server) copilotOneDay(w http.ResponseWriter, r *http.Request, sc copilot.Scope, kind string, emptyIs204 bool) error {
	q := r.URL.Query()
	d, err := s.Copilot.ParseReportDay(q.Get("day"), q.Has("day"))
	if err != nil {
		return err
	}
	rep, err := s.Copilot.Report(r.Context(), sc, kind, d)
	if err != nil && !usage.IsNotFound(err) {
		return err
	}
	if rep == nil || rep.Rows == 0 || len(rep.Files) == 0 || s.Signer == nil {
		if emptyIs204 {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		var ue *usage.Error
		if errors.As(err, &ue) && ue.Message != usage.ErrNotFound.Message {
			return err // beyond the retention
		}
		return errNoReport
	}
	writeJSON(w, http.StatusOK, oneDayReport{DownloadLinks: s.links(rep.Files), ReportDay: d.String()})
	return nil
}

func (s *Server) copilotLatest(w http.ResponseWriter, r *http.Request, sc copilot.Scope, kind string) error {
	rep, err := s.Copilot.Latest(r.Context(), sc, kind)
	if usage.IsNotFound(err) || err == nil && (len(rep.Files) == 0 || s.Signer == nil) {
		return errNoReport
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, windowReport{DownloadLinks: s.links(rep.Files),
		ReportStartDay: copilot.WindowStart(rep.Day).String(), ReportEndDay: rep.Day.String()})
	return nil
}

func (s *Server) enterpriseReport(kind string, latest bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ent, err := s.copilotEnterprise(r)
		if err != nil {
			return err
		}
		sc := copilot.Scope{Enterprise: true, ID: ent.ID}
		if latest {
			return s.copilotLatest(w, r, sc, kind)
		}
		return s.copilotOneDay(w, r, sc, kind, kind == copilot.KindRepos1)
	}
}

func (s *Server) orgReport(kind string, latest bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		org, err := s.copilotOrg(r)
		if err != nil {
			return err
		}
		sc := copilot.Scope{ID: org.ID}
		if latest {
			return s.copilotLatest(w, r, sc, kind)
		}
		return s.copilotOneDay(w, r, sc, kind, true)
	}
}
