package scaleout_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/cli"
	"github.com/ghusage/ghusage/internal/httpapi"
	"github.com/ghusage/ghusage/internal/postgres/pgtest"
	"github.com/ghusage/ghusage/internal/usage"
)

// TestChildReplica is the replica process TestKillReplicaDuringIngestion
// kills; it runs only when that test starts it.
func TestChildReplica(t *testing.T) {
	args := os.Getenv("GHUSAGE_TEST_CHILD_REPLICA")
	if args == "" {
		t.Skip("started by TestKillReplicaDuringIngestion only")
	}
	err := cli.Run(context.Background(), strings.Fields(args), func(string) string { return "" }, nil, io.Discard, os.Stderr)
	t.Fatalf("serve returned: %v", err)
}

// TestKillReplicaDuringIngestion runs replica A in its own process and B in
// this one, both on one PostgreSQL. Clients post batches to A; A is killed
// with SIGKILL while batches are in flight; the clients re-send what A did
// not acknowledge to B, as a load balancer would route them. Every event is
// then counted exactly once: nothing A acknowledged is lost, nothing it
// half wrote is counted, and re-sent batches that A did commit count nothing.
func TestKillReplicaDuringIngestion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a replica process")
	}
	t.Parallel()
	dsn := pgtest.DSN(t)
	token := usage.NewTokenString(usage.ActorClassicPAT)
	common := []string{"--store", "postgres", "--postgres-dsn", dsn, "--admin-token", token, "--rate-limit=false", "--log-level", "error"}
	b := startReplica(t, append([]string{"--demo", "--demo-scale", "0.05"}, common...)...)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addrA := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildReplica$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GHUSAGE_TEST_CHILD_REPLICA="+strings.Join(append([]string{"serve", "--addr", addrA}, common...), " "))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	a := &replica{url: "http://" + addrA}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if resp, _, err := a.try("GET", "/readyz", "", nil); err == nil && resp.StatusCode == 200 {
			break
		}
		select {
		case <-exited:
			t.Fatal("replica A exited before it was ready")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("replica A not ready within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	const workers, batches, perBatch = 3, 20, 1000
	now := time.Now().UTC()
	var target atomic.Pointer[replica]
	target.Store(a)
	var acked, resent atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for bn := range batches {
				events := eventsLike(installationEvent("acme-infra", 987656, "shipper", "GET", "/orgs/:org"),
					fmt.Sprintf("k%d-%d", w, bn), perBatch, now)
				body := ndjson(t, events)
				for attempt := 0; ; attempt++ {
					r := target.Load()
					resp, rb, err := r.try("POST", httpapi.IngestPath, token, body)
					if err == nil && resp.StatusCode == http.StatusOK {
						acked.Add(1)
						break
					}
					if r == b || attempt > 100 {
						t.Errorf("batch %d-%d on %s: %v %v %s", w, bn, r.url, err, resp, rb)
						return
					}
					target.CompareAndSwap(a, b) // A is gone: fail over
					resent.Add(1)
				}
			}
		})
	}
	for acked.Load() < 5 {
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	killedAfter := acked.Load()
	wg.Wait()
	if t.Failed() {
		return
	}
	if killedAfter >= workers*batches {
		t.Fatalf("A was killed after every batch was acknowledged; the test proves nothing")
	}
	got, _ := summary(t, b, token, "acme-infra/insights/api/summary-stats/installation/987656", now.Add(-time.Hour).Truncate(time.Minute))
	if got != workers*batches*perBatch {
		t.Fatalf("after A was killed and clients re-sent to B, %d events are counted, want exactly %d", got, workers*batches*perBatch)
	}
	t.Logf("A killed after %d of %d batches; %d batches re-sent to B; %d events counted once", killedAfter, workers*batches, resent.Load(), got)
}
