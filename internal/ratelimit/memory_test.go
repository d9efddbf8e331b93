package ratelimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/ratelimit/ratelimittest"
)

func TestMemory(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, c *ratelimittest.Clock) ratelimit.Store {
		return ratelimit.NewMemory(c.Now)
	})
}

func TestMemorySweepsExpiredPools(t *testing.T) {
	c := ratelimittest.NewClock(time.Unix(1_800_000_000, 0))
	m := ratelimit.NewMemory(c.Now)
	ctx := context.Background()
	for i := range 5000 {
		m.Take(ctx, ratelimit.Charge{Pool: ratelimit.UserPool(int64(i)), Resource: ratelimit.Search, Cost: 1, Limit: 30, Window: time.Minute})
	}
	if n := m.Len(); n != 5000 {
		t.Fatalf("pools = %d, want 5000", n)
	}
	c.Advance(2 * time.Minute)
	for i := range 70000 {
		m.Take(ctx, ratelimit.Charge{Pool: ratelimit.UserPool(int64(10000 + i%3)), Resource: ratelimit.Search, Cost: 1, Limit: 1 << 30, Window: time.Minute})
		m.Take(ctx, ratelimit.Charge{Pool: ratelimit.InstallationPool(int64(i)), Resource: ratelimit.Core, Cost: 0, Limit: 1, Window: time.Minute})
	}
	for i := range 200000 {
		c.Advance(time.Millisecond)
		m.Take(ctx, ratelimit.Charge{Pool: ratelimit.IPPool(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})), Resource: ratelimit.Core, Cost: 1, Limit: 60, Window: time.Second})
	}
	if n := m.Len(); n > 70000 {
		t.Fatalf("pools = %d after their windows expired, want them swept", n)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         ratelimit.Resource
	}{
		{"GET", "/rate_limit", ratelimit.Core},
		{"GET", "/orgs/acme/insights/api/summary-stats", ratelimit.Core},
		{"GET", "/api/v3/orgs/acme/insights/api/summary-stats", ratelimit.Core},
		{"GET", "/search/code", ratelimit.CodeSearch},
		{"GET", "/api/v3/search/code/", ratelimit.CodeSearch},
		{"GET", "/search/issues", ratelimit.Search},
		{"POST", "/graphql", ratelimit.GraphQL},
		{"POST", "/app-manifests/abc/conversions", ratelimit.IntegrationManifest},
		{"GET", "/app-manifests/abc/conversions", ratelimit.Core},
		{"POST", "/repos/o/r/dependency-graph/snapshots", ratelimit.DependencySnapshots},
		{"GET", "/repos/o/r/dependency-graph/sbom", ratelimit.DependencySBOM},
		{"POST", "/repos/o/r/code-scanning/sarifs", ratelimit.CodeScanningUpload},
		{"POST", "/repos/o/r/code-scanning/alerts/3/autofix", ratelimit.CodeScanningAutofix},
		{"GET", "/repos/o/r/code-scanning/alerts/3/autofix", ratelimit.Core},
		{"POST", "/orgs/acme/actions/runners/registration-token", ratelimit.ActionsRunnerRegistration},
		{"POST", "/repos/o/r/actions/runners/registration-token", ratelimit.ActionsRunnerRegistration},
		{"POST", "/enterprises/acme/actions/runners/registration-token", ratelimit.ActionsRunnerRegistration},
		{"GET", "/scim/v2/enterprises/acme/Users", ratelimit.SCIM},
		{"PUT", "/repos/o/r/import", ratelimit.SourceImport},
		{"GET", "/orgs/acme/audit-log", ratelimit.AuditLog},
		{"GET", "/enterprises/acme/audit-log", ratelimit.AuditLog},
		{"GET", "/enterprises/acme/audit-log/streams", ratelimit.AuditLogStreaming},
		{"GET", "/enterprises/acme/audit-log/streams/4", ratelimit.AuditLogStreaming},
		{"GET", "/", ratelimit.Core},
		{"GET", "/orgs/acme/audit-log/", ratelimit.AuditLog},
		{"GET", "/orgs/acme/audit-log//", ratelimit.Core},
		{"GET", "/orgs/acme/audit-log/x/y/z/w/v/u/t", ratelimit.Core},
		{"POST", "/repos/o/r/code-scanning/alerts/3/autofix/x/y/z", ratelimit.Core},
		{"GET", "/a/b/c/d/e/f/g/h/i/j/k", ratelimit.Core},
		{"GET", "search/code", ratelimit.Core},
		{"GET", "", ratelimit.Core},
	} {
		if got := ratelimit.Classify(tc.method, tc.path); got != tc.want {
			t.Errorf("Classify(%s %s) = %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestResourceNames(t *testing.T) {
	want := []string{"core", "search", "code_search", "graphql", "integration_manifest", "dependency_snapshots",
		"dependency_sbom", "code_scanning_upload", "code_scanning_autofix", "actions_runner_registration", "scim",
		"source_import", "audit_log", "audit_log_streaming"}
	if len(want) != ratelimit.NumResources {
		t.Fatalf("NumResources = %d, want %d", ratelimit.NumResources, len(want))
	}
	for i, n := range want {
		r, ok := ratelimit.ParseResource(n)
		if !ok || r != ratelimit.Resource(i) || r.String() != n {
			t.Errorf("resource %d: ParseResource(%q) = %v %v", i, n, r, ok)
		}
	}
}

func TestConfigParsing(t *testing.T) {
	c := ratelimit.DefaultConfig()
	if err := c.ParseLimits("core=10, search=3", false); err != nil {
		t.Fatal(err)
	}
	if err := c.ParseLimits("*=1", true); err != nil {
		t.Fatal(err)
	}
	if err := c.ParseWindows("core=2m"); err != nil {
		t.Fatal(err)
	}
	if c.Categories[ratelimit.Core].Authenticated != 10 || c.Categories[ratelimit.Search].Authenticated != 3 ||
		c.Categories[ratelimit.AuditLog].Unauthenticated != 1 || c.Categories[ratelimit.Core].Window != 2*time.Minute {
		t.Fatalf("parsed config: %+v", c.Categories)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"cores=1", "core", "core=-1", "core=x"} {
		if err := c.ParseLimits(bad, false); err == nil {
			t.Errorf("ParseLimits(%q) succeeded", bad)
		}
	}
	for _, bad := range []string{"core=1ms", "core=1500ms", "core=soon"} {
		if err := c.ParseWindows(bad); err == nil {
			t.Errorf("ParseWindows(%q) succeeded", bad)
		}
	}
}

func TestFailOpenAndClosed(t *testing.T) {
	for _, open := range []bool{true, false} {
		cfg := ratelimit.DefaultConfig()
		cfg.FailOpen = open
		l := ratelimit.New(cfg, brokenStore{}, nil)
		req := ratelimit.Request{Subject: ratelimit.Subject{Pool: ratelimit.UserPool(1)}, Counted: true}
		d, err := l.Admit(context.Background(), &req)
		if open && (err != nil || d.Verdict != ratelimit.Allowed || !d.Degraded) {
			t.Errorf("fail open: %+v %v", d, err)
		}
		if !open && err != ratelimit.ErrUnavailable {
			t.Errorf("fail closed: err = %v, want ErrUnavailable", err)
		}
		st := l.Stats()
		if st.StoreErrors != 1 || open && st.FailedOpen != 1 || !open && st.FailedClosed != 1 {
			t.Errorf("stats (open=%v): %+v", open, st)
		}
	}
}

type brokenStore struct{}

func (brokenStore) Take(context.Context, ratelimit.Charge) (ratelimit.Result, error) {
	return ratelimit.Result{}, fmt.Errorf("connection refused")
}
func (brokenStore) Finish(context.Context, ratelimit.Ticket) error {
	return fmt.Errorf("connection refused")
}
func (brokenStore) Peek(context.Context, ratelimit.Pool, *[ratelimit.NumResources]time.Duration) ([ratelimit.NumResources]ratelimit.Window, error) {
	return [ratelimit.NumResources]ratelimit.Window{}, fmt.Errorf("connection refused")
}

// BenchmarkMemoryDecision measures one in-process decision (primary window,
// endpoint points and a concurrency slot, then Finish) over 10,000 users.
func BenchmarkMemoryDecision(b *testing.B) {
	l := ratelimit.New(ratelimit.DefaultConfig(), ratelimit.NewMemory(time.Now), nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int64(0)
		for pb.Next() {
			i++
			req := ratelimit.Request{Subject: ratelimit.Subject{Pool: ratelimit.UserPool(i % 10000)}, Counted: true,
				Resource: ratelimit.Core, Endpoint: "GET /orgs/{org}/insights/api/summary-stats"}
			d, _ := l.Admit(ctx, &req)
			l.Finish(ctx, &d, false)
		}
	})
}

// BenchmarkMemoryTake measures the bare store decision (primary only).
func BenchmarkMemoryTake(b *testing.B) {
	m := ratelimit.NewMemory(time.Now)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int64(0)
		for pb.Next() {
			i++
			m.Take(ctx, ratelimit.Charge{Pool: ratelimit.UserPool(i % 10000), Cost: 1, Limit: 1 << 40, Window: time.Hour})
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	for b.Loop() {
		ratelimit.Classify("POST", "/api/v3/repos/octo/hello/code-scanning/alerts/3/autofix")
	}
}

func FuzzClassify(f *testing.F) {
	for _, p := range []string{"/search/code", "/repos/o/r/code-scanning/alerts/1/autofix", "/orgs/a/audit-log//", "", "/", "//"} {
		f.Add("POST", p)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		if r := ratelimit.Classify(method, path); int(r) >= ratelimit.NumResources {
			t.Fatalf("Classify(%q, %q) = %d", method, path, r)
		}
	})
}

// flakyStore fails while down is set.
type flakyStore struct {
	ratelimit.Store
	down bool
}

func (f *flakyStore) Take(ctx context.Context, c ratelimit.Charge) (ratelimit.Result, error) {
	if f.down {
		return ratelimit.Result{}, fmt.Errorf("dial tcp: connection refused")
	}
	return f.Store.Take(ctx, c)
}

// TestStoreOutageIsLoggedOnce checks that an outage writes one error line
// when it starts and one line when the store answers again, whatever the
// number of requests in between.
func TestStoreOutageIsLoggedOnce(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	st := &flakyStore{Store: ratelimit.NewMemory(time.Now)}
	l := ratelimit.New(ratelimit.DefaultConfig(), st, log)
	req := ratelimit.Request{Subject: ratelimit.Subject{Pool: ratelimit.UserPool(1)}, Counted: true}
	ctx := context.Background()
	admit := func() error { _, err := l.Admit(ctx, &req); return err }
	if err := admit(); err != nil {
		t.Fatal(err)
	}
	st.down = true
	for range 5 {
		if err := admit(); err != ratelimit.ErrUnavailable {
			t.Fatalf("during the outage: %v", err)
		}
	}
	st.down = false
	for range 3 {
		if err := admit(); err != nil {
			t.Fatalf("after the outage: %v", err)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "rate limit store unreachable; failing closed"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, "rate limit store reachable again"); n != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", n, out)
	}
	if st := l.Stats(); st.StoreErrors != 5 || st.FailedClosed != 5 {
		t.Errorf("stats: %+v", st)
	}
}
