package httpapi_test

import (
	"fmt"
	"testing"
	"time"
)

// The organization variant of usage has no cost_center_id: it reports all
// of the organization's usage, including usage a cost center holds (the
// enterprise variant's default, "usage with no cost center", is its own).
func TestOrganizationUsageIgnoresCostCenters(t *testing.T) {
	doc := loadContract(t)
	for _, e := range ccEnvs(t) {
		t.Run(e.name, func(t *testing.T) {
			cc := e.call(t, doc, "billing/create-cost-center", "POST", ccBase, map[string]any{"name": "Web"}, 200)
			e.call(t, doc, "billing/add-resource-to-cost-center", "POST", ccBase+"/"+cc["id"].(string)+"/resource", map[string]any{"organizations": []string{"acme-web"}}, 200)
			at := time.Now().UTC().Truncate(time.Hour).Add(time.Hour).Add(10 * time.Second)
			line := fmt.Sprintf(`{"id":"org-usage-1","timestamp":%q,"product":"actions","sku":"actions_linux_4_core","quantity":7,"unit":"minutes","enterprise":"acme","organization":"acme-web","repository":"acme-web/app"}`+"\n", at.Format(time.RFC3339))
			if resp, body := e.do(t, "POST", "/ghusage/v1/ingest/billing-usage", e.Token, line); resp.StatusCode != 200 {
				t.Fatalf("ingest: %d %s", resp.StatusCode, body)
			}
			period := fmt.Sprintf("year=%d&month=%d&day=%d&hour=%d", at.Year(), int(at.Month()), at.Day(), at.Hour())
			quantity := func(m map[string]any) (n float64) {
				for _, it := range m["usageItems"].([]any) {
					n += it.(map[string]any)["quantity"].(float64)
				}
				return n
			}
			org := e.call(t, doc, "billing/get-github-billing-usage-report-org", "GET", "/organizations/acme-web/settings/billing/usage?"+period, nil, 200)
			if got := quantity(org); got != 7 {
				t.Errorf("organization usage: %v minutes, want 7 (its cost center's usage included)", got)
			}
			ent := e.call(t, doc, "billing/get-github-billing-usage-report-ghe", "GET", "/enterprises/acme/settings/billing/usage?"+period, nil, 200)
			if got := quantity(ent); got != 0 {
				t.Errorf("enterprise usage by default: %v minutes, want 0 (only usage with no cost center)", got)
			}
		})
	}
}
