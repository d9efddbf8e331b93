package serverstats

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"
)

// Instance is one GitHub Enterprise Server the collector polls, as written
// in the instances file (doc/server-statistics.md).
type Instance struct {
	// URL is the instance's base URL (https://ghes.example.com); an
	// /api/v3 suffix is optional.
	URL string `json:"url"`
	// Token is a site administrator's classic token for the instance;
	// TokenFile names a file holding it instead. Neither is ever logged.
	Token     string `json:"token,omitempty"`
	TokenFile string `json:"token_file,omitempty"`
	// Account is the ghusage enterprise or organization the server belongs to.
	Account string `json:"account"`
	// ServerID is the server's id in the snapshots; by default a UUID
	// derived from the URL, so every collection of one instance agrees.
	ServerID string `json:"server_id,omitempty"`
	// HostName is the snapshots' host_name; by default the URL's host.
	HostName string `json:"host_name,omitempty"`
}

// LogValue shows an instance in logs without its token.
func (i Instance) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", i.URL), slog.String("account", i.Account), slog.String("server_id", i.serverID()))
}

// String is the instance's URL (never its token).
func (i Instance) String() string { return i.URL }

// apiBase is the instance's REST root, ending in /api/v3.
func (i Instance) apiBase() string {
	b := strings.TrimRight(i.URL, "/")
	if !strings.HasSuffix(b, "/api/v3") {
		b += "/api/v3"
	}
	return b
}

func (i Instance) serverID() string {
	if i.ServerID != "" {
		return i.ServerID
	}
	return DeriveServerID(i.URL)
}

// DeriveServerID is a name-based UUID (version 5 layout, SHA-1) of a base
// URL, ignoring case, a trailing slash and an /api/v3 suffix.
func DeriveServerID(baseURL string) string {
	u := strings.ToLower(strings.TrimRight(baseURL, "/"))
	u = strings.TrimSuffix(u, "/api/v3")
	h := sha1.Sum([]byte("ghusage server-statistics " + u))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// LoadInstances reads an instances file: a JSON array of Instance. Tokens
// given by token_file are read; every instance needs a URL (http or
// https), a token and an account.
func LoadInstances(path string) ([]Instance, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server-statistics instances: %w", err)
	}
	var insts []Instance
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&insts); err != nil {
		return nil, fmt.Errorf("server-statistics instances %s: %w (want a JSON array of {\"url\", \"token\" or \"token_file\", \"account\"})", path, err)
	}
	for n := range insts {
		i := &insts[n]
		if i.TokenFile != "" && i.Token == "" {
			t, err := os.ReadFile(i.TokenFile)
			if err != nil {
				return nil, fmt.Errorf("server-statistics instance %d (%s): token_file: %w", n+1, i.URL, err)
			}
			i.Token = strings.TrimSpace(string(t))
		}
		if err := i.check(); err != nil {
			return nil, fmt.Errorf("server-statistics instance %d: %w", n+1, err)
		}
	}
	return insts, nil
}

func (i Instance) check() error {
	u, err := url.Parse(i.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q is not an http(s) base URL", i.URL)
	}
	if i.Token == "" {
		return fmt.Errorf("%s: no token (set token or token_file)", i.URL)
	}
	if i.Account == "" {
		return fmt.Errorf("%s: no account (the ghusage enterprise or organization the server belongs to)", i.URL)
	}
	if msg := checkServerID(i.serverID()); msg != "" {
		return fmt.Errorf("%s: server_id %s", i.URL, msg)
	}
	return nil
}

// Collector reads statistics from GHES instances' own REST API.
type Collector struct {
	Client *http.Client     // default: 30 s timeout
	Logger *slog.Logger     // default discards
	Now    func() time.Time // default time.Now
	// Attempts is how many times a request is tried (default 3); Backoff
	// the first wait between tries, doubling (default 2 s).
	Attempts int
	Backoff  time.Duration
	// Sleep waits between tries; tests replace it.
	Sleep     func(ctx context.Context, d time.Duration) error
	UserAgent string
}

func (c *Collector) defaults() {
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = 2 * time.Second
	}
	if c.Sleep == nil {
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	if c.UserAgent == "" {
		c.UserAgent = "ghusage"
	}
}

// Collect reads one instance: /enterprise/stats/all (required: its ten
// groups become ghe_stats), /enterprise/stats/security-products and /meta
// (installed_version becomes ghes_version), each tried up to Attempts
// times. An instance without the last two (an older GHES, or one that
// does not answer them) gives a snapshot without those figures: absent,
// not zero. Sections the stats routes do not give (dormant users, Actions,
// Packages, GitHub Connect) stay absent.
func (c *Collector) Collect(ctx context.Context, inst Instance) (Snapshot, error) {
	c.defaults()
	if err := inst.check(); err != nil {
		return Snapshot{}, err
	}
	host := inst.HostName
	if host == "" {
		if u, err := url.Parse(inst.URL); err == nil {
			host = u.Hostname()
		}
	}
	snap := Snapshot{ServerID: inst.serverID(), HostName: host, Account: strings.ToLower(inst.Account)}
	var all GHEStats
	if err := c.getChecked(ctx, inst, "/enterprise/stats/all", "ghe_stats", &all); err != nil {
		return Snapshot{}, err
	}
	snap.GHEStats = &all
	var sec SecurityProducts
	if err := c.getChecked(ctx, inst, "/enterprise/stats/security-products", "security_products", &sec); err == nil {
		snap.SecurityProducts = &sec
	} else {
		c.Logger.WarnContext(ctx, "server statistics: no security-products figures", "instance", inst, "err", err)
	}
	var meta struct {
		InstalledVersion string `json:"installed_version"`
	}
	if err := c.get(ctx, inst, "/meta", &meta); err == nil {
		snap.GHESVersion = meta.InstalledVersion
	} else {
		c.Logger.WarnContext(ctx, "server statistics: no installed_version from /meta", "instance", inst, "err", err)
	}
	snap.CollectionDate = c.Now().UTC().Truncate(time.Second)
	return snap, nil
}

// getChecked is get with the answer validated like an upload's section.
func (c *Collector) getChecked(ctx context.Context, inst Instance, path, section string, v any) error {
	var raw json.RawMessage
	if err := c.get(ctx, inst, path, &raw); err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var tree any
	if err := d.Decode(&tree); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	ch := &checker{}
	ch.value(section, tree, reflect.TypeOf(v).Elem(), "", false)
	if len(ch.errs) > 0 {
		msgs := make([]string, len(ch.errs))
		for i, e := range ch.errs {
			msgs[i] = e.Message
		}
		return fmt.Errorf("GET %s: unexpected answer: %s", path, strings.Join(msgs, "; "))
	}
	return json.Unmarshal(raw, v)
}

// errPermanent marks answers a retry cannot change.
var errPermanent = errors.New("permanent")

// get fetches path from the instance's REST API into v, retrying
// transport errors, 5xx and 429 answers with a doubling backoff.
func (c *Collector) get(ctx context.Context, inst Instance, path string, v any) error {
	wait := c.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		err = c.getOnce(ctx, inst, path, v)
		if err == nil || errors.Is(err, errPermanent) || attempt >= c.Attempts || ctx.Err() != nil {
			break
		}
		c.Logger.DebugContext(ctx, "server statistics: retrying", "instance", inst, "path", path, "attempt", attempt, "err", err)
		if serr := c.Sleep(ctx, wait); serr != nil {
			return serr
		}
		wait *= 2
	}
	return err
}

func (c *Collector) getOnce(ctx context.Context, inst Instance, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, inst.apiBase()+path, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set("Authorization", "token "+inst.Token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("User-Agent", c.UserAgent)
	resp, err := c.Client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, redact(err, inst.Token))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("%w: GET %s: the answer is not the expected JSON: %v", errPermanent, path, err)
		}
		return nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w: GET %s: %s (the token is not valid on this instance)", errPermanent, path, resp.Status)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: GET %s: %s (not a site administrator's token, or the instance does not serve this route)", errPermanent, path, resp.Status)
	}
	return fmt.Errorf("%w: GET %s: %s", errPermanent, path, resp.Status)
}

// redact keeps a token out of an error message, should a transport error
// ever quote a request.
func redact(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "[token]"))
}

// CollectAll collects every instance and stores each snapshot as it comes
// (one failing instance does not stop the others), logging one line per
// instance. It returns how many were stored and the instances' errors joined.
func (c *Collector) CollectAll(ctx context.Context, svc *Service, insts []Instance) (int, error) {
	c.defaults()
	stored := 0
	var errs []error
	for _, inst := range insts {
		start := c.Now()
		snap, err := c.Collect(ctx, inst)
		if err == nil {
			_, err = svc.Ingest(ctx, snap.Account, []Snapshot{snap})
		}
		if err != nil {
			c.Logger.ErrorContext(ctx, "server statistics collection failed", "instance", inst, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", inst.URL, err))
			continue
		}
		stored++
		c.Logger.InfoContext(ctx, "server statistics collected", "instance", inst, "day", string(snap.Day()),
			"ghes_version", snap.GHESVersion, "security_products", snap.SecurityProducts != nil, "took", c.Now().Sub(start).Round(time.Millisecond))
	}
	return stored, errors.Join(errs...)
}
