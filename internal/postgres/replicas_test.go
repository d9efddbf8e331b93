package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/usage"
)

// TestBillingConcurrentReplicas has four replicas (own pools, one schema)
// ingest overlapping batches of one ledger at once: every id is recorded
// once, in the results, the records, the packs of every level and the
// day totals, and every day written has a version.
func TestBillingConcurrentReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	dbs := openReplicas(t, dsn, 4)
	g := &billinggen.Gen{Seed: 11, N: 2000, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC),
		Enterprise: "acme", Orgs: []string{"acme-web"}, Repos: 3, Users: 3, IDPrefix: "r-"}
	recs := g.Records()
	recorded := ingestBillingAtOnce(t, dbs, len(dbs), 125, 500, recs)
	if recorded != len(recs) {
		t.Fatalf("recorded %d, want %d", recorded, len(recs))
	}
	acct := billing.Account{Kind: billing.KindEnterprise, Login: "acme"}
	var want billing.Quantity
	days := map[int64]bool{}
	for _, r := range recs {
		want += r.Quantity
		days[r.Timestamp.UTC().Truncate(24*time.Hour).Unix()] = true
	}
	for _, l := range []billing.Level{billing.LevelHour, billing.LevelDay} {
		rows, err := dbs[1].BillingRows(t.Context(), billing.Query{Account: acct, Level: l, From: g.Start, To: g.End})
		if err != nil {
			t.Fatal(err)
		}
		var got billing.Quantity
		for _, r := range rows {
			got += r.Quantity
		}
		if got != want {
			t.Errorf("level %d rows sum to %v, want %v", l, got, want)
		}
	}
	totals, err := dbs[2].BillingDayTotals(t.Context(), acct, g.Start, g.End)
	if err != nil {
		t.Fatal(err)
	}
	var inTotals billing.Quantity
	for _, d := range totals {
		inTotals += d.Quantity
	}
	if inTotals != want {
		t.Errorf("day totals sum to %v, want %v", inTotals, want)
	}
	n := 0
	if err := dbs[3].BillingRecords(t.Context(), billing.Query{Account: acct, From: g.Start, To: g.End}, func(*billing.Record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != len(recs) {
		t.Errorf("%d records stored, want %d", n, len(recs))
	}
	vv, err := dbs[0].BillingDayVersions(t.Context(), acct, g.Start, g.End)
	if err != nil {
		t.Fatal(err)
	}
	if len(vv) != len(days) {
		t.Errorf("%d day versions, want one for each of the %d days written", len(vv), len(days))
	}
}

// TestBillingPushesConcurrentReplicas has four replicas record pushes of
// the same committers at once, in different orders: each committer ends
// with its latest push, whichever replica wrote it.
func TestBillingPushesConcurrentReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	dbs := openReplicas(t, dsn, 4)
	acct := billing.Account{Kind: billing.KindEnterprise, Login: "acme"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const users, pushes = 20, 40
	push := func(u, k int) billing.Push {
		return billing.Push{Account: acct, Organization: "acme-web", Repository: "acme-web/app", Login: fmt.Sprint("u", u),
			Email: fmt.Sprintf("u%d-%d@example.com", u, k), AuthorDate: t0.Add(time.Duration(k) * time.Second), PushedAt: t0.Add(time.Duration(k) * time.Minute)}
	}
	var wg sync.WaitGroup
	for w, db := range dbs {
		wg.Go(func() {
			for step := range pushes {
				k := (step*7 + w*13) % pushes // every replica sends every push, in its own order
				var batch []billing.Push
				for u := range users {
					batch = append(batch, push(u, k))
				}
				if err := db.BillingRecordPushes(t.Context(), batch); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	cs, err := dbs[0].BillingCommitters(t.Context(), acct, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != users {
		t.Fatalf("%d committers, want %d", len(cs), users)
	}
	for _, c := range cs {
		last := push(0, pushes-1)
		if !c.PushedAt.Equal(last.PushedAt) || !c.AuthorDate.Equal(last.AuthorDate) || c.Email != fmt.Sprintf("%s-%d@example.com", c.Login, pushes-1) {
			t.Errorf("committer %s: %+v, want its latest push", c.Login, c)
		}
	}
}

// TestCostCentersConcurrentReplicas has replicas create cost centers past
// the limit, and move one user into a cost center each, at once: the
// limit holds, and the user's memberships chain (one open, each move
// reporting the one before).
func TestCostCentersConcurrentReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	dbs := openReplicas(t, dsn, 4)
	ctx := t.Context()
	ent := &usage.Enterprise{Slug: "acme", Name: "Acme"}
	if err := dbs[0].CreateEnterprise(ctx, ent); err != nil {
		t.Fatal(err)
	}
	if err := dbs[0].CreateUser(ctx, &usage.User{Login: "mona"}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const maxActive = 4
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			cc := &billing.CostCenter{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), EnterpriseID: ent.ID, Name: fmt.Sprint("cc", i),
				State: billing.CostCenterActive, CreatedAt: now}
			errs[i] = dbs[i%len(dbs)].CreateCostCenter(ctx, cc, maxActive)
		})
	}
	wg.Wait()
	var created []string
	for i, err := range errs {
		switch {
		case err == nil:
			created = append(created, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
		case !errors.Is(err, billing.ErrCostCenterLimit):
			t.Fatalf("create %d: %v", i, err)
		}
	}
	if len(created) != maxActive {
		t.Fatalf("%d cost centers created at once, want the limit %d", len(created), maxActive)
	}
	moves := make([][]billing.Reassignment, len(created))
	for i, id := range created {
		wg.Go(func() {
			var err error
			moves[i], err = dbs[i%len(dbs)].AddCostCenterResources(ctx, ent.ID, id, []billing.Resource{{Type: billing.ResourceUser, Name: "mona"}}, now.Add(time.Hour))
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	moved := 0
	for _, m := range moves {
		moved += len(m)
	}
	if moved != len(created)-1 {
		t.Errorf("%d moves reported, want %d (each add after the first moves the user from the one before)", moved, len(created)-1)
	}
	ms, err := dbs[1].CostCenterMemberships(ctx, ent.ID, now, now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	open := 0
	for _, m := range ms {
		if m.End.IsZero() {
			open++
		}
	}
	if len(ms) != len(created) || open != 1 {
		t.Errorf("memberships %+v: want %d, one of them open", ms, len(created))
	}
}

// TestBudgetsConcurrentReplicas has replicas create an owner's budgets
// past its limit at once: exactly the limit is created.
func TestBudgetsConcurrentReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	dbs := openReplicas(t, dsn, 4)
	const max = 3
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			b := &billing.Budget{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), EnterpriseID: 1, Type: billing.BudgetProductPricing,
				ProductSKU: fmt.Sprint("sku", i), Scope: "enterprise", EntityName: "acme", Amount: 100, CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0)}
			errs[i] = dbs[i%len(dbs)].CreateBudget(t.Context(), b, max)
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, billing.ErrBudgetLimit):
			t.Fatalf("create %d: %v", i, err)
		}
	}
	bs, total, err := dbs[0].ListBudgets(t.Context(), 1, 0, "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if ok != max || total != max || len(bs) != max {
		t.Fatalf("%d creates succeeded, %d (%d) stored; want the limit %d", ok, total, len(bs), max)
	}
}

// TestServerStatsConcurrentReplicas has replicas upload the first
// snapshots of one server for different accounts at once: one account
// gets the server, the others a conflict, and only its snapshot is kept.
func TestServerStatsConcurrentReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	dbs := openReplicas(t, dsn, 4)
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Go(func() {
			_, errs[i] = db.ServerStatsPut(t.Context(), []serverstats.Snapshot{{Account: fmt.Sprint("acct", i), ServerID: "srv", CollectionDate: day,
				SchemaVersion: "20230306", GHESVersion: "3.14.2", HostName: "srv.example.com"}})
		})
	}
	wg.Wait()
	owner := ""
	for i, err := range errs {
		switch {
		case err == nil:
			if owner != "" {
				t.Fatalf("both %s and acct%d own the server", owner, i)
			}
			owner = fmt.Sprint("acct", i)
		case usage.ErrorKind(err) != usage.KindConflict:
			t.Fatalf("put %d: %v", i, err)
		}
	}
	latest, err := dbs[0].ServerStatsLatest(t.Context(), "srv")
	if err != nil {
		t.Fatal(err)
	}
	if owner == "" || len(latest) != 1 || latest[0].Account != owner {
		t.Fatalf("latest %+v, want one snapshot of the owner %q", latest, owner)
	}
}

// TestBlobPutsConcurrentReplicas has replicas replace one file at once:
// the file is one of the contents whole, and no chunk of the others, nor
// any upload, is left behind.
func TestBlobPutsConcurrentReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	dbs := openReplicas(t, dsn, 4)
	content := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 1<<20+1000) } // two chunks
	var wg sync.WaitGroup
	for round := range 3 {
		for i, db := range dbs {
			wg.Go(func() {
				if _, err := db.Blobs().Put(t.Context(), "reports/r.csv", "text/csv", bytes.NewReader(content((i+round)%len(dbs)))); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	f, err := dbs[0].Blobs().Open(t.Context(), "reports/r.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	whole := false
	for i := range dbs {
		whole = whole || bytes.Equal(got, content(i))
	}
	if !whole {
		t.Fatalf("the file (%d bytes) is none of the contents put", len(got))
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var chunks, others, uploads int
	if err := conn.QueryRow(t.Context(), `SELECT count(*), count(*) FILTER (WHERE generation <> (SELECT generation FROM blob_files)),
		(SELECT count(*) FROM blob_uploads) FROM blob_chunks`).Scan(&chunks, &others, &uploads); err != nil {
		t.Fatal(err)
	}
	if chunks != 2 || others != 0 || uploads != 0 {
		t.Fatalf("%d chunks (%d of other generations), %d uploads left; want the file's 2 chunks only", chunks, others, uploads)
	}
}
