package scaleout_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// TestServerStatsCollectorRunsOnceOnTwoReplicas gives two replicas on one
// PostgreSQL the same instances file, pointing at another ghusage that
// holds a snapshot, and lets both schedulers look for due work at once,
// three times: the peer is read once (one GET of /api/v3/enterprise/stats/all)
// and the shared store holds the collected snapshot.
func TestServerStatsCollectorRunsOnceOnTwoReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	peer := testenv.New(t)
	day := time.Now().UTC().Format("2006-01-02")
	item := fmt.Sprintf(`{"server_id":"p","collection_date":"%sT01:00:00Z","ghe_stats":{"pages":{"total_pages":12}}}`, day)
	if resp, body := peer.Do(t, http.MethodPost, "/ghusage/v1/ingest/server-statistics?account=acme", peer.AdminToken, strings.NewReader(item)); resp.StatusCode != 200 {
		t.Fatalf("peer upload: %d %s", resp.StatusCode, body)
	}
	var statsAll atomic.Int32
	h := peer.Server.API.Handler()
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v3/enterprise/stats/all" {
			statsAll.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(counting.Close)
	instances := filepath.Join(t.TempDir(), "instances.json")
	os.WriteFile(instances, []byte(fmt.Sprintf(`[{"url":%q,"token":%q,"account":"acme","server_id":"peer"}]`, counting.URL, peer.AdminToken)), 0o600)

	var servers []*server.Server
	for i := range 2 {
		cfg := server.DefaultConfig()
		cfg.Store, cfg.PostgresDSN = "postgres", dsn
		cfg.ServerStats.InstancesFile = instances
		st, err := server.OpenStore(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if i == 0 {
			if err := st.CreateEnterprise(t.Context(), &usage.Enterprise{Slug: "acme", Name: "Acme"}); err != nil {
				t.Fatal(err)
			}
		}
		srv, err := server.New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, srv)
	}
	ran := 0
	var mu sync.Mutex
	for range 3 {
		var wg sync.WaitGroup
		for _, s := range servers {
			wg.Go(func() {
				for _, n := range s.Jobs.RunDue(t.Context()) {
					if n == server.CollectJob {
						mu.Lock()
						ran++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
	}
	if ran != 1 || statsAll.Load() != 1 {
		t.Fatalf("the collector ran %d times and read the peer %d times on two replicas, want once", ran, statsAll.Load())
	}
	for _, srv := range servers {
		latest, err := srv.Store.(serverstats.Store).ServerStatsLatest(t.Context(), "peer")
		if err != nil || len(latest) != 1 || latest[0].GHEStats.Pages.TotalPages != 12 {
			t.Fatalf("a replica reads %+v, %v; want the collected snapshot", latest, err)
		}
	}
}
