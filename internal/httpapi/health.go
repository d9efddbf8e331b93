package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"
)

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version})
}

// ReadyCheck is a backend /readyz asks. A failing check that is not
// Optional makes the server not ready: API requests that need it fail.
// An Optional one (Redis when the limiter fails open) is reported but
// leaves the server ready.
type ReadyCheck struct {
	Name     string
	Check    func(ctx context.Context) error
	Optional bool
}

// handleReadyz answers 200 when the store and every required backend
// answer, 503 naming the ones that do not otherwise. The body lists each
// check as "ok" or "unavailable".
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := append([]ReadyCheck{{Name: "store", Check: s.Store.Ping}}, s.ReadyChecks...)
	results := make(map[string]string, len(checks))
	var failing, degraded []string
	for _, c := range checks {
		if err := c.Check(ctx); err != nil {
			results[c.Name] = "unavailable"
			s.Logger.WarnContext(ctx, "readyz: backend unavailable", "backend", c.Name, "optional", c.Optional, "err", err)
			if c.Optional {
				degraded = append(degraded, c.Name)
			} else {
				failing = append(failing, c.Name)
			}
			continue
		}
		results[c.Name] = "ok"
	}
	if len(failing) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable",
			"message": "Not ready: " + strings.Join(failing, ", ") + " does not answer.", "failing": failing, "checks": results})
		return
	}
	body := map[string]any{"status": "ready", "checks": results}
	if len(degraded) > 0 {
		body["degraded"] = degraded
	}
	writeJSON(w, http.StatusOK, body)
}
