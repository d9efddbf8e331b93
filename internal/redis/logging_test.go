package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestGoRedisLinesAreJSON(t *testing.T) {
	var buf bytes.Buffer
	a := slogAdapter{slog.New(slog.NewJSONHandler(&buf, nil))}
	a.Printf(context.Background(), "redis: %s failed: %v", "dial", "connection refused")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	if !strings.Contains(line["msg"].(string), "dial failed: connection refused") || line["level"] != "WARN" || line["component"] != "go-redis" {
		t.Errorf("line %v", line)
	}
}
