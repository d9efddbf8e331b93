package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/server"
)

const ingestCopilotHelp = `Usage:
  ghusage ingest copilot-usage [flags] FILE|-

Reads per-user daily Copilot activity, one users-1-day line per user and
day (NDJSON, gzip accepted; doc/copilot.md), from FILE or standard input
(-) and records it: with --url by posting batches to a ghusage server
(POST /ghusage/v1/ingest/copilot-usage) with a token that has the
ghusage:ingest scope; without --url straight into the local store.
Every line is checked before anything is sent: a file with an invalid line
sends nothing, and the error names each bad line and field. A line for a
user and day already recorded replaces it, so sending a file again (or a
corrected one) is always safe.
`

// copilotSink records one batch of lines.
type copilotSink interface {
	send(ctx context.Context, body []byte, recs []copilot.Record, first int) (copilot.IngestResult, error)
}

type copilotStoreSink struct{ svc *copilot.Service }

func (s copilotStoreSink) send(ctx context.Context, _ []byte, recs []copilot.Record, first int) (copilot.IngestResult, error) {
	res, err := s.svc.Ingest(ctx, recs)
	if err != nil {
		err = fmt.Errorf("batch from line %d: %w", first, err)
	}
	return res, err
}

type copilotHTTPSink struct{ httpSink }

func (s copilotHTTPSink) send(ctx context.Context, body []byte, _ []copilot.Record, first int) (copilot.IngestResult, error) {
	deadline := time.Now().Add(s.retryFor)
	wait := 100 * time.Millisecond
	for {
		res, retry, err := s.post(ctx, body)
		if err == nil || !retry || time.Now().After(deadline) {
			if err != nil {
				err = fmt.Errorf("batch from line %d: %w", first, err)
			}
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func (s copilotHTTPSink) post(ctx context.Context, body []byte) (res copilot.IngestResult, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/ghusage/v1/ingest/copilot-usage", bytes.NewReader(body))
	if err != nil {
		return res, false, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := s.client.Do(req)
	if err != nil {
		return res, true, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return res, true, err
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(out, &res); err != nil {
			return res, false, fmt.Errorf("unexpected answer %q: %w", truncateOutput(out), err)
		}
		return res, false, nil
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	return res, retry, fmt.Errorf("server answered %s: %s", resp.Status, truncateOutput(out))
}

func runIngestCopilot(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(e.stderr, ingestCopilotHelp)
		return nil
	}
	cfg := server.DefaultConfig()
	f := newFlagSet("ingest copilot-usage", e.getenv, e.stderr)
	storeFlags(f, &cfg)
	var o ingestOptions
	f.stringVar(&o.url, "url", "", "base URL of a ghusage server to post to (e.g. http://127.0.0.1:8080); empty writes to the local store")
	f.stringVar(&o.token, "token", "", "token with the ghusage:ingest scope, for --url")
	f.intVar(&o.batchSize, "batch-size", 5_000, fmt.Sprintf("lines per batch (1 to %d)", copilot.MaxBatch))
	f.durationVar(&o.retryFor, "retry-for", 2*time.Minute, "how long to keep retrying a batch the server did not acknowledge")
	f.boolVar(&o.progress, "progress", isTerminal(e.stderr), "show progress on standard error (default: when it is a terminal)")
	if err := f.parse(args); err != nil {
		return err
	}
	if len(f.args) != 1 {
		fmt.Fprint(e.stderr, ingestCopilotHelp)
		return errors.New("ingest copilot-usage takes one FILE (or - for standard input)")
	}
	if o.batchSize < 1 || o.batchSize > copilot.MaxBatch {
		return fmt.Errorf("--batch-size %d: use 1 to %d", o.batchSize, copilot.MaxBatch)
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
	// Check the whole input first, so an invalid line sends nothing.
	batches, total, err := readCopilotBatches(in, o.batchSize, copilot.DayOf(time.Now()))
	if err != nil {
		return err
	}
	var sink copilotSink
	if o.url != "" {
		if o.token == "" {
			return errors.New("--url needs --token (or GHUSAGE_TOKEN): a token with the ghusage:ingest scope")
		}
		sink = copilotHTTPSink{httpSink{base: strings.TrimSuffix(o.url, "/"), token: o.token, retryFor: o.retryFor, client: &http.Client{Timeout: 5 * time.Minute}}}
	} else {
		st, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		cs, ok := st.(copilot.Store)
		if !ok {
			return fmt.Errorf("the %s store does not keep Copilot activity", cfg.Store)
		}
		sink = copilotStoreSink{copilot.NewService(cs, st, time.Now, nil)}
	}
	var sum copilot.IngestResult
	start := time.Now()
	for _, b := range batches {
		res, err := sink.send(ctx, b.body, b.recs, b.first)
		if err != nil {
			return err
		}
		sum.Received += res.Received
		sum.Recorded += res.Recorded
		sum.Replaced += res.Replaced
		sum.Unchanged += res.Unchanged
		if o.progress {
			fmt.Fprintf(e.stderr, "\r%d of %d lines, %.0f lines/s   ", sum.Received, total, float64(sum.Received)/time.Since(start).Seconds())
		}
	}
	if o.progress {
		fmt.Fprintln(e.stderr)
	}
	fmt.Fprintf(e.stdout, "%d lines read: %d user-days recorded, %d replaced, %d unchanged\n", sum.Received, sum.Recorded, sum.Replaced, sum.Unchanged)
	return nil
}

type copilotBatch struct {
	body  []byte
	recs  []copilot.Record
	first int
}

// readCopilotBatches reads and checks every line, returning batches of
// size lines; any invalid line fails the whole input, naming up to
// copilot.MaxLineErrors lines.
func readCopilotBatches(r io.Reader, size int, today copilot.Day) ([]copilotBatch, int, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, 0, fmt.Errorf("reading gzip input: %w", err)
		}
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	var (
		out   []copilotBatch
		cur   = copilotBatch{first: 1}
		bad   []string
		line  int
		total int
	)
	for {
		raw, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, 0, err
		}
		if len(raw) > 0 {
			line++
			if text := bytes.TrimSpace(raw); len(text) > 0 {
				rec, le := copilot.ParseLine(text, today)
				if le != nil {
					le.Line = line
					if len(bad) < copilot.MaxLineErrors {
						bad = append(bad, le.Error())
					}
				} else {
					if len(cur.recs) == 0 {
						cur.first = line
					}
					rec.Line = line
					cur.recs = append(cur.recs, rec)
					cur.body = append(append(cur.body, text...), '\n')
					total++
					if len(cur.recs) == size {
						out = append(out, cur)
						cur = copilotBatch{}
					}
				}
			}
		}
		if err == io.EOF {
			break
		}
	}
	if len(bad) > 0 {
		return nil, 0, fmt.Errorf("invalid lines, nothing was sent:\n  %s", strings.Join(bad, "\n  "))
	}
	if len(cur.recs) > 0 {
		out = append(out, cur)
	}
	return out, total, nil
}

// copilotBillingRefusal is, for `ingest billing-usage` into the local
// store, the refusal of the Copilot SKUs the ledger derives while the
// store's server runs with --copilot-billing (it records that in the
// store); nil when it does not.
func copilotBillingRefusal(ctx context.Context, st any) (func(*billing.Record) string, error) {
	cs, ok := st.(copilot.Store)
	if !ok {
		return nil, nil
	}
	on, _, err := cs.CopilotState(ctx, server.StateCopilotBilling)
	if err != nil || on != 1 {
		return nil, err
	}
	return billing.CopilotDerived, nil
}
