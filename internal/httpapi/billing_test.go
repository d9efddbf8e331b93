package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

func billingNDJSON(t testing.TB, recs []billing.Record) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func postBilling(t testing.TB, env *testenv.Env, token string, body []byte, header ...string) (*http.Response, string) {
	t.Helper()
	return env.Do(t, http.MethodPost, "/ghusage/v1/ingest/billing-usage", token, bytes.NewReader(body), header...)
}

// ingestBillingTestData ingests generated usage for acme's organizations
// over the previous and current month (up to now), a personal account's
// usage, and Advanced Security pushes; it returns the personal login.
func ingestBillingTestData(t *testing.T, env *testenv.Env, now time.Time) string {
	t.Helper()
	start := billing.DateOf(now).MonthStart().Time().AddDate(0, -1, 0)
	g := &billinggen.Gen{Seed: 7, N: 4000, Start: start, End: now.Add(-time.Minute), Enterprise: "acme",
		Orgs: []string{"acme-web", "acme-data"}, Repos: 8, Users: 6, IDPrefix: "t-"}
	recs := g.Records()
	user := env.Data.Users[0].Login
	pg := &billinggen.Gen{Seed: 8, N: 300, Start: start, End: now.Add(-time.Minute), Orgs: []string{"x"}, Repos: 3, Users: 1, IDPrefix: "u-"}
	for _, r := range pg.Records() {
		r.Enterprise, r.Organization, r.Username = "", "", strings.ToLower(user)
		if r.Repository != "" {
			r.Repository = strings.ToLower(user) + "/" + strings.SplitN(r.Repository, "/", 2)[1]
		}
		recs = append(recs, r)
	}
	if resp, body := postBilling(t, env, env.AdminToken, billingNDJSON(t, recs)); resp.StatusCode != 200 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	acme := billing.Account{Kind: billing.KindEnterprise, Login: "acme"}
	var pushes []billing.Push
	for i := range 12 {
		org := []string{"acme-web", "acme-data"}[i%2]
		pushes = append(pushes, billing.Push{Account: acme, Organization: org, Repository: fmt.Sprintf("%s/repo%d", org, i%3),
			Login: fmt.Sprintf("dev%d", i%5), Email: fmt.Sprintf("dev%d@acme.test", i%5), AuthorDate: now.Add(-time.Duration(i) * 24 * time.Hour), PushedAt: now.Add(-time.Duration(i) * time.Hour)})
	}
	if err := env.Server.API.Billing.Store.BillingRecordPushes(t.Context(), pushes); err != nil {
		t.Fatal(err)
	}
	return user
}

// usageQuantityAsNumber relaxes one field of the contract, on purpose: the
// usage endpoints' usageItems[].quantity is declared integer, but GitHub
// answers fractional quantities (642.224551374 gigabyte-hours, observed in
// real responses, doc/billing.md); ghusage keeps them exact rather than
// rounding away money. Everything else is validated as published.
func usageQuantityAsNumber(s *openapi3.Schema) {
	if items := s.Properties["usageItems"]; items != nil && items.Value.Items != nil {
		if q := items.Value.Items.Value.Properties["quantity"]; q != nil {
			q.Value.Type = &openapi3.Types{openapi3.TypeNumber}
		}
	}
}

func TestBillingResponsesMatchContract(t *testing.T) {
	doc := loadContract(t)
	env := testenv.New(t)
	now := time.Now().UTC()
	user := ingestBillingTestData(t, env, now)
	prev := now.AddDate(0, 0, -now.Day()) // a day of the previous month
	ym := fmt.Sprintf("year=%d&month=%d", prev.Year(), int(prev.Month()))
	cases := []struct {
		op, path string
		nonEmpty bool
	}{
		{"billing/get-github-billing-usage-report-ghe", "/enterprises/acme/settings/billing/usage?" + ym, true},
		{"billing/get-github-billing-usage-report-ghe", fmt.Sprintf("/enterprises/acme/settings/billing/usage?year=%d&month=%d&day=%d&hour=12", prev.Year(), int(prev.Month()), prev.Day()), false},
		{"billing/get-github-billing-usage-summary-report-ghe", "/enterprises/acme/settings/billing/usage/summary?" + ym + "&organization=acme-web&product=actions", true},
		{"billing/get-github-billing-usage-summary-report-ghe", "/api/v3/enterprises/acme/settings/billing/usage/summary?cost_center_id=none", true},
		{"billing/get-github-billing-premium-request-usage-report-ghe", "/enterprises/acme/settings/billing/premium_request/usage?" + ym + "&model=GPT-5", true},
		{"billing/get-github-billing-ai-credit-usage-report-ghe", "/enterprises/acme/settings/billing/ai_credit/usage?" + ym, true},
		{"billing/get-github-actions-billing-ghe", "/enterprises/acme/settings/billing/actions", false},
		{"billing/get-github-packages-billing-ghe", "/enterprises/acme/settings/billing/packages", false},
		{"billing/get-shared-storage-billing-ghe", "/enterprises/acme/settings/billing/shared-storage", false},
		{"billing/get-github-advanced-security-billing-ghe", "/enterprises/acme/settings/billing/advanced-security?per_page=2", true},
		{"billing/get-github-billing-usage-report-org", "/organizations/acme-web/settings/billing/usage?" + ym, true},
		{"billing/get-github-billing-usage-summary-report-org", "/organizations/acme-web/settings/billing/usage/summary?" + ym + "&sku=actions_linux", true},
		{"billing/get-github-billing-premium-request-usage-report-org", "/organizations/acme-data/settings/billing/premium_request/usage?" + ym, true},
		{"billing/get-github-billing-ai-credit-usage-report-org", "/organizations/acme-data/settings/billing/ai_credit/usage?" + ym, true},
		{"billing/get-github-actions-billing-org", "/orgs/acme-web/settings/billing/actions", false},
		{"billing/get-github-packages-billing-org", "/orgs/acme-web/settings/billing/packages", false},
		{"billing/get-shared-storage-billing-org", "/orgs/acme-web/settings/billing/shared-storage", false},
		{"billing/get-github-advanced-security-billing-org", "/orgs/acme-web/settings/billing/advanced-security?advanced_security_product=code_security", true},
		{"billing/get-github-billing-usage-report-user", "/users/" + user + "/settings/billing/usage?" + ym, true},
		{"billing/get-github-billing-usage-summary-report-user", "/users/" + user + "/settings/billing/usage/summary?" + ym, true},
		{"billing/get-github-billing-premium-request-usage-report-user", "/users/" + user + "/settings/billing/premium_request/usage?" + ym, true},
		{"billing/get-github-billing-ai-credit-usage-report-user", "/users/" + user + "/settings/billing/ai_credit/usage?" + ym, true},
		{"billing/get-github-actions-billing-user", "/users/" + user + "/settings/billing/actions", false},
		{"billing/get-github-packages-billing-user", "/users/" + user + "/settings/billing/packages", false},
		{"billing/get-shared-storage-billing-user", "/users/" + user + "/settings/billing/shared-storage", false},
	}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			resp, body := env.Get(t, c.path, env.AdminToken)
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d %s", c.path, resp.StatusCode, body)
			}
			var v any
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			s := responseSchema(t, doc, c.op)
			usageQuantityAsNumber(s)
			if err := s.VisitJSON(v); err != nil {
				t.Fatalf("GET %s does not match the contract: %v\n%s", c.path, err, body)
			}
			if m, ok := v.(map[string]any); ok && c.nonEmpty {
				items, _ := m["usageItems"].([]any)
				repos, _ := m["repositories"].([]any)
				if len(items) == 0 && len(repos) == 0 {
					t.Fatalf("GET %s: no items; the test data should give some: %s", c.path, body)
				}
			}
		})
	}
	// The legacy endpoints count this month's usage: generated data
	// always has some Actions minutes in it (unless it is the 1st, 00:0x).
	if now.Day() > 1 || now.Hour() > 0 {
		_, body := env.Get(t, "/enterprises/acme/settings/billing/actions", env.AdminToken)
		var a billing.ActionsBilling
		if json.Unmarshal([]byte(body), &a) != nil || a.TotalMinutesUsed == 0 || a.IncludedMinutes != 50000 || a.MinutesUsedBreakdown["total"] != a.TotalMinutesUsed {
			t.Fatalf("actions billing: %s", body)
		}
	}
}

func TestBillingRejectsBadInput(t *testing.T) {
	env := testenv.New(t)
	base := "/enterprises/acme/settings/billing/"
	cases := []struct{ path, field string }{
		{base + "usage?month=13", "month"},
		{base + "usage?month=0", "month"},
		{base + "usage?year=2026&month=1&day=32", "day"},
		{base + "usage?year=2026&month=2&day=30", "day"},
		{base + "usage?year=99999", "year"},
		{base + "usage?year=twenty", "year"},
		{base + "usage?year=2026&month=1&hour=3", "hour"},
		{base + "usage?year=2026&month=1&day=3&hour=24", "hour"},
		{base + "usage/summary?product=spaceships", "product"},
		{base + "usage/summary?sku=actions_quantum", "sku"},
		{base + "usage/summary?product=copilot&sku=actions_linux", "sku"},
		{base + "usage/summary?repository=noslash", "repository"},
		{base + "usage/summary?organization=bad%20org", "organization"},
		{base + "usage?cost_center_id=", "cost_center_id"},
		{base + "premium_request/usage?user=no%20one", "user"},
		{base + "advanced-security?advanced_security_product=everything", "advanced_security_product"},
		{base + "advanced-security?per_page=101", "per_page"},
	}
	for _, c := range cases {
		resp, body := env.Get(t, c.path, env.AdminToken)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("GET %s: %d %s, want 422", c.path, resp.StatusCode, body)
			continue
		}
		var e struct {
			Errors []usage.FieldError `json:"errors"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Errors) == 0 || e.Errors[0].Field != c.field {
			t.Errorf("GET %s: body %s does not name the field %s", c.path, body, c.field)
		}
	}
	for path, want := range map[string]int{
		base + "usage?cost_center_id=cc-1":                                        404, // no such cost center
		"/enterprises/nope/settings/billing/usage":                                404,
		"/organizations/nope/settings/billing/usage":                              404,
		"/users/nobody-here/settings/billing/usage":                               404,
		"/users/" + env.Data.Users[1].Login + "/settings/billing/usage?year=2026": 200, // the site admin sees every account
	} {
		if resp, body := env.Get(t, path, env.AdminToken); resp.StatusCode != want {
			t.Errorf("GET %s: %d %s, want %d", path, resp.StatusCode, body, want)
		}
	}
	if resp, _ := env.Get(t, base+"usage", ""); resp.StatusCode != 401 {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
}

func TestBillingAccess(t *testing.T) {
	env := testenv.New(t)
	now := time.Now().UTC()
	member := env.Data.Users[len(env.Data.Users)-1] // a plain member of acme and one organization
	owner := env.Data.Users[0]                      // an owner of acme-web
	tok := func(u *usage.User, typ usage.ActorType, scopes ...string) string {
		return issueToken(t, env, &usage.Token{Type: typ, UserID: u.ID, Scopes: scopes, CreatedAt: now})
	}
	cases := []struct {
		path, token string
		want        int
		scopes      string
	}{
		{"/enterprises/acme/settings/billing/usage", tok(member, usage.ActorClassicPAT, "read:org"), 403, "manage_billing:enterprise"},
		{"/enterprises/acme/settings/billing/usage", tok(member, usage.ActorClassicPAT, "manage_billing:enterprise"), 403, ""}, // not an owner
		{"/enterprises/acme/settings/billing/usage", env.AdminToken, 200, ""},
		{"/organizations/acme-web/settings/billing/usage", tok(owner, usage.ActorClassicPAT, "admin:org"), 200, ""},
		{"/organizations/acme-web/settings/billing/usage", tok(owner, usage.ActorClassicPAT, "read:user"), 403, "admin:org, repo"},
		{"/orgs/acme-web/settings/billing/actions", tok(owner, usage.ActorClassicPAT, "repo"), 200, ""},
		{"/orgs/acme-infra/settings/billing/actions", tok(owner, usage.ActorClassicPAT, "repo"), 404, ""}, // not a member
		{"/users/" + member.Login + "/settings/billing/usage", tok(member, usage.ActorClassicPAT), 200, ""},
		{"/users/" + member.Login + "/settings/billing/actions", tok(member, usage.ActorClassicPAT), 403, "user"},
		{"/users/" + member.Login + "/settings/billing/actions", tok(member, usage.ActorClassicPAT, "user"), 200, ""},
		{"/users/" + owner.Login + "/settings/billing/usage", tok(member, usage.ActorClassicPAT, "user"), 404, ""}, // someone else's
	}
	for _, c := range cases {
		resp, body := env.Get(t, c.path, c.token)
		if resp.StatusCode != c.want || resp.Header.Get("X-Accepted-OAuth-Scopes") != c.scopes {
			t.Errorf("GET %s: %d (accepted scopes %q) %s, want %d (%q)", c.path, resp.StatusCode,
				resp.Header.Get("X-Accepted-OAuth-Scopes"), body, c.want, c.scopes)
		}
	}
}

func TestBillingIngestEndpoint(t *testing.T) {
	env := testenv.New(t)
	now := time.Now().UTC()
	recs := (&billinggen.Gen{Seed: 1, N: 3, Start: now.Add(-time.Hour), End: now, Enterprise: "acme", Orgs: []string{"acme-web"}, Repos: 2, Users: 2, IDPrefix: "i-"}).Records()
	body := billingNDJSON(t, recs)
	bad := append(append([]byte{}, body...), []byte(`{"id":"x","timestamp":"2026-01-01T00:00:00Z","product":"actions","sku":"actions_linux","quantity":-5,"unit":"minutes","organization":"acme-web"}`+"\n")...)
	resp, out := postBilling(t, env, env.AdminToken, bad)
	if resp.StatusCode != 422 || !strings.Contains(out, "line 4: quantity") {
		t.Fatalf("bad line: %d %s, want 422 naming line 4: quantity", resp.StatusCode, out)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	for i, want := range []billing.IngestResult{{Received: 3, Recorded: 3}, {Received: 3, Duplicates: 3}} {
		resp, out := postBilling(t, env, env.AdminToken, gz.Bytes())
		var got billing.IngestResult
		if resp.StatusCode != 200 || json.Unmarshal([]byte(out), &got) != nil || got != want {
			t.Fatalf("post %d: %d %s, want %+v", i+1, resp.StatusCode, out, want)
		}
	}
	// Nothing of the rejected batch was recorded: the 3 valid records were new on the next post.
	secret := issueToken(t, env, &usage.Token{Type: usage.ActorClassicPAT, UserID: env.Data.Users[0].ID, Scopes: []string{"read:org"}, CreatedAt: now})
	if resp, out := postBilling(t, env, secret, body); resp.StatusCode != 403 || resp.Header.Get("X-Accepted-OAuth-Scopes") != "ghusage:ingest" {
		t.Fatalf("token without ghusage:ingest: %d %s", resp.StatusCode, out)
	}
}
