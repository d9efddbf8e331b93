package postgres_test

import (
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/billing/billinggen"
	"github.com/ghusage/ghusage/internal/postgres"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/storetest"
)

func TestBillingConformance(t *testing.T) {
	pgtest.Server(t)
	storetest.RunBilling(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: open(t)}
	})
}

func TestBillingReportsConformance(t *testing.T) {
	pgtest.Server(t)
	storetest.RunBillingReports(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Store: open(t)}
	})
}

// TestBillingConcurrentDuplicates ingests overlapping batches from
// several goroutines at once (as replicas would): every id counts once,
// in the results and in the rows.
func TestBillingConcurrentDuplicates(t *testing.T) {
	pgtest.Server(t)
	db := open(t)
	g := &billinggen.Gen{Seed: 9, N: 3000, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC),
		Enterprise: "acme", Orgs: []string{"acme-web"}, Repos: 3, Users: 3, IDPrefix: "c-"}
	recs := g.Records()
	recorded := ingestBillingAtOnce(t, []*postgres.DB{db}, 4, 250, 1000, recs)
	if recorded != len(recs) {
		t.Fatalf("recorded %d, want %d", recorded, len(recs))
	}
	var want, got billing.Quantity
	for _, r := range recs {
		want += r.Quantity
	}
	for _, l := range []billing.Level{billing.LevelHour, billing.LevelDay} {
		rows, err := db.BillingRows(t.Context(), billing.Query{Account: billing.Account{Kind: billing.KindEnterprise, Login: "acme"},
			Level: l, From: g.Start, To: g.End})
		if err != nil {
			t.Fatal(err)
		}
		got = 0
		for _, r := range rows {
			got += r.Quantity
		}
		if got != want {
			t.Fatalf("level %d rows sum to %v, want %v", l, got, want)
		}
	}
}

// ingestBillingAtOnce has workers goroutines (on dbs in turn) ingest recs
// at once, worker w in batches of size from record w*stagger on, so their
// batches overlap; it returns the records they reported recorded.
func ingestBillingAtOnce(t *testing.T, dbs []*postgres.DB, workers, stagger, size int, recs []billing.Record) int {
	var mu sync.Mutex
	recorded := 0
	var wg sync.WaitGroup
	for w := range workers {
		db := dbs[w%len(dbs)]
		wg.Go(func() {
			for lo := w * stagger; lo < len(recs); lo += size {
				res, err := db.BillingIngest(t.Context(), recs[lo:min(lo+size, len(recs))])
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				recorded += res.Recorded
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return recorded
}
