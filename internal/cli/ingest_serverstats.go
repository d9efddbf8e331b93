package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/usage"
)

const ingestServerStatsHelp = `Usage:
  ghusage ingest server-statistics --account ACCOUNT [flags] FILE|-

Reads server-statistics documents as GitHub Enterprise Server produces them
(one item, a JSON array of items, or several one after another; gzip
accepted) from FILE or standard input (-) and stores them as the daily
snapshots of servers belonging to ACCOUNT, an enterprise slug or an
organization login:
  with --url, by posting them to a ghusage server
  (POST /ghusage/v1/ingest/server-statistics) with a token that has the
  ghusage:ingest scope; without --url, straight into the local store.
The upload is all or nothing; an invalid item is reported by its position
and the JSON path of each bad field. A snapshot replaces the one of the
same server and day, so sending a file again is safe.
`

func runIngestServerStats(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(e.stderr, ingestServerStatsHelp)
		return nil
	}
	cfg := server.DefaultConfig()
	f := newFlagSet("ingest server-statistics", e.getenv, e.stderr)
	storeFlags(f, &cfg)
	var account, base, token string
	var retryFor time.Duration
	f.StringVar(&account, "account", "", "enterprise slug or organization login the servers belong to")
	f.stringVar(&base, "url", "", "base URL of a ghusage server to post to (e.g. http://127.0.0.1:8080); empty writes to the local store")
	f.stringVar(&token, "token", "", "token with the ghusage:ingest scope, for --url")
	f.durationVar(&retryFor, "retry-for", 2*time.Minute, "how long to keep retrying an upload the server did not acknowledge")
	if err := f.parse(args); err != nil {
		return err
	}
	if len(f.args) != 1 {
		fmt.Fprint(e.stderr, ingestServerStatsHelp)
		return errors.New("ingest server-statistics takes one FILE (or - for standard input)")
	}
	if account == "" {
		return errors.New("ingest server-statistics needs --account: the enterprise or organization the servers belong to")
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
	body, err := io.ReadAll(io.LimitReader(in, serverstats.MaxUploadBytes+1))
	if err != nil {
		return err
	}
	// Checked here either way, so a bad file is reported before anything is sent.
	snaps, err := serverstats.DecodeUpload(bytes.NewReader(body), time.Now())
	if err != nil {
		return describeUploadError(err)
	}
	var res serverstats.IngestResult
	if base != "" {
		if token == "" {
			return errors.New("--url needs --token (or GHUSAGE_TOKEN): a token with the ghusage:ingest scope")
		}
		res, err = postServerStats(ctx, strings.TrimSuffix(base, "/"), token, account, body, retryFor)
	} else {
		st, oerr := openStore(ctx, cfg)
		if oerr != nil {
			return oerr
		}
		defer st.Close()
		ss, ok := st.(serverstats.Store)
		if !ok {
			return fmt.Errorf("the %s store does not keep server statistics", cfg.Store)
		}
		res, err = serverstats.NewService(ss, st, time.Now).Ingest(ctx, account, snaps)
		err = describeUploadError(err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d snapshots read: %d stored, %d replaced one of the same server and day\n", res.Received, res.Recorded, res.Replaced)
	return nil
}

// describeUploadError spells out a validation error's fields.
func describeUploadError(err error) error {
	var ue *usage.Error
	if !errors.As(err, &ue) || len(ue.Fields) == 0 {
		return err
	}
	lines := make([]string, len(ue.Fields))
	for i, f := range ue.Fields {
		lines[i] = f.Message
	}
	return fmt.Errorf("invalid server statistics, nothing was stored:\n  %s", strings.Join(lines, "\n  "))
}

// postServerStats posts an upload, retrying transport errors and 5xx/429
// answers for up to retryFor (a snapshot replaces its day's, so a retry
// is harmless).
func postServerStats(ctx context.Context, base, token, account string, body []byte, retryFor time.Duration) (serverstats.IngestResult, error) {
	var res serverstats.IngestResult
	client := &http.Client{Timeout: 5 * time.Minute}
	deadline := time.Now().Add(retryFor)
	wait := 200 * time.Millisecond
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/ghusage/v1/ingest/server-statistics?account="+url.QueryEscape(account), bytes.NewReader(body))
		if err != nil {
			return res, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		retry := true
		resp, err := client.Do(req)
		if err == nil {
			out, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			switch {
			case rerr != nil:
				err = rerr
			case resp.StatusCode == http.StatusOK:
				if err := json.Unmarshal(out, &res); err != nil {
					return res, fmt.Errorf("unexpected answer %q: %w", truncateOutput(out), err)
				}
				return res, nil
			default:
				retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
				err = fmt.Errorf("server answered %s: %s", resp.Status, truncateOutput(out))
			}
		}
		if !retry || time.Now().After(deadline) {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}
