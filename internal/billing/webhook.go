package billing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// VerifySignature checks a webhook delivery's X-Hub-Signature-256 header
// ("sha256=" and the hex HMAC-SHA256 of the body under secret) in constant
// time. An empty secret or header never verifies.
func VerifySignature(secret, header string, body []byte) bool {
	if secret == "" {
		return false
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Sign returns the X-Hub-Signature-256 value of body under secret, as
// GitHub computes it.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// The parts of webhook payloads ghusage reads.
type hookAccount struct {
	Login string `json:"login"`
	Slug  string `json:"slug"`
}

type hookRepository struct {
	FullName string       `json:"full_name"`
	Private  *bool        `json:"private"`
	Owner    *hookAccount `json:"owner"`
}

type workflowJobPayload struct {
	Action       string          `json:"action"`
	Enterprise   *hookAccount    `json:"enterprise"`
	Organization *hookAccount    `json:"organization"`
	Repository   *hookRepository `json:"repository"`
	Sender       *hookAccount    `json:"sender"`
	WorkflowJob  *struct {
		ID              int64    `json:"id"`
		RunID           int64    `json:"run_id"`
		RunAttempt      int64    `json:"run_attempt"`
		Status          string   `json:"status"`
		Conclusion      *string  `json:"conclusion"`
		StartedAt       *string  `json:"started_at"`
		CompletedAt     *string  `json:"completed_at"`
		Labels          []string `json:"labels"`
		RunnerName      *string  `json:"runner_name"`
		RunnerGroupName *string  `json:"runner_group_name"`
		WorkflowName    *string  `json:"workflow_name"`
	} `json:"workflow_job"`
}

// hookError is a malformed payload: the field at fault and why.
func hookError(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// WorkflowJobRecord turns a workflow_job delivery into an Actions minutes
// record. Only completed jobs that ran are billed (ignored explains why
// one is not, with rec nil). The job's minutes are its run time rounded up
// to the whole minute, at the completion time's price; the runner's
// labels give the SKU (Catalog.RunnerSKU); usage in a public repository is marked
// public (free for standard runners, never for larger ones). The record id
// is the job's id, so a redelivery, or the same job sent by an
// organization's and a repository's webhook, counts once; a re-run is a
// new job and counts again.
func WorkflowJobRecord(body []byte, c *Catalog) (rec *Record, ignored string, fe *FieldError) {
	var p workflowJobPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, "", jsonFieldError(err)
	}
	if p.Action != "completed" {
		return nil, "workflow_job " + p.Action + ": only completed jobs are billed", nil
	}
	j := p.WorkflowJob
	switch {
	case j == nil:
		return nil, "", hookError("workflow_job", "is required")
	case j.ID <= 0:
		return nil, "", hookError("workflow_job.id", "must be a positive integer")
	case p.Repository == nil || !validRepo(p.Repository.FullName):
		return nil, "", hookError("repository.full_name", "must be owner/name")
	case p.Repository.Private == nil:
		return nil, "", hookError("repository.private", "is required")
	case j.CompletedAt == nil:
		return nil, "", hookError("workflow_job.completed_at", "is required for a completed job")
	}
	if j.StartedAt == nil || *j.StartedAt == "" {
		return nil, "the job never started", nil
	}
	started, err := time.Parse(time.RFC3339, *j.StartedAt)
	if err != nil {
		return nil, "", hookError("workflow_job.started_at", "must be an RFC 3339 timestamp")
	}
	completed, err := time.Parse(time.RFC3339, *j.CompletedAt)
	if err != nil {
		return nil, "", hookError("workflow_job.completed_at", "must be an RFC 3339 timestamp")
	}
	if completed.Before(started) {
		return nil, "", hookError("workflow_job.completed_at", "is before started_at")
	}
	run := completed.Sub(started)
	if run == 0 {
		return nil, "the job did not run (0 s)", nil
	}
	minutes := int64((run + time.Minute - 1) / time.Minute)
	sku := c.RunnerSKU(j.Labels)
	if sku == "" {
		return nil, fmt.Sprintf("no runner SKU for labels %q (doc/billing.md lists the recognised labels)", j.Labels), nil
	}
	rec = &Record{ID: fmt.Sprintf("workflow_job:%d", j.ID), Timestamp: completed.UTC(), Product: "actions", SKU: sku,
		Quantity: Units(minutes), Unit: UnitMinutes, Repository: p.Repository.FullName, Public: !*p.Repository.Private}
	if p.Enterprise != nil {
		rec.Enterprise = p.Enterprise.Slug
	}
	if p.Organization != nil {
		rec.Organization = p.Organization.Login
	}
	if p.Sender != nil {
		rec.Username = p.Sender.Login
	}
	if j.WorkflowName != nil {
		rec.WorkflowPath = *j.WorkflowName
	}
	rec.Normalize()
	return rec, "", nil
}

// largerRunner matches labels of larger runners: an OS, a core count and
// optionally arm or gpu, e.g. ubuntu-latest-4-cores, linux-8-core-arm,
// windows_16core, windows-4-core-gpu.
var largerRunner = regexp.MustCompile(`^(ubuntu|linux|windows)[-_a-z0-9.]*?[-_](\d+)[-_]?cores?(?:[-_](arm|arm64|gpu))?$`)

// RunnerSKU maps a job's runs-on labels to an Actions SKU: self-hosted
// runners (the self-hosted label) to actions_self_hosted; GitHub's
// standard images (ubuntu-*, windows-*, macos-*, ubuntu-slim, the -arm
// images, macos-*-large and -xlarge) to their SKUs; larger-runner labels
// naming a core count to that runner's SKU. Anything else is "" (not
// billed: ghusage cannot tell the machine).
func (c *Catalog) RunnerSKU(labels []string) string {
	ls := make([]string, len(labels))
	for i, l := range labels {
		ls[i] = strings.ToLower(l)
	}
	if slices.Contains(ls, "self-hosted") {
		return "actions_self_hosted"
	}
	for _, l := range ls {
		if m := largerRunner.FindStringSubmatch(l); m != nil {
			os := "linux"
			if m[1] == "windows" {
				os = "windows"
			}
			id := "actions_" + os + "_" + m[2] + "_core"
			switch m[3] {
			case "arm", "arm64":
				id += "_arm"
			case "gpu":
				id += "_gpu"
			}
			if c.SKU(id) != nil {
				return id
			}
		}
	}
	for _, l := range ls {
		switch {
		case l == "ubuntu-slim":
			return "actions_linux_slim"
		case strings.HasPrefix(l, "ubuntu-") && strings.HasSuffix(l, "-arm"):
			return "actions_linux_arm"
		case strings.HasPrefix(l, "ubuntu-"):
			return "actions_linux"
		case strings.HasPrefix(l, "windows-") && strings.HasSuffix(l, "-arm"):
			return "actions_windows_2_core_arm"
		case strings.HasPrefix(l, "windows-"):
			return "actions_windows"
		case strings.HasPrefix(l, "macos-") && strings.HasSuffix(l, "-xlarge"):
			return "actions_macos_xl"
		case strings.HasPrefix(l, "macos-") && strings.HasSuffix(l, "-large"):
			return "actions_macos_l"
		case strings.HasPrefix(l, "macos-"):
			return "actions_macos"
		}
	}
	return ""
}

type pushPayload struct {
	Ref          string          `json:"ref"`
	Enterprise   *hookAccount    `json:"enterprise"`
	Organization *hookAccount    `json:"organization"`
	Repository   *hookRepository `json:"repository"`
	Commits      []struct {
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
		Author    *struct {
			Email    *string `json:"email"`
			Username string  `json:"username"`
		} `json:"author"`
	} `json:"commits"`
}

// PushCommitters turns a push delivery into Advanced Security committers:
// every author of the pushed commits who has a GitHub login (bots, whose
// logins end in [bot], are not counted), pushed at now to the repository.
// Pushes to public repositories are ignored (Advanced Security is free
// there). The account is the payload's enterprise, else its organization,
// else the repository owner; Service.AccountFor fills in the enterprise of
// an organization that belongs to one.
func PushCommitters(body []byte, now time.Time) (pushes []Push, ignored string, fe *FieldError) {
	var p pushPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, "", jsonFieldError(err)
	}
	switch {
	case p.Repository == nil || !validRepo(p.Repository.FullName):
		return nil, "", hookError("repository.full_name", "must be owner/name")
	case p.Repository.Private == nil:
		return nil, "", hookError("repository.private", "is required")
	}
	if !*p.Repository.Private {
		return nil, "public repository: Advanced Security is free", nil
	}
	repo := strings.ToLower(p.Repository.FullName)
	owner, _, _ := strings.Cut(repo, "/")
	acct := Account{KindUser, owner}
	org := ""
	if p.Organization != nil && p.Organization.Login != "" {
		org = strings.ToLower(p.Organization.Login)
		acct = Account{KindOrganization, org}
	}
	if p.Enterprise != nil && p.Enterprise.Slug != "" {
		acct = Account{KindEnterprise, strings.ToLower(p.Enterprise.Slug)}
	}
	for i, c := range p.Commits {
		if c.Author == nil || c.Author.Username == "" || strings.HasSuffix(c.Author.Username, "[bot]") {
			continue
		}
		if !validLogin(c.Author.Username) {
			return nil, "", hookError(fmt.Sprintf("commits[%d].author.username", i), "must be a user login")
		}
		at, err := time.Parse(time.RFC3339, c.Timestamp)
		if err != nil {
			return nil, "", hookError(fmt.Sprintf("commits[%d].timestamp", i), "must be an RFC 3339 timestamp")
		}
		email := ""
		if c.Author.Email != nil {
			email = *c.Author.Email
		}
		pushes = append(pushes, Push{Account: acct, Organization: org, Repository: repo, Login: strings.ToLower(c.Author.Username),
			Email: email, AuthorDate: at.UTC(), PushedAt: now.UTC()})
	}
	if len(pushes) == 0 {
		return nil, "no commit author with a GitHub login", nil
	}
	return pushes, "", nil
}

func jsonFieldError(err error) *FieldError {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return hookError(te.Field, "must be a JSON %s", te.Type)
	}
	return hookError("body", "is not a JSON object: %v", err)
}
