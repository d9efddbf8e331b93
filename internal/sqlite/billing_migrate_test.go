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
	for _, q := range []billing.Query{
		{Account: acme, Level: billing.LevelDay, From: g.Start, To: g.End},
		{Account: acme, Level: billing.LevelHour, From: g.Start, To: g.End},
		{Account: acme, Level: billing.LevelDay, From: g.Start, To: g.End, Model: "ODD\tmodel\\x\nend"},
	} {
		want, _ := ref.BillingRows(ctx, q)
		got, err := db.BillingRows(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		sortBillingRows(want)
		sortBillingRows(got)
		if len(got) != len(want) || len(want) == 0 {
			t.Fatalf("level %d model %q: %d rows, want %d", q.Level, q.Model, len(got), len(want))
		}
		for i := range want {
			if !got[i].Bucket.Equal(want[i].Bucket) {
				t.Fatalf("row %d bucket %v, want %v", i, got[i].Bucket, want[i].Bucket)
			}
			got[i].Bucket = want[i].Bucket
			if got[i] != want[i] {
				t.Fatalf("row %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	}
	var want, got []billing.Record
	ref.BillingRecords(ctx, all, func(r *billing.Record) error { want = append(want, *r); return nil })
	if err := db.BillingRecords(ctx, all, func(r *billing.Record) error { got = append(got, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Timestamp.Equal(want[i].Timestamp) {
			t.Fatalf("record %d at %v, want %v", i, got[i].Timestamp, want[i].Timestamp)
		}
		got[i].Timestamp = want[i].Timestamp
		if got[i] != want[i] {
			t.Fatalf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// The migrated ids still deduplicate.
	res, err := db.BillingIngest(ctx, recs[:10])
	if err != nil || res.Recorded != 0 || res.Duplicates != 10 {
		t.Fatalf("re-sent after migration: %+v, %v", res, err)
	}
}

func sortBillingRows(rows []billing.Row) {
	slices.SortFunc(rows, func(a, b billing.Row) int {
		return billing.CompareRowDelta(billing.RowDelta{Row: a}, billing.RowDelta{Row: b})
	})
}
