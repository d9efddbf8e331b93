package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/testenv"
)

// privateRedis runs a redis-server of the test's own on a free loopback
// port (never the shared 6379), stopped when the test ends. It skips
// without redis-server unless the Redis tier is mandatory
// (GHUSAGE_TEST_REDIS_URL set, as in CI).
type privateRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("GHUSAGE_TEST_REDIS_URL") != "" {
			t.Fatalf("redis-server not on PATH: %v", err)
		}
		t.Skip("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &privateRedis{t: t, port: port}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *privateRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *privateRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", fmt.Sprint(r.port),
		"--save", "", "--appendonly", "no", "--dir", r.t.TempDir())
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port)); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatal("private redis-server did not come up within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *privateRedis) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

type readyBody struct {
	Status   string            `json:"status"`
	Message  string            `json:"message"`
	Failing  []string          `json:"failing"`
	Degraded []string          `json:"degraded"`
	Checks   map[string]string `json:"checks"`
}

func readyz(t *testing.T, e *testenv.Env) (int, readyBody) {
	t.Helper()
	resp, body := e.Get(t, "/readyz", "")
	var b readyBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	return resp.StatusCode, b
}

// TestReadyzFollowsRedis: with the limiter on Redis failing closed, /readyz
// answers 503 naming Redis exactly while API requests answer 503, and 200
// again once Redis is back, without a restart. Failing open, a Redis
// outage leaves the server ready (requests are served) and is reported as
// degraded.
func TestReadyzFollowsRedis(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail_open=%v", failOpen), func(t *testing.T) {
			r := startPrivateRedis(t)
			e := testenv.New(t, func(c *server.Config) {
				c.RedisURL = r.url()
				c.RedisKeyPrefix = "ghusage:readyz-test:"
				c.RateLimit.FailOpen = failOpen
			})
			if code, b := readyz(t, e); code != 200 || b.Checks["redis"] != "ok" || b.Checks["store"] != "ok" {
				t.Fatalf("Redis up: %d %+v", code, b)
			}
			if resp, _ := e.Get(t, "/rate_limit", e.AdminToken); resp.StatusCode != 200 {
				t.Fatalf("Redis up: /rate_limit %d", resp.StatusCode)
			}

			r.stop()
			api, _ := e.Get(t, "/user", e.AdminToken)
			code, b := readyz(t, e)
			if failOpen {
				if api.StatusCode != 200 || code != 200 || strings.Join(b.Degraded, ",") != "redis" {
					t.Fatalf("Redis down, failing open: /user %d, /readyz %d %+v; want both 200, redis degraded", api.StatusCode, code, b)
				}
			} else {
				if api.StatusCode != 503 {
					t.Fatalf("Redis down, failing closed: /user %d, want 503", api.StatusCode)
				}
				if code != 503 || strings.Join(b.Failing, ",") != "redis" || !strings.Contains(b.Message, "redis") || b.Checks["store"] != "ok" {
					t.Fatalf("Redis down: /readyz %d %+v, want 503 naming redis only", code, b)
				}
			}

			r.start()
			for deadline := time.Now().Add(10 * time.Second); ; {
				code, b := readyz(t, e)
				if code == 200 && b.Checks["redis"] == "ok" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("Redis back: /readyz still %d %+v after 10 s", code, b)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if resp, _ := e.Get(t, "/rate_limit", e.AdminToken); resp.StatusCode != 200 {
				t.Fatalf("Redis back: /rate_limit %d", resp.StatusCode)
			}
		})
	}
}

func TestReadyzInProcessLimiter(t *testing.T) {
	e := testenv.New(t)
	code, b := readyz(t, e)
	if code != 200 || b.Status != "ready" || len(b.Checks) != 1 || b.Checks["store"] != "ok" {
		t.Fatalf("/readyz: %d %+v, want ready with the store as the only check", code, b)
	}
}
