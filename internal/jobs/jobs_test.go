package jobs_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/jobs"
	"github.com/ghusage/ghusage/internal/storetest"
)

// TestMemoryLocker runs the lease conformance cases on the in-process locker.
func TestMemoryLocker(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Backend {
		return storetest.Backend{Locker: jobs.NewMemoryLocker()}
	})
}

// clock is a manual clock shared by schedulers.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestSchedulersShareOneRunPerPeriod(t *testing.T) {
	lk := jobs.NewMemoryLocker()
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var runs atomic.Int32
	var scheds []*jobs.Scheduler
	for _, h := range []string{"replica-1", "replica-2", "replica-3"} {
		s := jobs.New(lk, jobs.Options{Holder: h, Now: clk.Now})
		if err := s.Add(jobs.Job{Name: "retention", Every: time.Hour, Run: func(context.Context) error {
			runs.Add(1)
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		scheds = append(scheds, s)
	}
	tickAll := func() {
		var wg sync.WaitGroup
		for _, s := range scheds {
			wg.Go(func() { s.RunDue(t.Context()) })
		}
		wg.Wait()
	}
	tickAll()
	if got := runs.Load(); got != 1 {
		t.Fatalf("after one tick on 3 schedulers the job ran %d times, want 1", got)
	}
	clk.Add(30 * time.Minute)
	tickAll()
	if got := runs.Load(); got != 1 {
		t.Fatalf("within the period the job ran %d times, want 1", got)
	}
	clk.Add(30 * time.Minute)
	tickAll()
	if got := runs.Load(); got != 2 {
		t.Fatalf("in the second period the job ran %d times in all, want 2", got)
	}
}

func TestFailingAndPanickingJobsReleaseTheirLease(t *testing.T) {
	lk := jobs.NewMemoryLocker()
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := jobs.New(lk, jobs.Options{Holder: "a", Now: clk.Now})
	calls := 0
	s.Add(jobs.Job{Name: "boom", Every: time.Minute, Timeout: time.Hour, Run: func(context.Context) error {
		calls++
		panic("boom")
	}})
	s.Add(jobs.Job{Name: "fail", Every: time.Minute, Timeout: time.Hour, Run: func(context.Context) error {
		return errors.New("no luck")
	}})
	if ran := s.RunDue(t.Context()); len(ran) != 2 {
		t.Fatalf("RunDue ran %v, want both jobs", ran)
	}
	// The lease outlives no job: one period later another replica runs
	// them, though the timeout (an hour) is far away.
	clk.Add(time.Minute)
	other := jobs.New(lk, jobs.Options{Holder: "b", Now: clk.Now})
	other.Add(jobs.Job{Name: "boom", Every: time.Minute, Run: func(context.Context) error { return nil }})
	if ran := other.RunDue(t.Context()); len(ran) != 1 {
		t.Fatalf("after a panicking run, another replica ran %v, want [boom]", ran)
	}
	if calls != 1 {
		t.Fatalf("panicking job called %d times", calls)
	}
}

func TestJobContextEndsAtTimeout(t *testing.T) {
	s := jobs.New(jobs.NewMemoryLocker(), jobs.Options{})
	var deadline time.Time
	var has bool
	s.Add(jobs.Job{Name: "slow", Every: time.Hour, Timeout: 3 * time.Minute, Run: func(ctx context.Context) error {
		deadline, has = ctx.Deadline()
		return nil
	}})
	before := time.Now()
	s.RunDue(t.Context())
	if !has || deadline.Before(before.Add(3*time.Minute)) || deadline.After(time.Now().Add(3*time.Minute)) {
		t.Fatalf("job context deadline = %v (set %v), want its timeout of 3m from start", deadline, has)
	}
}

func TestAddRejectsBadJobs(t *testing.T) {
	s := jobs.New(jobs.NewMemoryLocker(), jobs.Options{})
	ok := jobs.Job{Name: "x", Every: time.Minute, Run: func(context.Context) error { return nil }}
	if err := s.Add(ok); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ok); err == nil {
		t.Error("adding a job name twice was accepted")
	}
	if err := s.Add(jobs.Job{Name: "y", Run: ok.Run}); err == nil {
		t.Error("a job without a period was accepted")
	}
}

func TestRunStopsWithContext(t *testing.T) {
	s := jobs.New(jobs.NewMemoryLocker(), jobs.Options{Tick: time.Hour})
	ran := make(chan struct{})
	s.Add(jobs.Job{Name: "once", Every: time.Hour, Run: func(context.Context) error {
		close(ran)
		return nil
	}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-ran // the first tick runs due jobs at once
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
