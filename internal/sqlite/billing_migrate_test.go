package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/sqlite"
	"github.com/ghusage/ghusage/internal/storetest"
)

// TestBillingPacksMigration fills the ledger tables of migration 0004 as
// the former BillingIngest did, then opens the file (applying 0013) and
// checks rows and records against the reference store.
func TestBillingPacksMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	old.SetMaxOpenConns(1) // the BEGIN and COMMIT below hold one connection
	names, _ := filepath.Glob("migrations/*.sql")
	slices.Sort(names)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := old.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
	for _, n := range names {
		v, _ := strconv.Atoi(strings.SplitN(filepath.Base(n), "_", 2)[0])
		if v >= 13 {
			break
		}
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(b))
		exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, v, filepath.Base(n))
	}
	g := &billinggen.Gen{Seed: 7, N: 2000, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC),
		Enterprise: "acme", Orgs: []string{"acme-web", "acme-data"}, Repos: 4, Users: 3, IDPrefix: "m-"}
	recs := g.Records()
	// Fields that need escaping in packs and chunks.
	for i := range recs {
		if recs[i].Unit == billing.UnitRequests {
			recs[i].Model = "odd\tmodel\\x\nend"
			break
		}
	}
	recs[1].WorkflowPath, recs[2].ID = `C:\ci\t.yml`, "id\twith\ttabs\\"
	// Ids whose keys (billing.IDKey, migration 0018) take each branch of the rule.
	recs[3].ID, recs[4].ID, recs[5].ID, recs[6].ID = "日本-007", "12345", "no-digits", "a1b-10"
	ref := billing.NewMemStore()
	if _, err := ref.BillingIngest(ctx, recs); err != nil {
		t.Fatal(err)
	}
	exec(`BEGIN`)
	for i := range recs {
		r := &recs[i]
		exec(`INSERT INTO billing_records (id, account, ts, product, sku, quantity, unit, enterprise, organization, repository,
			username, workflow_path, model, public) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, billing.AccountOf(r).Key(), r.Timestamp.UnixNano(), r.Product, r.SKU, int64(r.Quantity), r.Unit,
			r.Enterprise, r.Organization, r.Repository, r.Username, r.WorkflowPath, r.Model, r.Public)
	}
	acme := billing.Account{Kind: billing.KindEnterprise, Login: "acme"}
	all := billing.Query{Account: acme, From: g.Start, To: g.End}
	for _, l := range []billing.Level{billing.LevelHour, billing.LevelDay} {
		q := all
		q.Level = l
		rows, _ := ref.BillingRows(ctx, q)
		for _, r := range rows {
			exec(`INSERT INTO billing_rows (account, lvl, bucket, sku, org, repo, username, model, public, quantity)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, acme.Key(), int(l), r.Bucket.Unix(), r.SKU, r.Organization, r.Repository,
				r.Username, r.Model, r.Public, int64(r.Quantity))
		}
	}
	exec(`COMMIT`)
	old.Close()

	db, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.CheckMigratedLedger(t, ref, db, acme, g.Start, g.End, recs)
}
