// Package jobs runs periodic background work (roll-up compaction,
// retention, scheduled reports) so that each job runs once per period
// across every ghusage replica sharing a backend.
//
// A job is a plain func(ctx) error with a period. Before running a job a
// Scheduler takes the job's lease from a Locker: the lease is granted only
// when no live lease exists and the last run started at least one period
// ago, so of several replicas ticking at once exactly one runs it. A lease
// expires after the job's timeout, so a replica that dies mid-job blocks
// the job only until then. MemoryLocker serves a single process; the
// PostgreSQL store implements Locker with a leases table for many.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Job is one periodic background job.
type Job struct {
	// Name identifies the job across replicas; it is the lease key.
	Name string
	// Every is the period: a run starts at most once per period, on one replica.
	Every time.Duration
	// Timeout bounds one run: its context is cancelled then, and its lease
	// expires shortly after, letting another replica run it. Zero means Every.
	Timeout time.Duration
	// Run does the work. It should stop when ctx is done.
	Run func(ctx context.Context) error
}

// Locker grants job leases. Implementations must make Acquire atomic across
// every scheduler that shares them. Times come from the caller's clock.
type Locker interface {
	// Acquire grants holder the lease on name until now+ttl, and records a
	// run started at now, if no other lease on name is live at now and the
	// last recorded run started at or before now-every. It reports whether
	// the lease was granted.
	Acquire(ctx context.Context, name, holder string, now time.Time, every, ttl time.Duration) (bool, error)
	// Release ends holder's lease on name at now; the run's start stays
	// recorded, so the job is next due one period after it started. Releasing
	// a lease that is not holder's does nothing.
	Release(ctx context.Context, name, holder string, now time.Time) error
}

// Options configure a Scheduler. The zero value is usable.
type Options struct {
	// Holder names this replica in leases; by default host name plus a random suffix.
	Holder string
	// Tick is how often the scheduler looks for due jobs; default 10s.
	Tick   time.Duration
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default discards
	// Ran, when set, is called after each run this scheduler makes, with
	// the run's error; servers count runs in metrics with it.
	Ran func(job string, err error)
}

// leaseGrace is how long a lease outlives its job's timeout, so a run that
// ends on its deadline releases before anyone else may start.
const leaseGrace = 5 * time.Second

// Scheduler runs registered jobs when they are due and their lease is free.
type Scheduler struct {
	locker Locker
	holder string
	tick   time.Duration
	now    func() time.Time
	log    *slog.Logger
	ran    func(string, error)

	mu      sync.Mutex
	jobs    []Job
	running map[string]bool
}

// New returns a scheduler taking leases from locker.
func New(locker Locker, opts Options) *Scheduler {
	if opts.Holder == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		rand.Read(b)
		opts.Holder = host + "-" + hex.EncodeToString(b)
	}
	if opts.Tick <= 0 {
		opts.Tick = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Ran == nil {
		opts.Ran = func(string, error) {}
	}
	return &Scheduler{locker: locker, holder: opts.Holder, tick: opts.Tick, now: opts.Now,
		log: opts.Logger, ran: opts.Ran, running: map[string]bool{}}
}

// Holder is the name this scheduler takes leases under.
func (s *Scheduler) Holder() string { return s.holder }

// Add registers a job. Names must be unique and periods positive.
func (s *Scheduler) Add(j Job) error {
	if j.Name == "" || j.Every <= 0 || j.Run == nil {
		return errors.New("jobs: a job needs a name, a positive period and a Run function")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.jobs {
		if k.Name == j.Name {
			return fmt.Errorf("jobs: job %q added twice", j.Name)
		}
	}
	s.jobs = append(s.jobs, j)
	return nil
}

// Run looks for due jobs every tick until ctx is done, running each in its
// own goroutine, then waits for running jobs to return.
func (s *Scheduler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for {
		s.start(ctx, &wg)
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

// RunDue runs, one after the other, every job that is due and whose lease
// this scheduler gets, and returns their names. It is one tick of Run,
// waited for; tests and the CLI use it.
func (s *Scheduler) RunDue(ctx context.Context) []string {
	var ran []string
	for _, j := range s.snapshot() {
		if s.claim(ctx, j) {
			s.runOne(ctx, j)
			ran = append(ran, j.Name)
		}
	}
	return ran
}

func (s *Scheduler) snapshot() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Job(nil), s.jobs...)
}

func (s *Scheduler) start(ctx context.Context, wg *sync.WaitGroup) {
	for _, j := range s.snapshot() {
		if !s.claim(ctx, j) {
			continue
		}
		wg.Go(func() { s.runOne(ctx, j) })
	}
}

func timeout(j Job) time.Duration {
	if j.Timeout > 0 {
		return j.Timeout
	}
	return j.Every
}

// claim takes j's lease unless this scheduler is running j already.
func (s *Scheduler) claim(ctx context.Context, j Job) bool {
	s.mu.Lock()
	busy := s.running[j.Name]
	if !busy {
		s.running[j.Name] = true
	}
	s.mu.Unlock()
	if busy {
		return false
	}
	ok, err := s.locker.Acquire(ctx, j.Name, s.holder, s.now(), j.Every, timeout(j)+leaseGrace)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("job lease unavailable", "job", j.Name, "err", err)
	}
	if !ok || err != nil {
		s.done(j)
		return false
	}
	return true
}

func (s *Scheduler) done(j Job) {
	s.mu.Lock()
	delete(s.running, j.Name)
	s.mu.Unlock()
}

// runOne runs a claimed job, then releases its lease.
func (s *Scheduler) runOne(ctx context.Context, j Job) {
	defer s.done(j)
	start := s.now()
	jctx, cancel := context.WithTimeout(ctx, timeout(j))
	err := safeRun(jctx, j)
	cancel()
	s.ran(j.Name, err)
	if err != nil {
		s.log.Error("job failed", "job", j.Name, "holder", s.holder, "err", err, "duration", s.now().Sub(start))
	} else {
		s.log.Info("job ran", "job", j.Name, "holder", s.holder, "duration", s.now().Sub(start))
	}
	// Release even when ctx is done, so a clean shutdown frees the lease.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	if err := s.locker.Release(rctx, j.Name, s.holder, s.now()); err != nil {
		s.log.Warn("job lease not released; it will expire", "job", j.Name, "err", err)
	}
}

// safeRun turns a panicking job into an error, so one bad job does not
// take the replica down.
func safeRun(ctx context.Context, j Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job %s panicked: %v", j.Name, p)
		}
	}()
	return j.Run(ctx)
}

// MemoryLocker is a Locker for schedulers in one process (the embedded,
// single-node setup). Its leases are lost on restart, so a restart may run
// a job again early.
type MemoryLocker struct {
	mu     sync.Mutex
	leases map[string]memLease
}

type memLease struct {
	holder  string
	expires time.Time
	started time.Time
}

// NewMemoryLocker returns an empty in-process Locker.
func NewMemoryLocker() *MemoryLocker { return &MemoryLocker{leases: map[string]memLease{}} }

// Acquire implements Locker.
func (m *MemoryLocker) Acquire(_ context.Context, name, holder string, now time.Time, every, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[name]; ok && (now.Before(l.expires) || now.Before(l.started.Add(every))) {
		return false, nil
	}
	m.leases[name] = memLease{holder: holder, expires: now.Add(ttl), started: now}
	return true, nil
}

// Release implements Locker.
func (m *MemoryLocker) Release(_ context.Context, name, holder string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[name]; ok && l.holder == holder {
		l.expires = now
		m.leases[name] = l
	}
	return nil
}
