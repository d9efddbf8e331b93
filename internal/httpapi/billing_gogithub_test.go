package httpapi_test

import (
	"testing"
	"time"

	"github.com/google/go-github/v92/github"

	"github.com/ghusage/ghusage/internal/testenv"
)

// TestGoGitHubBillingMethods calls go-github v92's billing methods for
// these routes against ghusage and checks they decode its answers into
// the numbers the ledger holds.
func TestGoGitHubBillingMethods(t *testing.T) {
	env := testenv.New(t)
	now := time.Now().UTC()
	user := ingestBillingTestData(t, env, now)
	gh, err := github.NewClient(github.WithAuthToken(env.AdminToken), github.WithEnterpriseURLs(env.URL, env.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	prev := now.AddDate(0, 0, -now.Day())
	year, month := prev.Year(), int(prev.Month())

	eu, _, err := gh.Enterprise.GetUsageReport(ctx, "acme", &github.EnterpriseUsageReportOptions{Year: year, Month: month})
	if err != nil || len(eu.UsageItems) == 0 || eu.UsageItems[0].OrganizationName == "" {
		t.Fatalf("Enterprise.GetUsageReport: %v %+v", err, eu)
	}
	es, _, err := gh.Enterprise.GetUsageSummary(ctx, "acme", &github.EnterpriseUsageSummaryOptions{EnterpriseUsageReportOptions: github.EnterpriseUsageReportOptions{Year: year, Month: month}, Product: "actions"})
	if err != nil || es.Enterprise != "acme" || len(es.UsageItems) == 0 || *es.TimePeriod.Month != month {
		t.Fatalf("Enterprise.GetUsageSummary: %v %+v", err, es)
	}
	// The usage items sum to the summary, as float64s decode them (close, not exact).
	var gross float64
	for _, it := range eu.UsageItems {
		if it.Product == "Actions" {
			gross += it.GrossAmount
		}
	}
	var sumGross float64
	for _, it := range es.UsageItems {
		sumGross += it.GrossAmount
	}
	if d := gross - sumGross; d > 1e-6 || d < -1e-6 || gross == 0 {
		t.Fatalf("usage items' Actions gross %v ≠ summary's %v", gross, sumGross)
	}
	ep, _, err := gh.Enterprise.GetPremiumRequestUsageReport(ctx, "acme", &github.EnterprisePremiumRequestUsageReportOptions{EnterpriseUsageReportOptions: github.EnterpriseUsageReportOptions{Year: year, Month: month}, Model: "GPT-5"})
	if err != nil || len(ep.UsageItems) == 0 || ep.UsageItems[0].Model != "GPT-5" {
		t.Fatalf("Enterprise.GetPremiumRequestUsageReport: %v %+v", err, ep)
	}
	ea, _, err := gh.Enterprise.GetAICreditUsage(ctx, "acme", &github.EnterprisePremiumRequestUsageReportOptions{EnterpriseUsageReportOptions: github.EnterpriseUsageReportOptions{Year: year, Month: month}})
	if err != nil || len(ea.UsageItems) == 0 || ea.UsageItems[0].UnitType != "credits" {
		t.Fatalf("Enterprise.GetAICreditUsage: %v %+v", err, ea)
	}

	y, m := &year, &month
	ou, _, err := gh.Billing.GetOrganizationUsageReport(ctx, "acme-web", &github.UsageReportOptions{Year: y, Month: m})
	if err != nil || len(ou.UsageItems) == 0 {
		t.Fatalf("Billing.GetOrganizationUsageReport: %v %+v", err, ou)
	}
	hour := 12
	if _, _, err := gh.Billing.GetOrganizationUsageReport(ctx, "acme-web", &github.UsageReportOptions{Hour: &hour}); err != nil {
		t.Fatalf("Billing.GetOrganizationUsageReport with hour: %v", err)
	}
	os, _, err := gh.Billing.GetOrganizationUsageSummary(ctx, "acme-web", &github.UsageSummaryOptions{Year: year, Month: month})
	if err != nil || len(os.UsageItems) == 0 {
		t.Fatalf("Billing.GetOrganizationUsageSummary: %v %+v", err, os)
	}
	op, _, err := gh.Billing.GetOrganizationPremiumRequestUsageReport(ctx, "acme-data", &github.PremiumRequestUsageReportOptions{Year: y, Month: m})
	if err != nil || len(op.UsageItems) == 0 || op.Organization == nil || *op.Organization != "acme-data" {
		t.Fatalf("Billing.GetOrganizationPremiumRequestUsageReport: %v %+v", err, op)
	}
	if _, _, err := gh.Billing.GetOrgAICreditUsage(ctx, "acme-data", &github.PremiumRequestUsageReportOptions{Year: y, Month: m}); err != nil {
		t.Fatalf("Billing.GetOrgAICreditUsage: %v", err)
	}
	pk, _, err := gh.Billing.GetOrganizationPackagesBilling(ctx, "acme-web")
	if err != nil || pk.IncludedGigabytesBandwidth != 100 {
		t.Fatalf("Billing.GetOrganizationPackagesBilling: %v %+v", err, pk)
	}
	sb, _, err := gh.Billing.GetOrganizationStorageBilling(ctx, "acme-web")
	if err != nil || sb.DaysLeftInBillingCycle < 0 {
		t.Fatalf("Billing.GetOrganizationStorageBilling: %v %+v", err, sb)
	}
	ac, _, err := gh.Billing.GetOrganizationAdvancedSecurityActiveCommitters(ctx, "acme-web", &github.ActiveCommittersListOptions{ListOptions: github.ListOptions{PerPage: 2}})
	if err != nil || ac.TotalAdvancedSecurityCommitters == nil || *ac.TotalAdvancedSecurityCommitters == 0 || len(ac.Repositories) == 0 {
		t.Fatalf("Billing.GetOrganizationAdvancedSecurityActiveCommitters: %v %+v", err, ac)
	}

	uu, _, err := gh.Billing.GetUsageReport(ctx, user, &github.UsageReportOptions{Year: y, Month: m})
	if err != nil || len(uu.UsageItems) == 0 || uu.UsageItems[0].OrganizationName != nil {
		t.Fatalf("Billing.GetUsageReport: %v %+v", err, uu)
	}
	if _, _, err := gh.Billing.GetUserUsageSummary(ctx, user, &github.UsageSummaryOptions{Year: year, Month: month}); err != nil {
		t.Fatalf("Billing.GetUserUsageSummary: %v", err)
	}
	if _, _, err := gh.Billing.GetPremiumRequestUsageReport(ctx, user, &github.PremiumRequestUsageReportOptions{Year: y, Month: m}); err != nil {
		t.Fatalf("Billing.GetPremiumRequestUsageReport: %v", err)
	}
	if _, _, err := gh.Billing.GetUserAICreditUsage(ctx, user, &github.PremiumRequestUsageReportOptions{Year: y, Month: m}); err != nil {
		t.Fatalf("Billing.GetUserAICreditUsage: %v", err)
	}
	if _, _, err := gh.Billing.GetPackagesBilling(ctx, user); err != nil {
		t.Fatalf("Billing.GetPackagesBilling: %v", err)
	}
	if _, _, err := gh.Billing.GetStorageBilling(ctx, user); err != nil {
		t.Fatalf("Billing.GetStorageBilling: %v", err)
	}
}
