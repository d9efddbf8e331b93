package scaleout_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/httpapi"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/usage"
)

// TestPostgresOutageUnderLoad puts a switchable proxy between a replica
// and PostgreSQL and cuts it while clients ingest. While PostgreSQL is
// away the replica answers 503 with a clear message (never 500) and
// /readyz fails; once it is back the replica recovers without a restart;
// and since clients re-send what was not acknowledged, every event is
// counted exactly once: none acknowledged is lost, none double counted.
func TestPostgresOutageUnderLoad(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.addr()
	token := usage.NewTokenString(usage.ActorClassicPAT)
	r := startReplica(t, "--demo", "--demo-scale", "0.05", "--store", "postgres", "--postgres-dsn", u.String(),
		"--admin-token", token, "--rate-limit=false", "--token-cache-ttl", "0s")

	const workers, batches, perBatch = 4, 15, 50
	now := time.Now().UTC()
	var acked, unavailable atomic.Int64
	firstAcks := make(chan struct{}, workers*batches)
	saw503 := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				events := eventsLike(installationEvent("acme-data", 987655, "loader", "POST", "/repos/:owner/:repo/issues"),
					fmt.Sprintf("w%d-b%d", w, b), perBatch, now)
				body := ndjson(t, events)
				for attempt := 0; ; attempt++ {
					resp, rb, err := r.try("POST", httpapi.IngestPath, token, body)
					if err != nil {
						t.Errorf("ingest: %v (ghusage itself must stay up)", err)
						return
					}
					if resp.StatusCode == 200 {
						acked.Add(perBatch)
						firstAcks <- struct{}{}
						break
					}
					if resp.StatusCode != 503 || !strings.Contains(string(rb), "unavailable") {
						t.Errorf("ingest while PostgreSQL is away: %d %s; want 503 saying the store is unavailable", resp.StatusCode, rb)
						return
					}
					unavailable.Add(1)
					select {
					case saw503 <- struct{}{}:
					default:
					}
					if attempt > 2000 {
						t.Error("ingest never recovered after PostgreSQL came back")
						return
					}
					time.Sleep(10 * time.Millisecond) // a client's back-off
				}
			}
		})
	}
	// Let the load run, cut PostgreSQL, wait until clients see it, restore.
	for range workers {
		<-firstAcks
	}
	p.setDown(true)
	select {
	case <-saw503:
	case <-time.After(60 * time.Second):
		t.Fatal("no client saw a 503 within 60s of PostgreSQL going away")
	}
	// Keep it away until every client has been refused at least twice.
	for deadline := time.Now().Add(60 * time.Second); unavailable.Load() < 2*workers && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if resp, body := r.do(t, "GET", "/readyz", "", nil); resp.StatusCode != 503 || !strings.Contains(string(body), `"failing":["postgres"]`) {
		t.Errorf("/readyz while PostgreSQL is away: %d %s, want 503", resp.StatusCode, body)
	}
	p.setDown(false)
	wg.Wait()
	if t.Failed() {
		return
	}
	if resp, body := r.do(t, "GET", "/readyz", "", nil); resp.StatusCode != 200 {
		t.Errorf("/readyz after PostgreSQL came back: %d %s", resp.StatusCode, body)
	}
	got, _ := summary(t, r, token, "acme-data/insights/api/summary-stats/installation/987655", now.Add(-time.Hour).Truncate(time.Minute))
	if got != workers*batches*perBatch || acked.Load() != workers*batches*perBatch {
		t.Fatalf("stored %d events, acknowledged %d, sent %d", got, acked.Load(), workers*batches*perBatch)
	}
	t.Logf("%d requests answered 503 during the outage; all %d events counted once", unavailable.Load(), got)
}
