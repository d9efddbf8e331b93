package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/sqlite"
)

// GHUSAGE_COPILOT_BILLING turns --copilot-billing on: the server refuses
// derived Copilot SKUs on billing-usage ingestion, and so does
// `ingest billing-usage` into its data directory once it has stopped;
// started without the flag, both accept them again.
func TestCopilotBillingFlag(t *testing.T) {
	dir := t.TempDir()
	line := `{"id":"x1","timestamp":"2026-11-09T10:00:00Z","product":"copilot","sku":"copilot_premium_request","quantity":3,"unit":"requests","organization":"acme-web","username":"mona","model":"gpt-5"}` + "\n"
	file := filepath.Join(t.TempDir(), "usage.ndjson")
	if err := os.WriteFile(file, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	post := func(s *started) (int, string) {
		req, _ := http.NewRequest("POST", s.url+"/ghusage/v1/ingest/billing-usage", strings.NewReader(line))
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	stop := func(s *started) {
		s.cancel()
		err := <-s.done
		s.done <- err // for startServe's cleanup
	}
	fixed := strings.TrimSpace(run(t, "token", "generate"))
	s := startServe(t, map[string]string{"GHUSAGE_COPILOT_BILLING": "true", "GHUSAGE_ADMIN_TOKEN": fixed}, "--demo", "--data-dir", dir, "--token-cache-ttl", "0")
	if code, body := post(s); code != 422 || !strings.Contains(body, `"line 1: sku"`) || !strings.Contains(body, "--copilot-billing") {
		t.Fatalf("with GHUSAGE_COPILOT_BILLING: %d %s", code, body)
	}
	stop(s)
	if _, err := runCLI(t, "", "ingest", "billing-usage", "--data-dir", dir, file); err == nil || !strings.Contains(err.Error(), "line 1: sku: copilot_premium_request records are derived") {
		t.Fatalf("local ingest into a --copilot-billing store: %v", err)
	}
	// `ghusage copilot build` on that store derives too: premium requests
	// of a user without a seat bill the user's own account.
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "ghusage.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	users, err := st.ListUsers(context.Background())
	st.Close()
	if err != nil || len(users) == 0 {
		t.Fatal(users, err)
	}
	u := users[len(users)-1] // the demo's last users have no seat
	yesterday := time.Now().UTC().AddDate(0, 0, -1)
	act := filepath.Join(t.TempDir(), "copilot.ndjson")
	if err := os.WriteFile(act, []byte(fmt.Sprintf(`{"day":"%s","user_id":%d,"user_login":"%s","premium_requests_by_model":[{"model":"gpt-5","requests":4.5}]}`+"\n",
		yesterday.Format(time.DateOnly), u.ID, u.Login)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "", "ingest", "copilot-usage", "--data-dir", dir, act); err != nil {
		t.Fatalf("ingest copilot-usage: %v %s", err, out)
	}
	if out, err := runCLI(t, "", "copilot", "build", "--data-dir", dir, "--settle", "0s"); err != nil {
		t.Fatalf("copilot build: %v %s", err, out)
	}
	st, err = sqlite.Open(context.Background(), filepath.Join(dir, "ghusage.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(yesterday.Year(), yesterday.Month(), yesterday.Day(), 0, 0, 0, 0, time.UTC)
	rows, err := st.BillingRows(context.Background(), billing.Query{Account: billing.Account{Kind: billing.KindUser, Login: strings.ToLower(u.Login)},
		Level: billing.LevelDay, From: day, To: day.AddDate(0, 0, 1), SKU: billing.SKUCopilotPremium})
	st.Close()
	if err != nil || len(rows) != 1 || rows[0].Quantity != billing.Quantity(4_500_000_000) || rows[0].Model != "gpt-5" {
		t.Fatalf("premium requests derived by copilot build: %+v %v", rows, err)
	}
	s = startServe(t, map[string]string{"GHUSAGE_ADMIN_TOKEN": fixed}, "--data-dir", dir, "--token-cache-ttl", "0")
	s.token = fixed
	if code, body := post(s); code != 200 {
		t.Fatalf("without the flag: %d %s", code, body)
	}
	stop(s)
	if out, err := runCLI(t, "", "ingest", "billing-usage", "--data-dir", dir, file); err != nil || !strings.Contains(out, "1 already recorded") {
		t.Fatalf("local ingest without the flag: %q %v", out, err)
	}
}
