package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

// reportExport is a usage report export as the API writes it.
type reportExport struct {
	ID           string   `json:"id"`
	ReportType   string   `json:"report_type"`
	StartDate    string   `json:"start_date"`
	EndDate      string   `json:"end_date"`
	Status       string   `json:"status"`
	DownloadURLs []string `json:"download_urls,omitempty"`
	CreatedAt    string   `json:"created_at"`
	Actor        string   `json:"actor,omitempty"`
}

// reportStore is the store's report exports, or a 404 when the store
// keeps none or files cannot be served.
func (s *Server) reportStore() (billing.ReportStore, error) {
	rs, ok := s.Store.(billing.ReportStore)
	if !ok || s.Billing == nil || s.Blobs == nil || s.Signer == nil {
		return nil, usage.Errorf(usage.KindNotFound, "Usage report exports are not enabled on this server")
	}
	return rs, nil
}

// wire writes an export with fresh signed download links when completed.
func (s *Server) wireReport(r *billing.ReportExport) reportExport {
	out := reportExport{ID: r.ID, ReportType: r.Type, StartDate: r.Start.String(), EndDate: r.End.String(),
		Status: r.Status, CreatedAt: r.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), Actor: r.Actor}
	if r.Status == billing.ReportCompleted {
		out.DownloadURLs = []string{}
		for _, f := range r.Files {
			u, _ := s.Signer.URL(f, 0)
			out.DownloadURLs = append(out.DownloadURLs, u)
		}
	}
	return out
}

// handleCreateReport starts a usage report export: 202 with the export,
// processing; the billing-reports job writes it (once across replicas).
// send_email is accepted and ignored: ghusage sends no email.
func (s *Server) handleCreateReport(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.billingEnterprise(r, billingEnterpriseUsage, true, false)
	if err != nil {
		return err
	}
	rs, err := s.reportStore()
	if err != nil {
		return err
	}
	var body struct {
		ReportType string `json:"report_type"`
		StartDate  string `json:"start_date"`
		EndDate    string `json:"end_date"`
		SendEmail  *bool  `json:"send_email"`
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&body); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return usage.Invalid("UsageReportExport", te.Field, te.Field+" must be a JSON "+te.Type.String())
		}
		if errors.Is(err, io.EOF) {
			return usage.Errorf(usage.KindBadRequest, "Problems parsing JSON: the body is empty")
		}
		return &usage.Error{Kind: usage.KindBadRequest, Message: "Problems parsing JSON", Err: err}
	}
	a := usage.ActorFrom(r.Context())
	actor := a.Name
	if a.User != nil {
		actor = a.User.Login
	}
	exp, err := billing.NewReportRequest(sc.Account.Login, body.ReportType, body.StartDate, body.EndDate, actor, s.Now())
	if err != nil {
		return err
	}
	if err := rs.BillingCreateReport(r.Context(), exp); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, s.wireReport(exp))
	return nil
}

func (s *Server) handleListReports(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.billingEnterprise(r, billingEnterpriseUsage, true, false)
	if err != nil {
		return err
	}
	rs, err := s.reportStore()
	if err != nil {
		return err
	}
	list, err := rs.BillingReports(r.Context(), sc.Account.Login)
	if err != nil {
		return err
	}
	out := struct {
		UsageReportExports []reportExport `json:"usage_report_exports"`
	}{[]reportExport{}}
	for i := range list {
		out.UsageReportExports = append(out.UsageReportExports, s.wireReport(&list[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleGetReport(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.billingEnterprise(r, billingEnterpriseUsage, true, false)
	if err != nil {
		return err
	}
	rs, err := s.reportStore()
	if err != nil {
		return err
	}
	exp, err := rs.BillingReport(r.Context(), sc.Account.Login, r.PathValue("report_id"))
	if err != nil {
		if usage.IsNotFound(err) {
			return usage.ErrNotFound
		}
		return err
	}
	writeJSON(w, http.StatusOK, s.wireReport(exp))
	return nil
}
