package copilot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Service is the Copilot domain's entry point for the adapters.
type Service struct {
	Store    Store
	Accounts usage.AccountStore
	Now      func() time.Time
	Builder  *Builder
	// RetentionDays bounds how far back a 1-day report may be asked for (0: no bound).
	RetentionDays int
	// BillingLedger is set when the billing ledger derives its Copilot
	// licences and premium requests from this service's seats and
	// activity (--copilot-billing): billing-usage ingestion then refuses
	// those SKUs.
	BillingLedger bool
}

// NewService returns a service; b may be nil when no reports are built.
func NewService(st Store, accounts usage.AccountStore, now func() time.Time, b *Builder) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{Store: st, Accounts: accounts, Now: now, Builder: b, RetentionDays: DefaultRetention}
}

// Today is the current UTC day.
func (s *Service) Today() Day { return DayOf(s.Now()) }

func lineInvalid(line int, field, msg string) *usage.Error {
	return lineErrors([]*LineError{{Line: line, Field: field, Message: msg}}, 1)
}

// Ingest checks that every record's user (and each repository it names)
// exists, then stores the batch: all or nothing, durable when it returns.
func (s *Service) Ingest(ctx context.Context, recs []Record) (IngestResult, error) {
	users := map[int64]*usage.User{}
	repos := map[string]*usage.Repository{}
	owners := map[string][]*usage.Repository{}
	out := make([]StoredRecord, 0, len(recs))
	for i := range recs {
		r := &recs[i]
		if r.UserID <= 0 || r.UserID > MaxUserID {
			return IngestResult{}, lineInvalid(r.Line, "user_id", fmt.Sprintf("must be an integer from 1 to %d", int64(MaxUserID)))
		}
		le := normalize(&r.Activity, &r.Extra)
		if le == nil {
			le = checkPremium(r.Extra.PremiumRequestsByModel)
		}
		if le != nil {
			le.Line = r.Line
			return IngestResult{}, lineErrors([]*LineError{le}, 1)
		}
		u, ok := users[r.UserID]
		if !ok {
			var err error
			u, err = s.Accounts.UserByID(ctx, r.UserID)
			if err != nil && !usage.IsNotFound(err) {
				return IngestResult{}, err
			}
			users[r.UserID] = u
		}
		if u == nil {
			return IngestResult{}, lineInvalid(r.Line, "user_id", fmt.Sprintf("no user has id %d", r.UserID))
		}
		if !strings.EqualFold(u.Login, r.UserLogin) {
			return IngestResult{}, lineInvalid(r.Line, "user_login", fmt.Sprintf("user %d is %s, not %s", u.ID, u.Login, r.UserLogin))
		}
		r.UserLogin = u.Login
		for j := range r.Extra.PullRequestsByRepo {
			p := &r.Extra.PullRequestsByRepo[j]
			key := strings.ToLower(p.Repo)
			repo, ok := repos[key]
			if !ok {
				owner, name, _ := strings.Cut(key, "/")
				list, ok := owners[owner]
				if !ok {
					var err error
					list, err = s.Accounts.ListRepositories(ctx, owner)
					if err != nil && !usage.IsNotFound(err) {
						return IngestResult{}, err
					}
					owners[owner] = list
				}
				for _, c := range list {
					if strings.EqualFold(c.Name, name) {
						repo = c
					}
				}
				repos[key] = repo
			}
			if repo == nil {
				return IngestResult{}, lineInvalid(r.Line, fmt.Sprintf("pull_requests_by_repo[%d].repo", j), fmt.Sprintf("no repository %s", p.Repo))
			}
			p.RepoID, p.RepoOwnerName, p.RepoName = repo.ID, repo.OwnerLogin, repo.Name
			p.RepoVisibility = "PUBLIC"
			if repo.Private {
				p.RepoVisibility = "PRIVATE"
			}
		}
		sr, err := r.Stored()
		if err != nil {
			return IngestResult{}, err
		}
		out = append(out, sr)
	}
	return s.Store.CopilotIngest(ctx, out)
}

// Stored is the record in the form stores keep.
func (r *Record) Stored() (StoredRecord, error) {
	line, err := json.Marshal(&r.Activity)
	if err != nil {
		return StoredRecord{}, err
	}
	extra, err := json.Marshal(&r.Extra)
	if err != nil {
		return StoredRecord{}, err
	}
	at, editor := r.Activity.lastSeen(r.Day)
	return StoredRecord{Day: r.Day, UserID: r.UserID, UserLogin: r.UserLogin, Flags: r.Activity.Flags(),
		Line: line, Extra: extra, LastAt: at.Unix(), LastEditor: editor}, nil
}

// lastSeen is the latest sampled IDE or CLI version of the day and the
// editor it names (ide/version/plugin/version, as GitHub's
// last_activity_editor), or the start of the day and "" without one.
func (a *Activity) lastSeen(d Day) (time.Time, string) {
	at, editor := d.Time(), ""
	seen := func(s *string, e string) {
		if s == nil {
			return
		}
		t, err := time.Parse(time.RFC3339Nano, *s)
		if err == nil && (editor == "" || t.After(at)) {
			at, editor = t.UTC().Truncate(time.Second), e
		}
	}
	for _, e := range a.TotalsByIDE {
		ed := e.IDE
		if v := e.LastKnownIDEVersion; v != nil {
			ed += "/" + v.IDEVersion
		}
		if p := e.LastKnownPluginVersion; p != nil {
			ed += "/" + p.Plugin + "/" + p.PluginVersion
			seen(p.SampledAt, ed)
		}
		if v := e.LastKnownIDEVersion; v != nil {
			seen(v.SampledAt, ed)
		}
	}
	if c := a.TotalsByCLI; c != nil && c.LastKnownCLIVersion != nil {
		seen(c.LastKnownCLIVersion.SampledAt, "copilot-cli/"+c.LastKnownCLIVersion.CLIVersion)
	}
	return at, editor
}

// ErrPolicyDisabled is the 403 of a report route whose policy is not enabled.
var ErrPolicyDisabled = usage.Errorf(usage.KindForbidden, "Copilot usage metrics are disabled by the \"Copilot usage metrics\" policy")

// CheckEnterprisePolicy allows enterprise reports when the enterprise's
// policy is enabled (GitHub: "Enabled everywhere").
func (s *Service) CheckEnterprisePolicy(ctx context.Context, e *usage.Enterprise) error {
	p, err := s.Store.CopilotPolicy(ctx, Scope{true, e.ID})
	if err != nil {
		return err
	}
	if p != PolicyEnabled {
		return ErrPolicyDisabled
	}
	return nil
}

// CheckOrgPolicy allows an organization's reports when its enterprise
// enables the policy everywhere, or leaves it to its organizations (or
// has none) and the organization enables it.
func (s *Service) CheckOrgPolicy(ctx context.Context, o *usage.Organization) error {
	if o.EnterpriseID != 0 {
		p, err := s.Store.CopilotPolicy(ctx, Scope{true, o.EnterpriseID})
		if err != nil {
			return err
		}
		switch p {
		case PolicyEnabled:
			return nil
		case PolicyDisabled:
			return ErrPolicyDisabled
		}
	}
	p, err := s.Store.CopilotPolicy(ctx, Scope{false, o.ID})
	if err != nil {
		return err
	}
	if p != PolicyEnabled {
		return ErrPolicyDisabled
	}
	return nil
}

// SetPolicy validates and sets a policy value; organizations take
// enabled or disabled, enterprises also unconfigured.
func (s *Service) SetPolicy(ctx context.Context, sc Scope, value string) error {
	switch value {
	case PolicyEnabled, PolicyDisabled:
	case PolicyUnconfigured:
		if !sc.Enterprise {
			return usage.Invalid("CopilotPolicy", "value", "an organization's policy is enabled or disabled")
		}
	default:
		return usage.Invalid("CopilotPolicy", "value", fmt.Sprintf("%q is not enabled, disabled or unconfigured", value))
	}
	return s.Store.CopilotSetPolicy(ctx, sc, value)
}

// ParseReportDay validates a 1-day route's day parameter: present,
// YYYY-MM-DD, a real date, not today or later (today's report is not
// built yet), within the retention.
func (s *Service) ParseReportDay(raw string, present bool) (Day, error) {
	if !present || raw == "" {
		return 0, &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed",
			Fields: []usage.FieldError{{Resource: "CopilotMetricsReport", Field: "day", Code: "missing_field", Message: "day is required, in YYYY-MM-DD form"}}}
	}
	d, err := ParseDay(raw)
	if err != nil {
		return 0, usage.Invalid("CopilotMetricsReport", "day", err.Error())
	}
	if today := s.Today(); d >= today {
		return 0, usage.Invalid("CopilotMetricsReport", "day", fmt.Sprintf("%s is not a closed day yet; the newest report is for a day before %s (UTC)", d, today))
	}
	return d, nil
}

// Report returns the report of a scope, kind and day; KindNotFound when
// none was built or the day is beyond the retention.
func (s *Service) Report(ctx context.Context, sc Scope, kind string, d Day) (*Report, error) {
	if s.RetentionDays > 0 && d < s.Today()-Day(s.RetentionDays) {
		return nil, usage.Errorf(usage.KindNotFound, "Copilot usage metrics reports are kept for %d days", s.RetentionDays)
	}
	return s.Store.CopilotReport(ctx, sc, kind, d)
}

// Latest returns the newest 28-day report of a kind.
func (s *Service) Latest(ctx context.Context, sc Scope, kind string) (*Report, error) {
	return s.Store.CopilotLatestReport(ctx, sc, kind)
}
