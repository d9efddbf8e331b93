package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/metrics"
)

// recordingHandler keeps every log record.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
	request chan slog.Record // each "request" access-log record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r)
	h.mu.Unlock()
	if r.Message == "request" {
		h.request <- r
	}
	return nil
}

func attrOf(r slog.Record, key string) string {
	v := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// A handler whose query fails because the client went away (the error
// wraps context.Canceled, as database/sql's does) is a 499 in the access
// log and metrics, and no "internal error" is logged.
func TestCanceledRequestIs499(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			rec := &recordingHandler{request: make(chan slog.Record, 1)}
			s := &Server{Logger: slog.New(rec), Metrics: metrics.New(), Now: time.Now, MaxBodyBytes: 1 << 20}
			started := make(chan struct{})
			mux := http.NewServeMux()
			s.handleRoute(mux, &Route{Method: method, Pattern: "/slow"}, func(w http.ResponseWriter, r *http.Request) error {
				close(started)
				<-r.Context().Done()
				return fmt.Errorf("reading rows: %w", r.Context().Err())
			})
			hs := httptest.NewServer(s.common(mux))
			defer hs.Close()

			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, method, hs.URL+"/slow", nil)
			errc := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				errc <- err
			}()
			<-started
			cancel()
			<-errc
			var r slog.Record
			select {
			case r = <-rec.request:
			case <-time.After(5 * time.Second):
				t.Fatal("no access-log record 5 s after the client went away")
			}
			if got := attrOf(r, "status"); got != "499" {
				t.Errorf("access log status=%s, want 499", got)
			}
			rec.mu.Lock()
			for _, r := range rec.records {
				if r.Level >= slog.LevelError {
					t.Errorf("logged %s %q for a client that went away", r.Level, r.Message)
				}
			}
			rec.mu.Unlock()
			mw := httptest.NewRecorder()
			s.Metrics.ServeHTTP(mw, nil)
			if m := mw.Body.String(); !strings.Contains(m, `route="`+method+` /slow",status="499"`) || strings.Contains(m, `status="500"`) {
				t.Errorf("metrics do not count a 499:\n%s", m)
			}
		})
	}
}
