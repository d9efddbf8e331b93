package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/httpapi"
	"github.com/ghusage/ghusage/internal/sqlite"
)

// TestIngestLimitWiring: the ingest admission limit reaches the API as
// configured, 96 MiB and 10 s by default, and a negative one stops New.
func TestIngestLimitWiring(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ghusage.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	build := func(edit func(*Config)) (*Server, error) {
		cfg := DefaultConfig()
		cfg.DataDir = t.TempDir()
		edit(&cfg)
		s, err := New(cfg, st, slog.New(slog.DiscardHandler), time.Now)
		if err == nil {
			t.Cleanup(func() { s.closeLimiter() })
		}
		return s, err
	}
	s, err := build(func(*Config) {})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.API.IngestLimit, (httpapi.IngestLimit{Bytes: 96 << 20, Wait: 10 * time.Second}); got != want {
		t.Errorf("default ingest limit %+v, want %+v", got, want)
	}
	s, err = build(func(c *Config) { c.IngestLimit = httpapi.IngestLimit{Bytes: 1 << 20, Wait: time.Second} })
	if err != nil {
		t.Fatal(err)
	}
	if got := s.API.IngestLimit; got.Bytes != 1<<20 || got.Wait != time.Second {
		t.Errorf("ingest limit %+v, want 1 MiB and 1s", got)
	}
	if _, err := build(func(c *Config) { c.IngestLimit.Bytes = -1 }); err == nil || !strings.Contains(err.Error(), "--ingest-concurrent-bytes") {
		t.Errorf("negative budget: %v, want an error naming --ingest-concurrent-bytes", err)
	}
}
