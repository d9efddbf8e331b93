package insights

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// recordingStore is an insights Store for the recorder tests. It fails
// every failEvery-th InsightsIngest call (none when 0) and counts the
// event ids of the batches it accepts. While a call runs it holds the
// batch a little, so concurrent Records and Flushes can run, and checks
// that nobody changed the batch under it and that no other call running
// at the same time was given the same memory.
type recordingStore struct {
	Store     // the methods the recorder never calls
	failEvery int64
	hold      time.Duration

	calls atomic.Int64

	mu         sync.Mutex
	seen       map[string]int
	held       map[int64][2]uintptr // call number -> the batch's memory, while the call runs
	violations []string
	kept       [][]Event // with keep: the batches themselves, as a store that broke the contract would keep them
	keep       bool
	during     func() // when set, called while a call holds its batch
}

var errRecordingStore = errors.New("recordingStore: failing this batch on purpose")

func (f *recordingStore) InsightsIngest(ctx context.Context, events []Event, cut Cutoffs) (IngestResult, error) {
	n := f.calls.Add(1)
	snapshot := slices.Clone(events)
	start := uintptr(unsafe.Pointer(unsafe.SliceData(events)))
	end := start + uintptr(cap(events))*unsafe.Sizeof(Event{})
	f.mu.Lock()
	for m, r := range f.held {
		if len(events) > 0 && start < r[1] && r[0] < end {
			f.violations = append(f.violations, fmt.Sprintf("calls %d and %d were given overlapping batches at the same time", m, n))
		}
	}
	if len(events) > 0 {
		f.held[n] = [2]uintptr{start, end}
	}
	f.mu.Unlock()

	time.Sleep(f.hold) // the recorder keeps taking events meanwhile
	if f.during != nil {
		f.during()
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.held, n)
	if !slices.Equal(events, snapshot) {
		f.violations = append(f.violations, fmt.Sprintf("call %d: the batch changed while InsightsIngest held it", n))
	}
	if f.failEvery > 0 && n%f.failEvery == 0 {
		return IngestResult{}, errRecordingStore
	}
	for _, e := range events {
		f.seen[e.ID]++
	}
	if f.keep {
		f.kept = append(f.kept, events, snapshot)
	}
	return IngestResult{Received: len(events), Recorded: len(events)}, nil
}

func newRecordingStore(failEvery int64, hold time.Duration) *recordingStore {
	return &recordingStore{failEvery: failEvery, hold: hold, seen: map[string]int{}, held: map[int64][2]uintptr{}}
}

func recorderEvent(id string) Event {
	return Event{ID: id, Timestamp: now, Org: "acme", ActorType: "classic_pat", ActorID: 7, ActorName: "ci",
		SubjectType: SubjectUser, SubjectID: 7, SubjectName: "octocat", HTTPMethod: "GET", APIRoute: "/user"}
}

// TestRecorderWritesEveryEventOnce records from several goroutines while
// Run's ticker, early flushes and the recording goroutines themselves
// flush, against a store that fails every fourth batch: every event must
// reach the store exactly once (a failed batch is retried, never lost nor
// doubled), and no batch may change while the store holds it.
func TestRecorderWritesEveryEventOnce(t *testing.T) {
	const goroutines, perGoroutine = 4, 30_000
	st := newRecordingStore(4, 200*time.Microsecond)
	r := NewRecorder(NewService(st, func() time.Time { return now }), nil)
	r.interval = time.Millisecond // Run flushes often too
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan struct{})
	go func() { defer close(runDone); r.Run(ctx) }()

	var wg sync.WaitGroup
	var flushErrs atomic.Int64
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				r.Record(recorderEvent(fmt.Sprintf("%d-%d", g, i)))
				if i%1000 == 999 {
					if err := r.Flush(ctx); err != nil {
						if !errors.Is(err, errRecordingStore) {
							t.Errorf("Flush: %v", err)
						}
						flushErrs.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	r.Close()
	<-runDone
	// Close's last flush may have been one the store failed: the events
	// are back in the buffer, and the next flushes write them.
	for i := 0; ; i++ {
		err := r.Flush(context.Background())
		if err == nil {
			break
		}
		if !errors.Is(err, errRecordingStore) || i == 10 {
			t.Fatalf("final Flush: %v", err)
		}
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	for _, v := range st.violations {
		t.Error(v)
	}
	if calls := st.calls.Load(); calls < 8 {
		t.Fatalf("only %d store calls: the test did not exercise retries", calls)
	}
	t.Logf("%d store calls, %d failed flushes seen by the recording goroutines", st.calls.Load(), flushErrs.Load())
	if d := r.Dropped(); d != 0 {
		t.Errorf("%d events dropped", d)
	}
	if len(st.seen) != goroutines*perGoroutine {
		t.Errorf("the store got %d distinct events, want %d", len(st.seen), goroutines*perGoroutine)
	}
	for g := range goroutines {
		for i := range perGoroutine {
			id := fmt.Sprintf("%d-%d", g, i)
			if n := st.seen[id]; n != 1 {
				t.Fatalf("event %s written %d times", id, n)
			}
		}
	}
}

// TestRecorderReusesWrittenBatches pins why InsightsIngest must not keep
// the events slice after it returns: once a batch is written the recorder
// empties its buffer (so it holds no strings alive) and fills it with the
// next events. A failed batch is kept by the recorder and written again
// with the events that came after it.
func TestRecorderReusesWrittenBatches(t *testing.T) {
	ctx := context.Background()
	st := newRecordingStore(0, 0)
	st.keep = true
	r := NewRecorder(NewService(st, func() time.Time { return now }), nil)
	r.Record(recorderEvent("a"))
	r.Record(recorderEvent("b"))
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(st.kept) != 2 {
		t.Fatalf("%d batches kept", len(st.kept)/2)
	}
	given, copied := st.kept[0], st.kept[1]
	if copied[0].ID != "a" || copied[1].ID != "b" {
		t.Fatalf("the store was given %+v", copied)
	}
	if !slices.Equal(given, make([]Event, len(given))) {
		t.Errorf("after InsightsIngest returned, the written batch still holds %+v; the recorder is meant to empty it", given)
	}
	r.Record(recorderEvent("c"))
	if given[0].ID != "c" {
		t.Errorf("the next event went to a new buffer (the written batch holds %q): the recorder is meant to reuse it", given[0].ID)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(st.kept) != 4 || st.kept[3][0].ID != "c" || len(st.kept[3]) != 1 {
		t.Fatalf("second batch: %+v", st.kept[3:])
	}

	// A failed batch is written again, in front of the events recorded
	// while it was being written.
	st.failEvery = 3 // the next call is the third
	r.Record(recorderEvent("d"))
	st.during = func() { r.Record(recorderEvent("e")) }
	if err := r.Flush(ctx); !errors.Is(err, errRecordingStore) {
		t.Fatalf("Flush of a failing batch: %v", err)
	}
	st.during = nil
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	last := st.kept[len(st.kept)-1]
	if len(last) != 2 || last[0].ID != "d" || last[1].ID != "e" {
		t.Fatalf("after a failure the store was given %+v, want d then e", last)
	}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if st.seen[id] != 1 {
			t.Errorf("event %s written %d times", id, st.seen[id])
		}
	}
}
