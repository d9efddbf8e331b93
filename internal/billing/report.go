package billing

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Report types of usage report exports.
const (
	ReportDetailed       = "detailed"
	ReportSummarized     = "summarized"
	ReportPremiumRequest = "premium_request"
	ReportAICredit       = "ai_credit"
)

// Report export states.
const (
	ReportProcessing = "processing"
	ReportCompleted  = "completed"
	ReportFailed     = "failed"
)

// Longest ranges of one export, as GitHub limits them.
const (
	MaxSummarizedDays = 366
	MaxDetailedDays   = 31
	MaxPremiumDays    = 45
)

// ReportExport is a usage report export of an enterprise: requested, then
// written by the billing-reports job into Files (blob names).
type ReportExport struct {
	ID         string
	Enterprise string
	Type       string
	Start, End Date // inclusive
	Status     string
	Files      []string
	Actor      string
	CreatedAt  time.Time
	Error      string // why it failed; not shown to callers
}

// ReportStore keeps report exports; backends implement it beside Store.
type ReportStore interface {
	// BillingCreateReport stores a new export.
	BillingCreateReport(ctx context.Context, r *ReportExport) error
	// BillingReports lists an enterprise's exports, newest first.
	BillingReports(ctx context.Context, enterprise string) ([]ReportExport, error)
	// BillingReport returns one export, or an error of usage.KindNotFound.
	BillingReport(ctx context.Context, enterprise, id string) (*ReportExport, error)
	// BillingPendingReports returns up to limit exports still processing, oldest first.
	BillingPendingReports(ctx context.Context, limit int) ([]ReportExport, error)
	// BillingFinishReport records an export's outcome: its status, files and error.
	BillingFinishReport(ctx context.Context, id, status string, files []string, errMsg string) error
}

// FileStore is where exports are written (blob.Store has this method).
type FileStore interface {
	Put(ctx context.Context, name, contentType string, r io.Reader) (int64, error)
}

// NewReportRequest validates an export request as the create endpoint
// takes it (end "" means today UTC) and returns the export to store.
func NewReportRequest(enterprise, typ, start, end, actor string, now time.Time) (*ReportExport, error) {
	switch typ {
	case ReportDetailed, ReportSummarized, ReportPremiumRequest, ReportAICredit:
	case "":
		return nil, &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed",
			Fields: []usage.FieldError{{Resource: "UsageReportExport", Field: "report_type", Code: "missing_field"}}}
	default:
		return nil, usage.Invalid("UsageReportExport", "report_type", "report_type must be detailed, summarized, premium_request or ai_credit")
	}
	if start == "" {
		return nil, &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed",
			Fields: []usage.FieldError{{Resource: "UsageReportExport", Field: "start_date", Code: "missing_field"}}}
	}
	s, err := ParseDate(start)
	if err != nil {
		return nil, usage.Invalid("UsageReportExport", "start_date", "start_date "+err.Error())
	}
	today := DateOf(now)
	e := today
	if end != "" {
		if e, err = ParseDate(end); err != nil {
			return nil, usage.Invalid("UsageReportExport", "end_date", "end_date "+err.Error())
		}
	}
	if e.Before(s) {
		return nil, usage.Invalid("UsageReportExport", "end_date", "end_date is before start_date")
	}
	if today.Before(s) {
		return nil, usage.Invalid("UsageReportExport", "start_date", "start_date is in the future")
	}
	days := int(e.Time().Sub(s.Time())/(24*time.Hour)) + 1
	limit := map[string]int{ReportSummarized: MaxSummarizedDays, ReportDetailed: MaxDetailedDays,
		ReportPremiumRequest: MaxPremiumDays, ReportAICredit: MaxPremiumDays}[typ]
	if days > limit {
		return nil, usage.Invalid("UsageReportExport", "end_date", fmt.Sprintf("a %s report covers at most %d days", typ, limit))
	}
	return &ReportExport{ID: newUUID(), Enterprise: enterprise, Type: typ, Start: s, End: e, Status: ReportProcessing,
		Actor: actor, CreatedAt: now.UTC().Truncate(time.Second)}, nil
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ReportFileName is the blob name of an export's CSV.
func ReportFileName(r *ReportExport) string {
	return fmt.Sprintf("billing/%s/reports/%s/%s-%s-%s.csv", r.Enterprise, r.ID, r.Type, r.Start, r.End)
}

// RunReports writes the CSV of every export still processing (up to
// limit) into files and records the outcome; the billing-reports job
// runs it once across replicas. A run cut short leaves exports
// processing, and the next run writes them again (the file is replaced
// whole).
func (s *Service) RunReports(ctx context.Context, rs ReportStore, files FileStore, limit int) (int, error) {
	pending, err := rs.BillingPendingReports(ctx, limit)
	if err != nil {
		return 0, err
	}
	done := 0
	for i := range pending {
		r := &pending[i]
		name := ReportFileName(r)
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(s.WriteReportCSV(ctx, r, pw)) }()
		_, err := files.Put(ctx, name, "text/csv; charset=utf-8", pr)
		pr.Close()
		if ctx.Err() != nil {
			return done, ctx.Err()
		}
		if err != nil {
			if ferr := rs.BillingFinishReport(ctx, r.ID, ReportFailed, nil, err.Error()); ferr != nil {
				return done, ferr
			}
			continue
		}
		if err := rs.BillingFinishReport(ctx, r.ID, ReportCompleted, []string{name}, ""); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

// csvKey groups report lines.
type csvKey struct {
	date, sku, org, repo, cc, user, workflow, model string
	price                                           Price
}

type csvSums struct {
	qty, disc Quantity
}

// WriteReportCSV writes an export's CSV (doc/billing.md has the columns):
// summarized sums quantity and amounts by date, SKU, organization,
// repository and cost center; detailed also by user and workflow path,
// from the ledger's records (a day's discount goes to its records in time
// order); premium_request and ai_credit by date, user, SKU, model,
// organization and cost center. Amounts are exact decimals; each line's
// gross is its quantity times the applied cost, net is gross − discount.
func (s *Service) WriteReportCSV(ctx context.Context, r *ReportExport, w io.Writer) error {
	acct := Account{KindEnterprise, r.Enterprise}
	q := Query{Account: acct, Level: LevelDay, From: r.Start.Time(), To: r.End.AddDays(1).Time()}
	rows, err := s.Store.BillingRows(ctx, q)
	if err != nil {
		return err
	}
	priced, err := s.PriceLevel(ctx, acct, rows, LevelDay)
	if err != nil {
		return err
	}
	var ix *AttributionIndex // nil: no cost centers
	if s.Attribution != nil {
		if priced, ix, err = s.attribute(ctx, s.Attribution, r.Enterprise, LevelDay, priced); err != nil {
			return err
		}
	}
	sums := map[csvKey]*csvSums{}
	add := func(k csvKey, qty, disc Quantity) {
		v := sums[k]
		if v == nil {
			v = &csvSums{}
			sums[k] = v
		}
		v.qty += qty
		v.disc += disc
	}
	var header []string
	switch r.Type {
	case ReportSummarized:
		header = []string{"date", "product", "sku", "quantity", "unit_type", "applied_cost_per_quantity", "gross_amount", "discount_amount", "net_amount", "organization", "repository", "cost_center_name"}
		for _, p := range priced {
			add(csvKey{date: p.Bucket.Format(time.DateOnly), sku: p.SKU, org: p.Organization, repo: p.Repository, cc: p.CostCenter.Name, price: p.Price}, p.Quantity, p.DiscountQuantity)
		}
	case ReportPremiumRequest, ReportAICredit:
		header = []string{"date", "username", "product", "sku", "model", "quantity", "unit_type", "applied_cost_per_quantity", "gross_amount", "discount_amount", "net_amount", "exceeds_quota", "total_monthly_quota", "organization", "cost_center_name"}
		ep := EndpointPremiumRequest
		if r.Type == ReportAICredit {
			ep = EndpointAICredit
		}
		for _, p := range priced {
			if modelUnit(ep, p.Unit) {
				add(csvKey{date: p.Bucket.Format(time.DateOnly), sku: p.SKU, org: p.Organization, user: p.Username, model: p.Model, cc: p.CostCenter.Name, price: p.Price}, p.Quantity, p.DiscountQuantity)
			}
		}
	case ReportDetailed:
		header = []string{"date", "product", "sku", "quantity", "unit_type", "applied_cost_per_quantity", "gross_amount", "discount_amount", "net_amount", "username", "organization", "repository", "workflow_path", "cost_center_name"}
		// A row's discount goes to its records in time order; each record
		// to the cost center its resource was in at the record's time.
		left := make(map[Row]Quantity, len(priced))
		for _, p := range priced {
			k := p.Row
			k.Quantity = 0
			left[k] += p.DiscountQuantity
		}
		err := s.Store.BillingRecords(ctx, q, func(rec *Record) error {
			k := RowOf(rec, LevelDay)
			k.Quantity = 0
			disc, ok := left[k]
			if !ok {
				return nil // a SKU unknown to the catalogue, or a row that changed since: not billed
			}
			d := min(rec.Quantity, disc)
			left[k] = disc - d
			sku := s.Catalog.SKU(rec.SKU)
			if sku == nil {
				return nil // priced as not billed
			}
			var cc string
			if ix != nil {
				cc = ix.Of(sku.Product, k.Organization, k.Repository, k.Username, rec.Timestamp).Name
			}
			add(csvKey{date: k.Bucket.Format(time.DateOnly), sku: rec.SKU, org: rec.Organization, repo: rec.Repository,
				user: rec.Username, workflow: rec.WorkflowPath, cc: cc, price: sku.PriceOn(DateOf(rec.Timestamp))}, rec.Quantity, d)
			return nil
		})
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown report type %q", r.Type)
	}
	keys := make([]csvKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b csvKey) int {
		return cmp.Or(strings.Compare(a.date, b.date), strings.Compare(a.sku, b.sku), strings.Compare(a.org, b.org),
			strings.Compare(a.repo, b.repo), strings.Compare(a.user, b.user), strings.Compare(a.model, b.model),
			strings.Compare(a.workflow, b.workflow), strings.Compare(a.cc, b.cc), cmp.Compare(a.price, b.price))
	})
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, k := range keys {
		v := sums[k]
		sku := s.Catalog.SKU(k.sku)
		product, unit := "", ""
		if sku != nil {
			product, unit = sku.Product, sku.Unit
		}
		gross, disc := Mul(v.qty, k.price), Mul(v.disc, k.price)
		amounts := []string{v.qty.String(), unit, k.price.String(), gross.String(), disc.String(), gross.Sub(disc).String()}
		var line []string
		switch r.Type {
		case ReportSummarized:
			line = append(append([]string{k.date, product, k.sku}, amounts...), k.org, k.repo, k.cc)
		case ReportDetailed:
			line = append(append([]string{k.date, product, k.sku}, amounts...), k.user, k.org, k.repo, k.workflow, k.cc)
		default:
			line = append(append([]string{k.date, k.user, product, k.sku, k.model}, amounts...), "false", "0", k.org, k.cc)
		}
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
