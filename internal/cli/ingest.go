package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/server"
)

const ingestHelp = `Usage:
  ghusage ingest api-requests [flags] FILE|-
  ghusage ingest server-statistics --account ACCOUNT [flags] FILE|-   (ingest server-statistics help)
  ghusage ingest copilot-usage [flags] FILE|-   (ingest copilot-usage -h)

Reads API request events, one JSON object per line (NDJSON, gzip accepted),
from FILE or standard input (-) and records them for API insights:
  with --url, by posting batches to a ghusage server's ingest endpoint
  (POST /ghusage/v1/ingest/api-requests) with a token that has the
  ghusage:ingest scope; without --url, straight into the local store.
Each line is checked before it is sent; a batch with an invalid line is not
sent, and the error names every bad line and field. Batches the server did
not acknowledge are retried (events carry ids, so a retry never double
counts). The event format is in doc/insights.md.
`

// ingestOptions are the flags of ingest api-requests.
type ingestOptions struct {
	url       string
	token     string
	batchSize int
	retryFor  time.Duration
	progress  bool
	parallel  int
}

func runIngest(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stderr, ingestHelp)
		if len(args) == 0 {
			return ErrUsage
		}
		return nil
	}
	switch args[0] {
	case "api-requests":
	case "billing-usage":
		return runIngestBilling(ctx, e, args[1:])
	case "server-statistics":
		return runIngestServerStats(ctx, e, args[1:])
	case "copilot-usage":
		return runIngestCopilot(ctx, e, args[1:])
	default:
		fmt.Fprint(e.stderr, ingestHelp)
		return fmt.Errorf("unknown ingest kind %q: use api-requests, billing-usage, server-statistics or copilot-usage", args[0])
	}
	cfg := server.DefaultConfig()
	f := newFlagSet("ingest api-requests", e.getenv, e.stderr)
	storeFlags(f, &cfg)
	var o ingestOptions
	f.stringVar(&o.url, "url", "", "base URL of a ghusage server to post to (e.g. http://127.0.0.1:8080); empty writes to the local store")
	f.stringVar(&o.token, "token", "", "token with the ghusage:ingest scope, for --url")
	f.intVar(&o.batchSize, "batch-size", 50_000, fmt.Sprintf("events per batch (1 to %d)", insights.MaxBatch))
	f.durationVar(&o.retryFor, "retry-for", 2*time.Minute, "how long to keep retrying a batch the server did not acknowledge (connection errors, 5xx, 429, rate limits; Retry-After is honoured)")
	f.intVar(&o.parallel, "parallel", 1, "batches in flight at once")
	f.boolVar(&o.progress, "progress", isTerminal(e.stderr), "show progress on standard error (default: when it is a terminal)")
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	if len(f.args) != 1 {
		fmt.Fprint(e.stderr, ingestHelp)
		return fmt.Errorf("ingest api-requests takes one FILE (or - for standard input)")
	}
	if o.batchSize < 1 || o.batchSize > insights.MaxBatch {
		return fmt.Errorf("--batch-size %d: use 1 to %d", o.batchSize, insights.MaxBatch)
	}
	if o.parallel < 1 || o.parallel > 16 {
		return fmt.Errorf("--parallel %d: use 1 to 16", o.parallel)
	}
	in := e.stdin
	if name := f.args[0]; name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return err
		}
		defer file.Close()
		in = file
	}
	var sink batchSink
	if o.url != "" {
		if o.token == "" {
			return errors.New("--url needs --token (or GHUSAGE_TOKEN): a token with the ghusage:ingest scope")
		}
		sink = &httpSink{base: strings.TrimSuffix(o.url, "/"), token: o.token, retryFor: o.retryFor,
			client: &http.Client{Timeout: 5 * time.Minute}, notify: e.stderr}
	} else {
		st, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		is, ok := st.(insights.Store)
		if !ok {
			return fmt.Errorf("the %s store does not keep API insights", cfg.Store)
		}
		sink = &storeSink{svc: insights.NewService(is, time.Now)}
	}
	var prog io.Writer
	if o.progress {
		prog = e.stderr
	}
	total, err := IngestNDJSON(ctx, in, o.batchSize, o.parallel, sink, prog)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d events read: %d recorded, %d already recorded (duplicates)\n", total.Received, total.Recorded, total.Duplicates)
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// batch is a run of valid NDJSON lines and their events.
type batch struct {
	body   []byte
	events []insights.Event // decoded, for a store sink
	n      int              // events in the batch
	first  int              // file line of the first event
}

// batchSink records batches: over HTTP or into a store.
type batchSink interface {
	send(ctx context.Context, b *batch) (insights.IngestResult, error)
	wantsEvents() bool
}

type storeSink struct{ svc *insights.Service }

func (s *storeSink) wantsEvents() bool { return true }
func (s *storeSink) send(ctx context.Context, b *batch) (insights.IngestResult, error) {
	return s.svc.Ingest(ctx, b.events)
}

func truncateOutput(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

// IngestNDJSON reads NDJSON events from r (gzip accepted), checks every
// line, and hands batches of size events to sink, with up to parallel
// batches in flight while the next ones are read (the server decodes one
// batch while it writes another). It stops at the first batch with invalid
// lines, naming them; batches sent before stay recorded (sending the file
// again is safe). Progress goes to prog when it is not nil.
func IngestNDJSON(ctx context.Context, r io.Reader, size, parallel int, sink batchSink, prog io.Writer) (insights.IngestResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *batch, 1)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- readBatches(ctx, r, size, sink.wantsEvents(), batches)
	}()
	var (
		mu        sync.Mutex
		total     insights.IngestResult
		sendErr   error
		start     = time.Now()
		lastShown time.Time
		wg        sync.WaitGroup
	)
	for w := 0; w < max(parallel, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				res, err := sink.send(ctx, b)
				mu.Lock()
				if err != nil {
					if sendErr == nil {
						sendErr = err
					}
					mu.Unlock()
					cancel()
					continue // drain, so the reader can stop
				}
				total.Received += res.Received
				total.Recorded += res.Recorded
				total.Duplicates += res.Duplicates
				if prog != nil && time.Since(lastShown) > 100*time.Millisecond {
					lastShown = time.Now()
					fmt.Fprintf(prog, "\r%d events, %d recorded, %d duplicates, %.0f events/s   ", total.Received, total.Recorded,
						total.Duplicates, float64(total.Received)/time.Since(start).Seconds())
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rerr := <-readErr
	if sendErr != nil {
		return total, sendErr
	}
	if prog != nil {
		fmt.Fprintf(prog, "\r%d events, %d recorded, %d duplicates, %.0f events/s   \n", total.Received, total.Recorded,
			total.Duplicates, float64(total.Received)/time.Since(start).Seconds())
	}
	return total, rerr
}

func readBatches(ctx context.Context, r io.Reader, size int, decode bool, out chan<- *batch) error {
	br := bufio.NewReaderSize(r, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("reading gzip input: %w", err)
		}
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	now := time.Now()
	cur := &batch{first: 1}
	var bad []string
	line := 0
	for {
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("line %d is longer than %d bytes", line+1, br.Size())
		}
		if err != nil && err != io.EOF {
			return err
		}
		if len(raw) > 0 {
			line++
			text := bytes.TrimSpace(raw)
			if len(text) > 0 {
				var ev insights.Event
				fe := insights.ParseEventJSON(text, &ev)
				if fe == nil {
					ev.Normalize()
					fe = ev.Validate(now, true)
				}
				switch {
				case fe != nil && fe.Field == "":
					bad = append(bad, fmt.Sprintf("line %d: %s", line, fe.Message))
				case fe != nil:
					bad = append(bad, fmt.Sprintf("line %d: %s: %s", line, fe.Field, fe.Message))
				default:
					if cur.n == 0 {
						cur.first = line
					}
					cur.n++
					if decode {
						cur.events = append(cur.events, ev)
					} else {
						cur.body = append(append(cur.body, text...), '\n')
					}
				}
				if len(bad) >= insights.MaxLineErrors {
					return fmt.Errorf("invalid events, nothing from line %d on was sent:\n  %s", cur.first, strings.Join(bad, "\n  "))
				}
			}
		}
		if err == io.EOF || cur.n == size {
			if len(bad) > 0 {
				return fmt.Errorf("invalid events, nothing from line %d on was sent:\n  %s", cur.first, strings.Join(bad, "\n  "))
			}
			if cur.n > 0 {
				select {
				case out <- cur:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			cur = &batch{first: line + 1}
		}
		if err == io.EOF {
			return nil
		}
	}
}
