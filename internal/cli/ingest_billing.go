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
	"github.com/ghusage/ghusage/internal/server"
)

const ingestBillingHelp = `Usage:
  ghusage ingest billing-usage [flags] FILE|-

Reads billing usage records, one JSON object per line (NDJSON, gzip
accepted), from FILE or standard input (-) and adds them to the billing
ledger: with --url, by posting batches to a ghusage server
(POST /ghusage/v1/ingest/billing-usage) with a token that has the
ghusage:ingest scope; without --url, straight into the local store.
Every line is checked against the price catalogue first (--billing-catalog
when the server has one); a batch with an invalid line is not sent and the
error names every bad line and field. Batches not acknowledged are retried:
records carry ids, so a retry never double counts. The record format is in
doc/billing.md.
`

func runIngestBilling(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(e.stderr, ingestBillingHelp)
		return nil
	}
	cfg := server.DefaultConfig()
	f := newFlagSet("ingest billing-usage", e.getenv, e.stderr)
	storeFlags(f, &cfg)
	f.stringVar(&cfg.Billing.Catalog, "billing-catalog", "", "JSON catalogue file the server uses, so its SKUs validate here too")
	var o ingestOptions
	f.stringVar(&o.url, "url", "", "base URL of a ghusage server to post to; empty writes to the local store")
	f.stringVar(&o.token, "token", "", "token with the ghusage:ingest scope, for --url")
	f.intVar(&o.batchSize, "batch-size", 20_000, fmt.Sprintf("records per batch (1 to %d)", billing.MaxBatch))
	f.durationVar(&o.retryFor, "retry-for", 2*time.Minute, "how long to keep retrying a batch the server did not acknowledge")
	f.boolVar(&o.progress, "progress", isTerminal(e.stderr), "show progress on standard error (default: when it is a terminal)")
	if err := f.parse(args); err != nil {
		return err
	}
	if len(f.args) != 1 {
		fmt.Fprint(e.stderr, ingestBillingHelp)
		return fmt.Errorf("ingest billing-usage takes one FILE (or - for standard input)")
	}
	if o.batchSize < 1 || o.batchSize > billing.MaxBatch {
		return fmt.Errorf("--batch-size %d: use 1 to %d", o.batchSize, billing.MaxBatch)
	}
	cat, err := server.LoadCatalog(cfg.Billing.Catalog)
	if err != nil {
		return err
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
	var send func(ctx context.Context, body []byte, recs []billing.Record) (billing.IngestResult, error)
	var refuse func(*billing.Record) string // the SKUs the ledger derives (--copilot-billing); a server refuses them itself
	if o.url != "" {
		if o.token == "" {
			return errors.New("--url needs --token (or GHUSAGE_TOKEN): a token with the ghusage:ingest scope")
		}
		p := &billingPoster{url: strings.TrimSuffix(o.url, "/") + "/ghusage/v1/ingest/billing-usage", token: o.token,
			retryFor: o.retryFor, client: &http.Client{Timeout: 5 * time.Minute}}
		send = func(ctx context.Context, body []byte, _ []billing.Record) (billing.IngestResult, error) {
			return p.send(ctx, body)
		}
	} else {
		st, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		bs, ok := st.(billing.Store)
		if !ok {
			return fmt.Errorf("the %s store does not keep the billing ledger", cfg.Store)
		}
		svc := billing.NewService(bs, cat, time.Now)
		svc.Accounts = st
		if refuse, err = copilotBillingRefusal(ctx, st); err != nil { // ingest_copilot.go
			return err
		}
		send = func(ctx context.Context, _ []byte, recs []billing.Record) (billing.IngestResult, error) {
			return svc.Ingest(ctx, recs)
		}
	}
	var prog io.Writer
	if o.progress {
		prog = e.stderr
	}
	total, err := ingestBillingNDJSON(ctx, in, cat, o.batchSize, send, refuse, prog)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d records read: %d recorded, %d already recorded (duplicates)\n", total.Received, total.Recorded, total.Duplicates)
	return nil
}

// ingestBillingNDJSON checks every line of r and sends batches of size
// records. It stops at the first batch with an invalid line, naming every
// bad line of it; batches sent before stay recorded (sending the file
// again is safe).
func ingestBillingNDJSON(ctx context.Context, r io.Reader, cat *billing.Catalog, size int,
	send func(context.Context, []byte, []billing.Record) (billing.IngestResult, error), refuse func(*billing.Record) string, prog io.Writer) (billing.IngestResult, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return billing.IngestResult{}, fmt.Errorf("reading gzip input: %w", err)
		}
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	var total billing.IngestResult
	start := time.Now()
	now := time.Now()
	var body []byte
	var recs []billing.Record
	var bad []string
	line, first := 0, 1
	flush := func() error {
		if len(bad) > 0 {
			return fmt.Errorf("invalid records, nothing from line %d on was sent:\n  %s", first, strings.Join(bad, "\n  "))
		}
		if len(recs) == 0 {
			return nil
		}
		res, err := send(ctx, body, recs)
		if err != nil {
			return fmt.Errorf("batch from line %d: %w", first, err)
		}
		total.Received += res.Received
		total.Recorded += res.Recorded
		total.Duplicates += res.Duplicates
		if prog != nil {
			fmt.Fprintf(prog, "\r%d records, %d recorded, %d duplicates, %.0f records/s   ", total.Received, total.Recorded,
				total.Duplicates, float64(total.Received)/time.Since(start).Seconds())
		}
		body, recs, first = body[:0], recs[:0], line+1
		return nil
	}
	for {
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return total, fmt.Errorf("line %d is longer than %d bytes", line+1, br.Size())
		}
		if err != nil && err != io.EOF {
			return total, err
		}
		if len(raw) > 0 {
			line++
			if text := bytes.TrimSpace(raw); len(text) > 0 {
				var rec billing.Record
				fe := billing.ParseRecordJSON(text, &rec)
				if fe == nil {
					rec.Normalize()
					fe = rec.Validate(cat, now)
				}
				if fe == nil && refuse != nil {
					if why := refuse(&rec); why != "" {
						fe = &billing.FieldError{Field: "sku", Message: why}
					}
				}
				switch {
				case fe != nil && fe.Field == "":
					bad = append(bad, fmt.Sprintf("line %d: %s", line, fe.Message))
				case fe != nil:
					bad = append(bad, fmt.Sprintf("line %d: %s: %s", line, fe.Field, fe.Message))
				default:
					recs = append(recs, rec)
					body = append(append(body, text...), '\n')
				}
				if len(bad) >= billing.MaxLineErrors {
					return total, flush()
				}
			}
		}
		if err == io.EOF || len(recs) == size {
			if ferr := flush(); ferr != nil {
				return total, ferr
			}
		}
		if err == io.EOF {
			if prog != nil {
				fmt.Fprintln(prog)
			}
			return total, nil
		}
	}
}

// billingPoster posts batches, retrying transport errors, 5xx and 429
// with backoff for up to retryFor.
type billingPoster struct {
	url, token string
	retryFor   time.Duration
	client     *http.Client
}

func (p *billingPoster) send(ctx context.Context, body []byte) (billing.IngestResult, error) {
	deadline := time.Now().Add(p.retryFor)
	wait := 100 * time.Millisecond
	for {
		res, retry, err := p.post(ctx, body)
		if err == nil || !retry || time.Now().After(deadline) {
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

func (p *billingPoster) post(ctx context.Context, body []byte) (res billing.IngestResult, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return res, false, err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := p.client.Do(req)
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
