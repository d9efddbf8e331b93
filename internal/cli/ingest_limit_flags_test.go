package cli

import (
	"io"
	"testing"

	"github.com/ghusage/ghusage/internal/server"
)

// TestIngestConcurrentBytes: --ingest-concurrent-bytes and its variable
// set the ingest admission budget (the flag wins), 96 MiB by default.
func TestIngestConcurrentBytes(t *testing.T) {
	parse := func(env map[string]string, args ...string) (server.Config, error) {
		cfg := server.DefaultConfig()
		var o serveOptions
		f := newFlagSet("serve", func(k string) string { return env[k] }, io.Discard)
		serveFlags(f, &cfg, &o)
		return cfg, f.parse(args)
	}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want int64
	}{
		{nil, nil, 96 << 20},
		{map[string]string{"GHUSAGE_INGEST_CONCURRENT_BYTES": "67108864"}, nil, 64 << 20},
		{map[string]string{"GHUSAGE_INGEST_CONCURRENT_BYTES": "67108864"}, []string{"--ingest-concurrent-bytes", "1048576"}, 1 << 20},
	} {
		cfg, err := parse(c.env, c.args...)
		if err != nil {
			t.Fatalf("%v %v: %v", c.env, c.args, err)
		}
		if cfg.IngestLimit.Bytes != c.want {
			t.Errorf("%v %v: budget %d, want %d", c.env, c.args, cfg.IngestLimit.Bytes, c.want)
		}
	}
	if _, err := parse(map[string]string{"GHUSAGE_INGEST_CONCURRENT_BYTES": "lots"}); err == nil {
		t.Error("GHUSAGE_INGEST_CONCURRENT_BYTES=lots accepted")
	}
}
