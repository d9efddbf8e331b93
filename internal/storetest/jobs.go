package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/jobs"
)

type leaseCase struct {
	name string
	fn   func(t *testing.T, l jobs.Locker)
}

func runLeases(t *testing.T, open func(t *testing.T) Backend) {
	for _, c := range []leaseCase{
		{"OneHolderAtATime", testLeaseOneHolder},
		{"OncePerPeriod", testLeaseOncePerPeriod},
		{"ExpiredLeaseIsTakenOver", testLeaseExpiry},
		{"ReleaseByOtherHolderIgnored", testLeaseReleaseOther},
		{"ConcurrentAcquireOneWins", testLeaseConcurrent},
		{"NamesAreIndependent", testLeaseNames},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := open(t)
			if b.Locker == nil {
				t.Skip("backend has no jobs.Locker")
			}
			c.fn(t, b.Locker)
		})
	}
}

func acquire(t *testing.T, l jobs.Locker, name, holder string, now time.Time, every, ttl time.Duration) bool {
	t.Helper()
	ok, err := l.Acquire(t.Context(), name, holder, now, every, ttl)
	must(t, "Acquire", err)
	return ok
}

func testLeaseOneHolder(t *testing.T, l jobs.Locker) {
	t0 := testTime
	if !acquire(t, l, "retention", "a", t0, time.Minute, 10*time.Minute) {
		t.Fatal("first Acquire of a job was refused")
	}
	// While a holds it, nobody else gets it, even after a period.
	if acquire(t, l, "retention", "b", t0.Add(2*time.Minute), time.Minute, 10*time.Minute) {
		t.Fatal("b acquired a lease a holds")
	}
	if acquire(t, l, "retention", "a", t0.Add(2*time.Minute), time.Minute, 10*time.Minute) {
		t.Fatal("a acquired its own live lease again")
	}
	must(t, "Release", l.Release(t.Context(), "retention", "a", t0.Add(3*time.Minute)))
	if !acquire(t, l, "retention", "b", t0.Add(3*time.Minute), time.Minute, 10*time.Minute) {
		t.Fatal("b could not acquire a released lease whose period had passed")
	}
}

func testLeaseOncePerPeriod(t *testing.T, l jobs.Locker) {
	t0 := testTime
	if !acquire(t, l, "compact", "a", t0, time.Hour, 10*time.Minute) {
		t.Fatal("first Acquire refused")
	}
	must(t, "Release", l.Release(t.Context(), "compact", "a", t0.Add(time.Minute)))
	// Released, but the period that started at t0 is not over: no second run.
	for _, h := range []string{"a", "b"} {
		if acquire(t, l, "compact", h, t0.Add(2*time.Minute), time.Hour, 10*time.Minute) {
			t.Fatalf("%s ran the job twice in one period", h)
		}
	}
	if !acquire(t, l, "compact", "b", t0.Add(time.Hour), time.Hour, 10*time.Minute) {
		t.Fatal("the job was not due one period after its last start")
	}
}

func testLeaseExpiry(t *testing.T, l jobs.Locker) {
	t0 := testTime
	if !acquire(t, l, "report", "dead", t0, time.Minute, 10*time.Minute) {
		t.Fatal("first Acquire refused")
	}
	// "dead" never releases. Its lease blocks others until it expires.
	if acquire(t, l, "report", "alive", t0.Add(9*time.Minute), time.Minute, 10*time.Minute) {
		t.Fatal("a live lease was taken over")
	}
	if !acquire(t, l, "report", "alive", t0.Add(10*time.Minute), time.Minute, 10*time.Minute) {
		t.Fatal("an expired lease of a dead holder blocks the next run")
	}
	// The dead holder's late release does not free alive's lease.
	must(t, "Release", l.Release(t.Context(), "report", "dead", t0.Add(11*time.Minute)))
	if acquire(t, l, "report", "third", t0.Add(12*time.Minute), time.Minute, 10*time.Minute) {
		t.Fatal("a stale holder's release freed another holder's lease")
	}
}

func testLeaseReleaseOther(t *testing.T, l jobs.Locker) {
	t0 := testTime
	if !acquire(t, l, "j", "a", t0, time.Minute, time.Hour) {
		t.Fatal("first Acquire refused")
	}
	must(t, "Release by b", l.Release(t.Context(), "j", "b", t0.Add(time.Minute)))
	if acquire(t, l, "j", "b", t0.Add(2*time.Minute), time.Minute, time.Hour) {
		t.Fatal("b freed a's lease by releasing it")
	}
	// Releasing a job never leased is harmless.
	must(t, "Release unknown", l.Release(t.Context(), "never", "b", t0))
}

func testLeaseConcurrent(t *testing.T, l jobs.Locker) {
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range n {
		wg.Go(func() {
			ok, err := l.Acquire(t.Context(), "race", string(rune('a'+i)), testTime, time.Hour, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d of %d concurrent Acquires won, want exactly 1", won, n)
	}
}

func testLeaseNames(t *testing.T, l jobs.Locker) {
	if !acquire(t, l, "one", "a", testTime, time.Hour, time.Hour) {
		t.Fatal("Acquire one refused")
	}
	if !acquire(t, l, "two", "b", testTime, time.Hour, time.Hour) {
		t.Fatal("a lease on one job blocked another job")
	}
}
