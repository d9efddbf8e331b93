package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/cli"
)

const backupBatch = 100

// ingestBatch posts backupBatch events of user_id k to acme-web and
// reports whether they were acknowledged.
func ingestBatch(base, token string, k int64, now time.Time) (bool, error) {
	var b bytes.Buffer
	for i := range backupBatch {
		fmt.Fprintf(&b, `{"id":"bk-%d-%d","timestamp":%q,"org":"acme-web","actor_type":"classic_pat","actor_id":%d,"actor_name":"backup test","user_id":%d,"user_login":"u%d","subject_type":"user","subject_id":%d,"subject_name":"u%d","http_method":"GET","api_route":"/orgs/:org","rate_limited":false}`+"\n",
			k, i, now.Add(-time.Duration(i%50)*time.Minute).Format(time.RFC3339), k, k, k, k, k)
	}
	req, _ := http.NewRequest("POST", base+"/ghusage/v1/ingest/api-requests", &b)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return false, fmt.Errorf("ingest batch %d: %d %s", k, resp.StatusCode, body)
	}
	return true, nil
}

// userTotal is summary-stats' total_request_count of user_id k on acme-web.
func userTotal(t *testing.T, base, token string, k int64, since time.Time) int64 {
	t.Helper()
	code, body := get(t, fmt.Sprintf("%s/orgs/acme-web/insights/api/summary-stats/users/%d?min_timestamp=%s", base, k, url.QueryEscape(since.Format(time.RFC3339))), token)
	if code != 200 {
		t.Fatalf("summary-stats of user %d: %d %s", k, code, body)
	}
	var s struct {
		Total int64 `json:"total_request_count"`
	}
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	return s.Total
}

func runCmd(args ...string) (string, error) {
	var out, errb bytes.Buffer
	err := cli.Run(context.Background(), args, func(string) string { return "" }, nil, &out, &errb)
	return out.String() + errb.String(), err
}

// TestBackupWhileIngestingAndRestore: clients post batches while `ghusage
// backup` runs against the serving data directory. The backup holds every
// batch acknowledged before it started, none sent after it finished, and
// each batch whole or not at all. Restored into a fresh data directory,
// `serve` starts on it and answers the same counts.
func TestBackupWhileIngestingAndRestore(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, nil, "--demo", "--demo-scale", "0.2", "--data-dir", dir)
	now := time.Now().UTC().Truncate(time.Second)

	type batch struct {
		sent, acked time.Time
		ok          bool
	}
	var (
		mu      sync.Mutex
		batches = map[int64]*batch{}
		next    atomic.Int64
		stop    atomic.Bool
		wg      sync.WaitGroup
		errs    = make(chan error, 8)
	)
	next.Store(900000)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				k := next.Add(1)
				b := &batch{sent: time.Now()}
				ok, err := ingestBatch(s.url, s.token, k, now)
				b.acked, b.ok = time.Now(), ok
				mu.Lock()
				batches[k] = b
				mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	acked := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(batches)
	}
	for deadline := time.Now().Add(30 * time.Second); acked() < 15; {
		if time.Now().After(deadline) {
			select {
			case err := <-errs:
				t.Fatal(err)
			default:
			}
			t.Fatal("fewer than 15 batches acknowledged in 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	file := filepath.Join(t.TempDir(), "ghusage-backup.db")
	backupStart := time.Now()
	if out, err := runCmd("backup", "--data-dir", dir, "--to", file); err != nil || !strings.Contains(out, "written to "+file) {
		t.Fatalf("backup while serving: %v\n%s", err, out)
	}
	backupEnd := time.Now()
	for target := acked() + 10; acked() < target; {
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// A second backup to the same file is refused; a running server's
	// data directory cannot be restored over.
	if _, err := runCmd("backup", "--data-dir", dir, file); err == nil {
		t.Error("backup over an existing file succeeded")
	}
	if out, err := runCmd("restore", "--data-dir", dir, "--force", file); err == nil || !strings.Contains(err.Error(), "running ghusage serve") {
		t.Errorf("restore over a serving data directory: %v %s", err, out)
	}

	if _, err := runCmd("serve", "--addr", "127.0.0.1:0", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a second serve on the same data directory: %v", err)
	}

	restored := t.TempDir()
	if out, err := runCmd("restore", "--data-dir", restored, "--from", file); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if _, err := runCmd("restore", "--data-dir", restored, file); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("restore over a store without --force: %v", err)
	}
	r := startServe(t, nil, "--data-dir", restored)
	since := now.Add(-2 * time.Hour)
	var before, after, inBackup, ackedDuring int
	for _, b := range batches {
		if b.ok && b.acked.After(backupStart) && b.acked.Before(backupEnd) {
			ackedDuring++
		}
	}
	for k, b := range batches {
		got := userTotal(t, r.url, s.token, k, since)
		switch {
		case got != 0 && got != backupBatch:
			t.Errorf("batch %d: %d of %d events in the backup; want all or none", k, got, backupBatch)
		case b.ok && b.acked.Before(backupStart):
			before++
			if got != backupBatch {
				t.Errorf("batch %d acknowledged %v before the backup started: %d events restored, want %d", k, backupStart.Sub(b.acked), got, backupBatch)
			}
		case b.sent.After(backupEnd):
			after++
			if got != 0 {
				t.Errorf("batch %d sent after the backup ended is in it", k)
			}
		}
		if got == backupBatch {
			inBackup++
		}
	}
	if before < 15 || after < 1 {
		t.Fatalf("%d batches acknowledged before the backup, %d sent after it: the test did not overlap ingestion", before, after)
	}
	t.Logf("%d batches: %d acknowledged before the backup, %d sent after it, %d in the backup; the backup took %v, %d batches were acknowledged during it",
		len(batches), before, after, inBackup, backupEnd.Sub(backupStart), ackedDuring)
	// The live server has every acknowledged batch, of course.
	for k, b := range batches {
		if b.ok && userTotal(t, s.url, s.token, k, since) != backupBatch {
			t.Errorf("live server lost acknowledged batch %d", k)
		}
	}
}
