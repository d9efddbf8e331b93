package httpapi_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/testenv"
)

// statusSchema returns an operation's application/json schema for status.
func statusSchema(t *testing.T, doc *openapi3.T, operationID, status string) *openapi3.Schema {
	t.Helper()
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID == operationID {
				return op.Responses.Value(status).Value.Content.Get("application/json").Schema.Value
			}
		}
	}
	t.Fatalf("operation %s is not in the contract", operationID)
	return nil
}

func validate(t *testing.T, s *openapi3.Schema, body string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	if err := s.VisitJSON(v); err != nil {
		t.Fatalf("does not match the contract: %v\n%s", err, body)
	}
	return v
}

// download fetches a signed link from the test server (links are built on
// the configured public URL; the test server listens elsewhere).
func download(t *testing.T, env *testenv.Env, link string) (*http.Response, string) {
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return env.Get(t, u.RequestURI(), "")
}

// csvTotals sums gross and net amounts of a report CSV by SKU, exactly.
func csvTotals(t *testing.T, body string) (map[string][2]*big.Rat, []string) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("CSV: %v (%d lines)", err, len(recs))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	out := map[string][2]*big.Rat{}
	for _, r := range recs[1:] {
		sku := r[col["sku"]]
		if out[sku][0] == nil {
			out[sku] = [2]*big.Rat{new(big.Rat), new(big.Rat)}
		}
		q, _ := new(big.Rat).SetString(r[col["quantity"]])
		p, _ := new(big.Rat).SetString(r[col["applied_cost_per_quantity"]])
		g, _ := new(big.Rat).SetString(r[col["gross_amount"]])
		d, _ := new(big.Rat).SetString(r[col["discount_amount"]])
		n, _ := new(big.Rat).SetString(r[col["net_amount"]])
		if new(big.Rat).Mul(q, p).Cmp(g) != 0 || new(big.Rat).Sub(g, d).Cmp(n) != 0 {
			t.Fatalf("CSV line %v: gross ≠ quantity × cost or net ≠ gross − discount", r)
		}
		out[sku][0].Add(out[sku][0], g)
		out[sku][1].Add(out[sku][1], n)
	}
	return out, recs[0]
}

func TestBillingReportExports(t *testing.T) {
	doc := loadContract(t)
	billingEnvs(t, func(t *testing.T, env *testenv.Env) { testBillingReportExports(t, doc, env) })
}

func testBillingReportExports(t *testing.T, doc *openapi3.T, env *testenv.Env) {
	rs := env.Server.Store.(billing.ReportStore)
	now := time.Now().UTC()
	ingestBillingTestData(t, env, now)
	prevEnd := billing.DateOf(now).MonthStart().AddDays(-1)
	prevStart := prevEnd.MonthStart()
	create := func(typ string) string {
		body := fmt.Sprintf(`{"report_type":%q,"start_date":%q,"end_date":%q,"send_email":false}`, typ, prevStart, prevEnd)
		resp, out := env.Do(t, http.MethodPost, "/enterprises/acme/settings/billing/reports", env.AdminToken, strings.NewReader(body))
		if resp.StatusCode != 202 {
			t.Fatalf("create %s: %d %s", typ, resp.StatusCode, out)
		}
		v := validate(t, statusSchema(t, doc, "billing/create-usage-report-export", "202"), out)
		if v["status"] != "processing" || v["actor"] != "ghusage-admin" {
			t.Fatalf("created export: %s", out)
		}
		return v["id"].(string)
	}
	ids := map[string]string{}
	for _, typ := range []string{billing.ReportSummarized, billing.ReportDetailed, billing.ReportPremiumRequest, billing.ReportAICredit} {
		ids[typ] = create(typ)
	}
	// The job writes them (once; a second run finds nothing to do).
	n, err := env.Server.API.Billing.RunReports(t.Context(), rs, env.Server.API.Blobs, 10)
	if err != nil || n != 4 {
		t.Fatalf("RunReports = %d, %v", n, err)
	}
	if n, _ := env.Server.API.Billing.RunReports(t.Context(), rs, env.Server.API.Blobs, 10); n != 0 {
		t.Fatalf("second run wrote %d exports again", n)
	}
	_, out := env.Get(t, "/enterprises/acme/settings/billing/reports", env.AdminToken)
	list := validate(t, responseSchema(t, doc, "billing/list-usage-report-exports"), out)
	if len(list["usage_report_exports"].([]any)) != 4 {
		t.Fatalf("list: %s", out)
	}
	files := map[string]string{}
	for typ, id := range ids {
		_, out := env.Get(t, "/enterprises/acme/settings/billing/reports/"+id, env.AdminToken)
		v := validate(t, responseSchema(t, doc, "billing/get-usage-report-export"), out)
		links, _ := v["download_urls"].([]any)
		if v["status"] != "completed" || len(links) != 1 {
			t.Fatalf("%s export: %s", typ, out)
		}
		resp, body := download(t, env, links[0].(string))
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("download %s: %d %s", typ, resp.StatusCode, body)
		}
		files[typ] = body
		if resp, _ := download(t, env, strings.Replace(links[0].(string), "signature=", "signature=00", 1)); resp.StatusCode != 403 {
			t.Fatalf("tampered link: %d, want 403", resp.StatusCode)
		}
	}
	// Summarized and detailed agree with usage/summary for the month, SKU by SKU, exactly.
	_, out = env.Get(t, fmt.Sprintf("/enterprises/acme/settings/billing/usage/summary?year=%d&month=%d", prevStart.Time().Year(), int(prevStart.Time().Month())), env.AdminToken)
	var raw struct {
		UsageItems []struct {
			SKU                    string
			GrossAmount, NetAmount json.Number
		} `json:"usageItems"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	dec.Decode(&raw)
	want := map[string][2]*big.Rat{}
	for _, it := range raw.UsageItems {
		if want[it.SKU][0] == nil {
			want[it.SKU] = [2]*big.Rat{new(big.Rat), new(big.Rat)}
		}
		g, _ := new(big.Rat).SetString(it.GrossAmount.String())
		n, _ := new(big.Rat).SetString(it.NetAmount.String())
		want[it.SKU][0].Add(want[it.SKU][0], g)
		want[it.SKU][1].Add(want[it.SKU][1], n)
	}
	for _, typ := range []string{billing.ReportSummarized, billing.ReportDetailed} {
		got, header := csvTotals(t, files[typ])
		if typ == billing.ReportDetailed && strings.Join(header, ",") != "date,product,sku,quantity,unit_type,applied_cost_per_quantity,gross_amount,discount_amount,net_amount,username,organization,repository,workflow_path,cost_center_name" {
			t.Fatalf("detailed header: %v", header)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d SKUs, summary has %d", typ, len(got), len(want))
		}
		for sku, w := range want {
			if got[sku][0] == nil || got[sku][0].Cmp(w[0]) != 0 || got[sku][1].Cmp(w[1]) != 0 {
				t.Fatalf("%s %s: gross/net %v/%v, summary %v/%v", typ, sku, got[sku][0], got[sku][1], w[0], w[1])
			}
		}
	}
	if !strings.HasPrefix(files[billing.ReportPremiumRequest], "date,username,product,sku,model,quantity") || !strings.Contains(files[billing.ReportPremiumRequest], "copilot_premium_request") {
		t.Fatalf("premium request CSV: %.300s", files[billing.ReportPremiumRequest])
	}
	// Bad requests name the field; unknown exports are 404.
	for body, field := range map[string]string{
		`{"report_type":"everything","start_date":"2026-01-01"}`:                         "report_type",
		`{"report_type":"detailed"}`:                                                     "start_date",
		`{"report_type":"detailed","start_date":"2026-01-01","end_date":"2026-03-01"}`:   "end_date",
		`{"report_type":"summarized","start_date":"2026-02-01","end_date":"2026-01-01"}`: "end_date",
		`{"report_type":"summarized","start_date":"01/02/2026"}`:                         "start_date",
		`{"report_type":"summarized","start_date":"2999-01-01","end_date":"2999-01-02"}`: "start_date",
		`{"report_type":7,"start_date":"2026-01-01"}`:                                    "report_type",
	} {
		resp, out := env.Do(t, http.MethodPost, "/enterprises/acme/settings/billing/reports", env.AdminToken, strings.NewReader(body))
		if resp.StatusCode != 422 || !strings.Contains(out, `"field":"`+field+`"`) {
			t.Errorf("POST %s: %d %s, want 422 naming %s", body, resp.StatusCode, out, field)
		}
	}
	if resp, _ := env.Do(t, http.MethodPost, "/enterprises/acme/settings/billing/reports", env.AdminToken, strings.NewReader(`{`)); resp.StatusCode != 400 {
		t.Errorf("malformed JSON: %d, want 400", resp.StatusCode)
	}
	if resp, _ := env.Get(t, "/enterprises/acme/settings/billing/reports/no-such-id", env.AdminToken); resp.StatusCode != 404 {
		t.Errorf("unknown export: %d, want 404", resp.StatusCode)
	}
}
