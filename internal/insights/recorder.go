package insights

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder buffers metered request events in memory and writes them to the
// service in batches, so metering costs the request path one append under
// a mutex. Events are written at least every FlushInterval; a crash loses
// at most that much metering (ingested events, by contrast, are
// acknowledged only once durable).
type Recorder struct {
	svc      *Service
	log      *slog.Logger
	interval time.Duration
	maxBuf   int

	mu  sync.Mutex
	buf []Event
	// spare is the buffer of the last batch written, emptied, for the next
	// one: a busy server then appends into memory it already has instead
	// of growing a new buffer from nothing after every flush.
	spare   []Event
	dropped int64
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
	started atomic.Bool
}

// FlushInterval is how often the recorder writes buffered events.
const FlushInterval = 250 * time.Millisecond

// RecorderBatch is the buffer size that triggers an early flush.
const RecorderBatch = 8192

// NewRecorder returns a recorder writing to svc. Start it with Run.
func NewRecorder(svc *Service, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{svc: svc, log: log, interval: FlushInterval, maxBuf: 1 << 20,
		wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
}

// Record buffers e. When the buffer is full (the store has fallen far
// behind) the event is dropped and counted, rather than blocking requests.
func (r *Recorder) Record(e Event) {
	r.mu.Lock()
	if len(r.buf) >= r.maxBuf {
		r.dropped++
		r.mu.Unlock()
		return
	}
	if r.buf == nil && r.spare != nil {
		r.buf, r.spare = r.spare, nil
	}
	r.buf = append(r.buf, e)
	n := len(r.buf)
	r.mu.Unlock()
	if n == RecorderBatch {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// Dropped reports how many events were dropped because the buffer was full.
func (r *Recorder) Dropped() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Run flushes the buffer every FlushInterval until Close is called or ctx
// ends, then flushes what is left.
func (r *Recorder) Run(ctx context.Context) {
	r.started.Store(true)
	defer close(r.stopped)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.flushLog(context.WithoutCancel(ctx))
			return
		case <-r.done:
			r.flushLog(context.WithoutCancel(ctx))
			return
		case <-t.C:
		case <-r.wake:
		}
		r.flushLog(ctx)
	}
}

func (r *Recorder) flushLog(ctx context.Context) {
	if err := r.Flush(ctx); err != nil {
		r.log.Error("insights: writing metered events", "err", err)
	}
}

// Flush writes the buffered events now.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	batch := r.buf
	r.buf = nil
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if _, err := r.svc.Ingest(ctx, batch); err != nil {
		r.mu.Lock() // put them back, in front of newer events, for the next try
		if len(r.buf)+len(batch) <= r.maxBuf {
			r.buf = append(batch, r.buf...)
		} else {
			r.dropped += int64(len(batch))
		}
		r.mu.Unlock()
		return err
	}
	// Ingest has written the batch and does not keep it: its buffer is
	// the next spare, emptied so it holds no strings alive. Buffers larger
	// than a few early flushes' worth are left to the collector.
	if cap(batch) <= 4*RecorderBatch {
		clear(batch)
		r.mu.Lock()
		if r.spare == nil {
			r.spare = batch[:0]
		}
		r.mu.Unlock()
	}
	return nil
}

// Close stops Run after a final flush and waits for it. It is safe to call
// when Run was never started.
func (r *Recorder) Close() {
	r.once.Do(func() { close(r.done) })
	if !r.started.Load() {
		r.flushLog(context.Background())
		return
	}
	<-r.stopped
}
