package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

func billingFile(t *testing.T, n int) []byte {
	t.Helper()
	now := time.Now().UTC()
	g := &billinggen.Gen{Seed: 5, N: n, Start: now.Add(-48 * time.Hour), End: now, Orgs: []string{"solo"}, Repos: 3, Users: 3, IDPrefix: "c-"}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range g.Records() {
		enc.Encode(r)
	}
	return b.Bytes()
}

func TestIngestBillingUsageIntoTheLocalStore(t *testing.T) {
	dir := t.TempDir()
	file := billingFile(t, 250)
	run := func(input []byte, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append([]string{"ingest", "billing-usage", "--data-dir", dir, "--batch-size", "100"}, args...),
			func(string) string { return "" }, bytes.NewReader(input), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	out, err := run(file, "-")
	if err != nil || !strings.Contains(out, "250 records read: 250 recorded, 0 already recorded") {
		t.Fatalf("first ingest: %v %s", err, out)
	}
	out, err = run(file, "-")
	if err != nil || !strings.Contains(out, "250 records read: 0 recorded, 250 already recorded") {
		t.Fatalf("second ingest: %v %s", err, out)
	}
	bad := append([]byte(`{"id":"z","timestamp":"2026-01-01T00:00:00Z","product":"actions","sku":"actions_linux","quantity":1.5,"unit":"minutes","organization":"solo"}`+"\n"), file...)
	if out, err = run(bad, "-"); err == nil || !strings.Contains(err.Error(), "line 1: quantity") {
		t.Fatalf("bad line: %v %s", err, out)
	}
	// The ledger holds exactly the file's records.
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "ghusage.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	err = db.BillingRecords(context.Background(), billing.Query{Account: billing.Account{Kind: billing.KindOrganization, Login: "solo"},
		From: time.Now().Add(-72 * time.Hour), To: time.Now().Add(time.Hour)}, func(*billing.Record) error { n++; return nil })
	if err != nil || n != 250 {
		t.Fatalf("ledger holds %d records (%v), want 250", n, err)
	}
}

func TestIngestBillingUsageOverHTTP(t *testing.T) {
	env := testenv.New(t)
	ingest := func(token string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), []string{"ingest", "billing-usage", "--url", env.URL, "--token", token, "--batch-size", "7", "-"},
			func(string) string { return "" }, bytes.NewReader(billingFile(t, 30)), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := ingest(env.AdminToken); err != nil || !strings.Contains(out, "30 records read: 30 recorded") {
		t.Fatalf("first post: %v %s", err, out)
	}
	if out, err := ingest(env.AdminToken); err != nil || !strings.Contains(out, "30 records read: 0 recorded, 30 already recorded") {
		t.Fatalf("second post: %v %s", err, out)
	}
	if _, err := ingest(usage.NewTokenString(usage.ActorClassicPAT)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("unknown token: %v, want a 401", err)
	}
}

func TestWebhookSetupPrintsTheHook(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"webhook", "setup", "--org", "acme-web", "--url", "https://ghusage.example.com/", "--secret", "s3"},
		func(string) string { return "" }, nil, &out, &errOut)
	if err != nil || !testenv.ContainsAll(out.String(), "https://ghusage.example.com/ghusage/v1/webhooks/github", "GHUSAGE_WEBHOOK_SECRET=s3",
		"gh api orgs/acme-web/hooks", "events[]=workflow_job", "events[]=push", "content_type]=json") {
		t.Fatalf("webhook setup: %v\n%s%s", err, out.String(), errOut.String())
	}
	if err := Run(context.Background(), []string{"webhook", "setup", "--org", "x"}, func(string) string { return "" }, nil, &out, &errOut); err == nil {
		t.Fatal("setup without --url succeeded")
	}
}
