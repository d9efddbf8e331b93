package postgres_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/storetest"
)

// TestBillingPacksMigration fills the ledger tables of migration 0006 as
// the former BillingIngest did, migrates (0015) and checks rows and
// records against the reference store.
func TestBillingPacksMigration(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
	names, _ := filepath.Glob("migrations/*.sql")
	slices.Sort(names)
	for _, n := range names {
		base := strings.TrimSuffix(filepath.Base(n), ".sql")
		v, _ := strconv.Atoi(base[:4])
		if v >= 15 {
			break
		}
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(b))
		exec(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, v, base[5:])
	}
	g := &billinggen.Gen{Seed: 7, N: 2000, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC),
		Enterprise: "acme", Orgs: []string{"acme-web", "acme-data"}, Repos: 4, Users: 3, IDPrefix: "m-"}
	recs := g.Records()
	for i := range recs { // fields that need escaping in packs and chunks
		if recs[i].Unit == billing.UnitRequests {
			recs[i].Model = "odd\tmodel\\x\nend"
			break
		}
	}
	recs[1].WorkflowPath, recs[2].ID = `C:\ci\t.yml`, "id\twith\ttabs\\"
	// Ids whose keys (billing.IDKey, migration 0022) take each branch of the rule.
	recs[3].ID, recs[4].ID, recs[5].ID, recs[6].ID = "日本-007", "12345", "no-digits", "a1b-10"
	ref := billing.NewMemStore()
	if _, err := ref.BillingIngest(ctx, recs); err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	for i := range recs {
		r := &recs[i]
		rows = append(rows, []any{r.ID, billing.AccountOf(r).Key(), r.Timestamp.UnixNano(), r.Product, r.SKU, int64(r.Quantity), r.Unit,
			r.Enterprise, r.Organization, r.Repository, r.Username, r.WorkflowPath, r.Model, r.Public})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"billing_records"}, []string{"id", "account", "ts", "product", "sku", "quantity", "unit",
		"enterprise", "organization", "repository", "username", "workflow_path", "model", "public"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	acme := billing.Account{Kind: billing.KindEnterprise, Login: "acme"}
	all := billing.Query{Account: acme, From: g.Start, To: g.End}
	rows = nil
	for _, l := range []billing.Level{billing.LevelHour, billing.LevelDay} {
		q := all
		q.Level = l
		rs, _ := ref.BillingRows(ctx, q)
		for _, r := range rs {
			rows = append(rows, []any{acme.Key(), int16(l), r.Bucket.Unix(), r.SKU, r.Organization, r.Repository, r.Username, r.Model, r.Public, int64(r.Quantity)})
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"billing_rows"}, []string{"account", "lvl", "bucket", "sku", "org", "repo", "username", "model",
		"public", "quantity"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}

	db, err := postgres.Open(ctx, dsn, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.CheckMigratedLedger(t, ref, db, acme, g.Start, g.End, recs)
	// Migration 0022's keys are billing.IDKey's.
	var want, got []string
	for i := range recs {
		want = append(want, billing.IDKey(recs[i].ID))
	}
	slices.Sort(want)
	rs, err := conn.Query(ctx, `SELECT k FROM billing_record_keys ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	var k string
	if _, err := pgx.ForEachRow(rs, []any{&k}, func() error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%d migrated keys, want %d; first %q, want %q", len(got), len(want), got[:min(3, len(got))], want[:3])
	}
}
