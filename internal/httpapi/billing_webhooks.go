package httpapi

import (
	"io"
	"net/http"
	"strings"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

// WebhookPath receives GitHub webhook deliveries (workflow_job, push).
const WebhookPath = "/ghusage/v1/webhooks/github"

// webhookMaxBytes is GitHub's cap on a delivery's payload.
const webhookMaxBytes = 25 << 20

// webhookResult is the answer to a delivery.
type webhookResult struct {
	Event      string `json:"event"`
	Delivery   string `json:"delivery"`
	Recorded   int    `json:"recorded"`
	Duplicates int    `json:"duplicates"`
	Ignored    string `json:"ignored,omitempty"`
}

// handleGitHubWebhook verifies a delivery's X-Hub-Signature-256 with the
// configured secret (in constant time; a missing or wrong signature is 401
// and records nothing), then records what it bills: a completed
// workflow_job as Actions minutes, a push as Advanced Security committers.
// Other events are acknowledged and ignored. It is not an API route:
// deliveries carry no token and are not rate limited.
func (s *Server) handleGitHubWebhook(w http.ResponseWriter, r *http.Request) {
	if err := s.gitHubWebhook(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) gitHubWebhook(w http.ResponseWriter, r *http.Request) error {
	if s.Billing == nil || s.WebhookSecret == "" {
		return usage.Errorf(usage.KindNotFound, "Webhooks are not enabled on this server (set --webhook-secret)")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhookMaxBytes))
	if err != nil {
		return err
	}
	if !billing.VerifySignature(s.WebhookSecret, r.Header.Get("X-Hub-Signature-256"), body) {
		return &usage.Error{Kind: usage.KindUnauthenticated, Message: "X-Hub-Signature-256 is missing or does not match the payload"}
	}
	res := webhookResult{Event: r.Header.Get("X-GitHub-Event"), Delivery: r.Header.Get("X-GitHub-Delivery")}
	if res.Delivery == "" {
		return usage.Invalid("WebhookDelivery", "X-GitHub-Delivery", "the X-GitHub-Delivery header is required")
	}
	switch strings.ToLower(res.Event) {
	case "workflow_job":
		rec, ignored, fe := billing.WorkflowJobRecord(body, s.Billing.Catalog)
		if fe != nil {
			return usage.Invalid("WorkflowJobEvent", fe.Field, fe.Error())
		}
		if rec != nil {
			if fe := rec.Validate(s.Billing.Catalog, s.Now()); fe != nil {
				return usage.Invalid("WorkflowJobEvent", fe.Field, fe.Error())
			}
			out, err := s.Billing.Ingest(r.Context(), []billing.Record{*rec})
			if err != nil {
				return err
			}
			res.Recorded, res.Duplicates = out.Recorded, out.Duplicates
		}
		res.Ignored = ignored
	case "push":
		pushes, ignored, fe := billing.PushCommitters(body, s.Now())
		if fe != nil {
			return usage.Invalid("PushEvent", fe.Field, fe.Error())
		}
		if len(pushes) > 0 {
			if err := s.Billing.RecordPushes(r.Context(), pushes); err != nil {
				return err
			}
		}
		res.Recorded, res.Ignored = len(pushes), ignored
	case "ping":
		res.Ignored = "ping: the webhook is set up"
	case "":
		return usage.Invalid("WebhookDelivery", "X-GitHub-Event", "the X-GitHub-Event header is required")
	default:
		res.Ignored = res.Event + " events are not billed"
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
