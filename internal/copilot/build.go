package copilot

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Builder defaults.
const (
	DefaultSettle     = 2 * time.Hour
	DefaultShardRows  = 10_000
	DefaultKeepFiles  = 2 * time.Hour
	DefaultRetention  = 365
	MinTeamUsers      = 5
	ContentTypeNDJSON = "application/x-ndjson"
)

// Builder builds the report files from the stored activity.
type Builder struct {
	Store    Store
	Accounts usage.AccountStore
	Files    FileStore
	Now      func() time.Time
	// Settle is how long after a UTC day ends its reports are first built.
	Settle time.Duration
	// ShardRows is the most records a per-user, user-teams or repos file holds.
	ShardRows int
	// KeepReplaced is how long the files of a replaced report stay
	// downloadable (at least the download links' lifetime).
	KeepReplaced time.Duration
	// RetentionDays is how many days of activity and reports are kept (0: forever).
	RetentionDays int
	Logger        *slog.Logger
	// Ledger, when set, is told after each run's reports are built which
	// closed days' activity changed, and the last closed day, before the
	// days' dirty marks are cleared: a failure leaves them marked, so the
	// next run repeats it. The billing ledger derives Copilot licences and
	// premium requests through it (--copilot-billing).
	Ledger Ledger
}

// Ledger is what the report job feeds with the activity it builds.
type Ledger interface {
	// CopilotClosed is called once per run with the closed days (at or
	// after the retention floor, in order) whose activity changed since
	// the previous run, and the newest closed day.
	CopilotClosed(ctx context.Context, changed []Day, closed Day) error
}

func (b *Builder) defaults() {
	if b.Now == nil {
		b.Now = time.Now
	}
	if b.ShardRows <= 0 {
		b.ShardRows = DefaultShardRows
	}
	if b.Logger == nil {
		b.Logger = slog.New(slog.DiscardHandler)
	}
}

// LastClosedDay is the newest day whose reports may be built at now.
func LastClosedDay(now time.Time, settle time.Duration) Day {
	return DayOf(now.Add(-settle)) - 1
}

// stateClosed is the builder state key of the last closed day processed.
const stateClosed = "closed"

// RunStats says what a run built.
type RunStats struct {
	Days, AggregateDays, Windows int
	Deleted                      int
}

// Run builds what is due: the files of every dirty closed day, the
// aggregates of the days after it whose weekly and monthly counts it
// changes, the 28-day windows containing it, and the aggregates and window
// of each newly closed day; then it deletes replaced files whose time is
// up and prunes what the retention no longer keeps. It is the body of the
// copilot-reports job.
func (b *Builder) Run(ctx context.Context) (RunStats, error) {
	b.defaults()
	var st RunStats
	now := b.Now()
	closed := LastClosedDay(now, b.Settle)
	floor := Day(0)
	if b.RetentionDays > 0 {
		floor = DayOf(now) - Day(b.RetentionDays)
	}
	dirty, err := b.Store.CopilotDirtyDays(ctx)
	if err != nil {
		return st, err
	}
	last, ok, err := b.Store.CopilotState(ctx, stateClosed)
	if err != nil {
		return st, err
	}
	lastClosed := Day(last)
	if !ok {
		lastClosed = closed - 1
	}
	full, agg, windows := map[Day]bool{}, map[Day]bool{}, map[Day]bool{}
	var done []DirtyDay
	for _, d := range dirty {
		if d.Day > closed {
			continue
		}
		done = append(done, d)
		if d.Day < floor {
			continue
		}
		full[d.Day] = true
		for e := d.Day; e <= min(d.Day+WindowDays-1, closed); e++ {
			agg[e], windows[e] = true, true
		}
	}
	for d := max(lastClosed+1, floor, closed-Day(WindowDays)*14); d <= closed; d++ {
		agg[d], windows[d] = true, true
	}
	for _, d := range slices.Sorted(maps.Keys(agg)) {
		if err := b.BuildDay(ctx, d, full[d]); err != nil {
			return st, fmt.Errorf("copilot reports of %s: %w", d, err)
		}
		if full[d] {
			st.Days++
		} else {
			st.AggregateDays++
		}
	}
	for _, d := range slices.Sorted(maps.Keys(windows)) {
		if err := b.BuildWindow(ctx, d); err != nil {
			return st, fmt.Errorf("copilot 28-day reports ending %s: %w", d, err)
		}
		st.Windows++
	}
	if b.Ledger != nil {
		if err := b.Ledger.CopilotClosed(ctx, slices.Sorted(maps.Keys(full)), closed); err != nil {
			return st, fmt.Errorf("copilot usage into the billing ledger: %w", err)
		}
	}
	if err := b.Store.CopilotClearDirty(ctx, done); err != nil {
		return st, err
	}
	if closed > lastClosed || !ok {
		if err := b.Store.CopilotSetState(ctx, stateClosed, int64(max(closed, lastClosed))); err != nil {
			return st, err
		}
	}
	if b.RetentionDays > 0 {
		if _, err := b.Store.CopilotPrune(ctx, floor, now); err != nil {
			return st, err
		}
	}
	n, err := b.collectGarbage(ctx, now)
	st.Deleted = n
	return st, err
}

func (b *Builder) collectGarbage(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		names, err := b.Store.CopilotGarbage(ctx, now, 500)
		if err != nil || len(names) == 0 {
			return total, err
		}
		for _, n := range names {
			if err := b.Files.Delete(ctx, n); err != nil && !usage.IsNotFound(err) {
				return total, err
			}
		}
		if err := b.Store.CopilotDropGarbage(ctx, names); err != nil {
			return total, err
		}
		total += len(names)
		if len(names) < 500 {
			return total, nil
		}
	}
}

// scopeInfo is what files of a scope are named and stamped with.
type scopeInfo struct {
	Scope
	ent, org  string // enterprise_id and organization_id ("" at enterprise scope)
	partition int64
	path      string // file name segment
}

// kindName is the file name stem of a report kind in this scope: the
// route's name.
func (s *scopeInfo) kindName(kind string) string {
	switch kind {
	case KindAggregate1:
		if s.Enterprise {
			return "enterprise-1-day"
		}
		return "organization-1-day"
	case KindAggregate28:
		if s.Enterprise {
			return "enterprise-28-day"
		}
		return "organization-28-day"
	}
	return kind
}

type directory struct {
	scopes map[Scope]*scopeInfo
	orgEnt map[int64]int64 // organization → its enterprise (0: none)
	orgIDs map[string]int64
	teams  map[int64]*usage.Team
}

func (b *Builder) directory(ctx context.Context, withTeams bool) (*directory, error) {
	d := &directory{scopes: map[Scope]*scopeInfo{}, orgEnt: map[int64]int64{}, orgIDs: map[string]int64{}, teams: map[int64]*usage.Team{}}
	ents, err := b.Accounts.ListEnterprises(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		id := strconv.FormatInt(e.ID, 10)
		d.scopes[Scope{true, e.ID}] = &scopeInfo{Scope: Scope{true, e.ID}, ent: id, partition: e.ID, path: "enterprises/" + id}
	}
	orgs, err := b.Accounts.ListOrganizations(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		ent := ""
		if o.EnterpriseID != 0 {
			ent = strconv.FormatInt(o.EnterpriseID, 10)
		}
		id := strconv.FormatInt(o.ID, 10)
		d.scopes[Scope{false, o.ID}] = &scopeInfo{Scope: Scope{false, o.ID}, ent: ent, org: id, partition: o.ID, path: "orgs/" + id}
		d.orgEnt[o.ID] = o.EnterpriseID
		d.orgIDs[strings.ToLower(o.Login)] = o.ID
		if withTeams {
			ts, err := b.Accounts.ListTeams(ctx, o.ID)
			if err != nil {
				return nil, err
			}
			for _, t := range ts {
				d.teams[t.ID] = t
			}
		}
	}
	return d, nil
}

// scopesOf appends to dst the scopes a user's activity counts towards.
func (d *directory) scopesOf(dst []Scope, orgs, ents []int64) []Scope {
	dst = dst[:0]
	add := func(s Scope) {
		if _, ok := d.scopes[s]; ok && !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	for _, o := range orgs {
		add(Scope{false, o})
		if e := d.orgEnt[o]; e != 0 {
			add(Scope{true, e})
		}
	}
	for _, e := range ents {
		add(Scope{true, e})
	}
	return dst
}

// activeCounts computes every scope's active-user counts for day d.
func (b *Builder) activeCounts(ctx context.Context, dir *directory, d Day) (map[Scope]*ActiveCounts, error) {
	out := map[Scope]*ActiveCounts{}
	var scopes []Scope
	err := b.Store.CopilotActiveUsers(ctx, WindowStart(d), d, func(u *ActiveUser) error {
		scopes = dir.scopesOf(scopes, u.Orgs, u.Enterprises)
		for _, s := range scopes {
			c := out[s]
			if c == nil {
				c = &ActiveCounts{}
				out[s] = c
			}
			c.countActive(u, d)
		}
		return nil
	})
	return out, err
}

// dayState is one scope's output while a day is built.
type dayState struct {
	agg   *aggregator
	users *shardWriter
}

type repoAcc struct {
	id                      int64
	owner, name, visibility string
	orgID                   int64
	prAcc
}

// BuildDay builds day d's reports for every scope: the aggregate, and with
// files also the users, user-teams and repos reports. Generation streams:
// the records are read once, in user order, and written as they come.
func (b *Builder) BuildDay(ctx context.Context, d Day, files bool) (err error) {
	b.defaults()
	dir, err := b.directory(ctx, files)
	if err != nil {
		return err
	}
	active, err := b.activeCounts(ctx, dir, d)
	if err != nil {
		return err
	}
	now := b.Now()
	gen := strconv.FormatInt(now.UnixNano(), 36)
	states := map[Scope]*dayState{}
	state := func(s Scope) *dayState {
		st := states[s]
		if st == nil {
			st = &dayState{agg: newAggregator()}
			if files {
				info := dir.scopes[s]
				st.users = b.newShardWriter(ctx, fileStem(info, d, gen, KindUsers1))
			}
			states[s] = st
		}
		return st
	}
	defer func() {
		if err != nil {
			for _, st := range states {
				if st.users != nil {
					st.users.abort(err)
				}
			}
		}
	}()
	repos := map[int64]*repoAcc{}
	teamActive := map[int64]int{}
	var (
		scopes []Scope
		a      Activity
		x      Extra
		line   []byte
		ds     dayString
	)
	err = b.Store.CopilotScan(ctx, d, d, true, func(r *ScanRow) error {
		scopes = dir.scopesOf(scopes, r.Orgs, r.Enterprises)
		if len(scopes) == 0 {
			return nil
		}
		a.resetForAggregate()
		x = Extra{}
		if decodeForAggregate(r.Line, &a) != nil {
			a = Activity{}
			if err := json.Unmarshal(r.Line, &a); err != nil {
				return fmt.Errorf("stored activity of user %d on %s: %w", r.UserID, d, err)
			}
		}
		if len(r.Extra) > 2 {
			if err := json.Unmarshal(r.Extra, &x); err != nil {
				return fmt.Errorf("stored activity of user %d on %s: %w", r.UserID, d, err)
			}
		}
		for _, s := range scopes {
			st := state(s)
			st.agg.add(&a, &x)
			if files {
				line = appendUserLine(line[:0], dir.scopes[s], d, nil, r, &ds)
				if err := st.users.write(line); err != nil {
					return err
				}
			}
		}
		if files {
			for _, t := range r.Teams {
				teamActive[t]++
			}
			for i := range x.PullRequestsByRepo {
				p := &x.PullRequestsByRepo[i]
				orgID := dir.orgIDs[strings.ToLower(p.RepoOwnerName)]
				if p.RepoID == 0 || orgID == 0 {
					continue
				}
				ra := repos[p.RepoID]
				if ra == nil {
					ra = &repoAcc{id: p.RepoID, owner: p.RepoOwnerName, name: p.RepoName, visibility: p.RepoVisibility, orgID: orgID}
					repos[p.RepoID] = ra
				}
				ra.add(p)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Scopes reported: those with activity in the trailing 28 days, and
	// those that had a report for the day (a correction may empty it).
	for s := range dir.scopes {
		if _, ok := states[s]; ok {
			continue
		}
		if c := active[s]; c != nil && c.MonthlyActiveUsers > 0 {
			state(s)
			continue
		}
		if _, err := b.Store.CopilotReport(ctx, s, KindAggregate1, d); err == nil {
			state(s)
		} else if !usage.IsNotFound(err) {
			return err
		}
	}
	keep := now.Add(b.KeepReplaced)
	for _, s := range slices.SortedFunc(maps.Keys(states), cmpScope) {
		st, info := states[s], dir.scopes[s]
		ac := ActiveCounts{}
		if c := active[s]; c != nil {
			ac = *c
		}
		body, err := json.Marshal(st.agg.result(d, info.ent, info.org, info.partition, ac))
		if err != nil {
			return err
		}
		name := fileStem(info, d, gen, KindAggregate1) + "-000.ndjson"
		if _, err := b.Files.Put(ctx, name, ContentTypeNDJSON, bytes.NewReader(append(body, '\n'))); err != nil {
			return err
		}
		if err := b.Store.CopilotPutReport(ctx, &Report{Scope: s, Kind: KindAggregate1, Day: d, Files: []string{name},
			Rows: ac.DailyActiveUsers, Body: body, BuiltAt: now}, keep); err != nil {
			return err
		}
		if !files {
			continue
		}
		names, rows, err := st.users.close()
		st.users = nil
		if err != nil {
			return err
		}
		if err := b.Store.CopilotPutReport(ctx, &Report{Scope: s, Kind: KindUsers1, Day: d, Files: names, Rows: rows, BuiltAt: now}, keep); err != nil {
			return err
		}
		if err := b.buildRepos(ctx, info, d, gen, repos, dir, keep, now); err != nil {
			return err
		}
	}
	if files {
		return b.buildUserTeams(ctx, dir, states, d, gen, teamActive, keep, now)
	}
	return nil
}

func cmpScope(x, y Scope) int {
	if x.Enterprise != y.Enterprise {
		if x.Enterprise {
			return -1
		}
		return 1
	}
	return int(x.ID - y.ID)
}

func fileStem(info *scopeInfo, d Day, gen, kind string) string {
	return "copilot/" + info.path + "/" + d.String() + "/" + gen + "/" + info.kindName(kind)
}

func (b *Builder) buildRepos(ctx context.Context, info *scopeInfo, d Day, gen string, repos map[int64]*repoAcc, dir *directory, keep, now time.Time) error {
	w := b.newShardWriter(ctx, fileStem(info, d, gen, KindRepos1))
	for _, id := range slices.Sorted(maps.Keys(repos)) {
		ra := repos[id]
		if info.Enterprise && dir.orgEnt[ra.orgID] != info.ID || !info.Enterprise && ra.orgID != info.ID {
			continue
		}
		ent := dir.scopes[Scope{false, ra.orgID}].ent
		rec := RepoDay{Day: d.String(), EnterpriseID: ent, OrganizationID: strconv.FormatInt(ra.orgID, 10), RepoID: ra.id,
			RepoOwnerName: ra.owner, RepoName: ra.name, RepoVisibility: ra.visibility,
			PullRequests: ra.prAcc.result(), PullRequestReviewTimes: []struct{}{}}
		line, err := json.Marshal(rec)
		if err != nil {
			w.abort(err)
			return err
		}
		if err := w.write(append(line, '\n')); err != nil {
			w.abort(err)
			return err
		}
	}
	names, rows, err := w.close()
	if err != nil {
		return err
	}
	return b.Store.CopilotPutReport(ctx, &Report{Scope: info.Scope, Kind: KindRepos1, Day: d, Files: names, Rows: rows, BuiltAt: now}, keep)
}

// buildUserTeams writes the user-teams reports: one line per active user
// and team of at least MinTeamUsers members active that day, from a
// second, identities-only read of the day.
func (b *Builder) buildUserTeams(ctx context.Context, dir *directory, states map[Scope]*dayState, d Day, gen string, teamActive map[int64]int, keep, now time.Time) (err error) {
	writers := map[Scope]*shardWriter{}
	defer func() {
		if err != nil {
			for _, w := range writers {
				w.abort(err)
			}
		}
	}()
	for s := range states {
		writers[s] = b.newShardWriter(ctx, fileStem(dir.scopes[s], d, gen, KindUserTeams1))
	}
	var line []byte
	eligible := func(t int64) bool { return teamActive[t] >= MinTeamUsers && dir.teams[t] != nil }
	if slices.ContainsFunc(slices.Collect(maps.Keys(teamActive)), eligible) {
		err = b.Store.CopilotScan(ctx, d, d, false, func(r *ScanRow) error {
			for _, t := range r.Teams {
				if !eligible(t) {
					continue
				}
				team := dir.teams[t]
				for _, s := range []Scope{{false, team.OrgID}, {true, dir.orgEnt[team.OrgID]}} {
					w := writers[s]
					if w == nil {
						continue
					}
					line = appendTeamLine(line[:0], dir.scopes[s], d, r, team)
					if err := w.write(line); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, s := range slices.SortedFunc(maps.Keys(writers), cmpScope) {
		names, rows, err := writers[s].close()
		delete(writers, s)
		if err != nil {
			return err
		}
		if err := b.Store.CopilotPutReport(ctx, &Report{Scope: s, Kind: KindUserTeams1, Day: d, Files: names, Rows: rows, BuiltAt: now}, keep); err != nil {
			return err
		}
	}
	return nil
}

// BuildWindow builds the 28-day reports ending on day end for every scope
// with a 1-day aggregate in the window: the aggregate wrapper, whose
// day_totals are the stored 1-day aggregates (a zero entry for a day
// without one), and the users-28-day report, one line per user and day.
func (b *Builder) BuildWindow(ctx context.Context, end Day) (err error) {
	b.defaults()
	dir, err := b.directory(ctx, false)
	if err != nil {
		return err
	}
	start := WindowStart(end)
	now := b.Now()
	gen := strconv.FormatInt(now.UnixNano(), 36)
	keep := now.Add(b.KeepReplaced)
	writers := map[Scope]*shardWriter{}
	defer func() {
		if err != nil {
			for _, w := range writers {
				w.abort(err)
			}
		}
	}()
	// Scopes with a 1-day aggregate in the window get the 28-day reports.
	reports := map[Scope][]*Report{}
	for _, s := range slices.SortedFunc(maps.Keys(dir.scopes), cmpScope) {
		reps, err := b.Store.CopilotReports(ctx, s, KindAggregate1, start, end)
		if err != nil {
			return err
		}
		if len(reps) == 0 {
			continue
		}
		reports[s] = reps
		writers[s] = b.newShardWriter(ctx, fileStem(dir.scopes[s], end, gen, KindUsers28))
	}
	if len(writers) == 0 {
		return nil
	}
	// users-28-day streams as the window is read; feature engagement
	// keeps, per user active in the window, a count of active days per
	// feature (saturating at 2) and the user's scopes.
	var (
		scopes  []Scope
		line    []byte
		window  = [2]string{start.String(), end.String()}
		ds      dayString
		engaged = map[int64]*userEngagement{}
	)
	err = b.Store.CopilotScan(ctx, start, end, true, func(r *ScanRow) error {
		scopes = dir.scopesOf(scopes, r.Orgs, r.Enterprises)
		if len(scopes) == 0 {
			return nil
		}
		ue := engaged[r.UserID]
		if ue == nil {
			ue = &userEngagement{scopes: slices.Clone(scopes)}
			engaged[r.UserID] = ue
		}
		ue.addDay(r.Line)
		for _, s := range scopes {
			if w := writers[s]; w != nil {
				line = appendUserLine(line[:0], dir.scopes[s], r.Day, &window, r, &ds)
				if err := w.write(line); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	engagement := map[Scope]*FeatureEngagement{}
	for _, ue := range engaged {
		for _, s := range ue.scopes {
			fe := engagement[s]
			if fe == nil {
				fe = newFeatureEngagement()
				engagement[s] = fe
			}
			fe.add(ue)
		}
	}
	for _, s := range slices.SortedFunc(maps.Keys(reports), cmpScope) {
		info, reps := dir.scopes[s], reports[s]
		byDay := map[Day][]byte{}
		for _, r := range reps {
			byDay[r.Day] = r.Body
		}
		var w bytes.Buffer
		w.WriteString(`{"report_start_day":"` + start.String() + `","report_end_day":"` + end.String() + `","enterprise_id":"` + info.ent + `"`)
		if !s.Enterprise {
			w.WriteString(`,"organization_id":"` + info.org + `"`)
		}
		w.WriteString(`,"created_at":"` + now.UTC().Format(time.RFC3339) + `","day_totals":[`)
		for day := start; day <= end; day++ {
			if day > start {
				w.WriteByte(',')
			}
			body := byDay[day]
			if body == nil {
				body, err = json.Marshal(newAggregator().result(day, info.ent, info.org, info.partition, ActiveCounts{}))
				if err != nil {
					return err
				}
			}
			w.Write(body)
		}
		fe := engagement[s]
		if fe == nil {
			fe = newFeatureEngagement()
		}
		eb, err := json.Marshal(fe)
		if err != nil {
			return err
		}
		w.WriteString(`],"copilot_feature_engagement":`)
		w.Write(eb)
		w.WriteString(`,"etl_id":"` + EtlID + `","day_partition":"` + end.String() + `","entity_id_partition":` + strconv.FormatInt(info.partition, 10) + "}\n")
		name := fileStem(info, end, gen, KindAggregate28) + "-000.ndjson"
		if _, err := b.Files.Put(ctx, name, ContentTypeNDJSON, &w); err != nil {
			return err
		}
		if err := b.Store.CopilotPutReport(ctx, &Report{Scope: s, Kind: KindAggregate28, Day: end, Files: []string{name}, Rows: int64(len(reps)), BuiltAt: now}, keep); err != nil {
			return err
		}
	}
	for _, s := range slices.SortedFunc(maps.Keys(writers), cmpScope) {
		names, rows, err := writers[s].close()
		delete(writers, s)
		if err != nil {
			return err
		}
		if err := b.Store.CopilotPutReport(ctx, &Report{Scope: s, Kind: KindUsers28, Day: end, Files: names, Rows: rows, BuiltAt: now}, keep); err != nil {
			return err
		}
	}
	return nil
}

// appendJSONString appends s as a JSON string: as it is when it needs no
// escaping (logins and slugs do not), else as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// dayString caches the YYYY-MM-DD form of the last day asked for.
type dayString struct {
	d Day
	s string
}

func (c *dayString) of(d Day) string {
	if c.s == "" || c.d != d {
		c.d, c.s = d, d.String()
	}
	return c.s
}

// appendUserLine appends a users-1-day line (or, with window, a
// users-28-day line) of a stored record in scope s.
func appendUserLine(b []byte, s *scopeInfo, d Day, window *[2]string, r *ScanRow, ds *dayString) []byte {
	b = append(b, '{')
	if window != nil {
		b = append(b, `"report_start_day":"`...)
		b = append(b, window[0]...)
		b = append(b, `","report_end_day":"`...)
		b = append(b, window[1]...)
		b = append(b, `",`...)
	}
	day := ds.of(d)
	b = append(b, `"day":"`...)
	b = append(b, day...)
	b = append(b, `","enterprise_id":"`...)
	b = append(b, s.ent...)
	b = append(b, '"')
	if !s.Enterprise {
		b = append(b, `,"organization_id":"`...)
		b = append(b, s.org...)
		b = append(b, '"')
	}
	b = append(b, `,"user_id":`...)
	b = strconv.AppendInt(b, r.UserID, 10)
	b = append(b, `,"user_login":`...)
	b = appendJSONString(b, r.UserLogin)
	if body := bytes.TrimSpace(r.Line); len(body) > 2 {
		b = append(b, ',')
		b = append(b, body[1:len(body)-1]...)
	}
	b = append(b, `,"etl_id":"`+EtlID+`","day_partition":"`...)
	b = append(b, day...)
	b = append(b, `","entity_id_partition":`...)
	b = strconv.AppendInt(b, s.partition, 10)
	return append(b, '}', '\n')
}

func appendTeamLine(b []byte, s *scopeInfo, d Day, r *ScanRow, t *usage.Team) []byte {
	b = append(b, `{"user_id":`...)
	b = strconv.AppendInt(b, r.UserID, 10)
	b = append(b, `,"user_login":`...)
	b = appendJSONString(b, r.UserLogin)
	b = append(b, `,"day":"`...)
	b = append(b, d.String()...)
	b = append(b, '"')
	if !s.Enterprise {
		b = append(b, `,"organization_id":"`...)
		b = append(b, s.org...)
		b = append(b, '"')
	}
	b = append(b, `,"enterprise_id":"`...)
	b = append(b, s.ent...)
	b = append(b, `","team_id":`...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, `,"slug":`...)
	b = appendJSONString(b, t.Slug)
	return append(b, '}', '\n')
}

// shardWriter streams lines into files of at most ShardRows lines,
// stem-000.ndjson, stem-001.ndjson, ...: each file is written to the
// FileStore through a pipe as its lines come, so nothing is buffered
// beyond a small write buffer.
type shardWriter struct {
	b     *Builder
	ctx   context.Context
	stem  string
	files []string
	rows  int64
	n     int // lines in the current file
	pw    *io.PipeWriter
	bw    *bufio.Writer
	done  chan error
}

func (b *Builder) newShardWriter(ctx context.Context, stem string) *shardWriter {
	return &shardWriter{b: b, ctx: ctx, stem: stem}
}

func (w *shardWriter) open() {
	name := fmt.Sprintf("%s-%03d.ndjson", w.stem, len(w.files))
	w.files = append(w.files, name)
	pr, pw := io.Pipe()
	w.pw, w.n = pw, 0
	w.bw = bufio.NewWriterSize(pw, 64<<10)
	w.done = make(chan error, 1)
	go func() {
		_, err := w.b.Files.Put(w.ctx, name, ContentTypeNDJSON, pr)
		pr.CloseWithError(errors.Join(err, errors.New("copilot: file store stopped reading")))
		w.done <- err
	}()
}

func (w *shardWriter) finish() error {
	err := w.bw.Flush()
	if err != nil {
		w.pw.CloseWithError(err)
	} else {
		w.pw.Close()
	}
	err = errors.Join(err, <-w.done)
	w.pw = nil
	return err
}

func (w *shardWriter) write(line []byte) error {
	if w.pw != nil && w.n >= w.b.ShardRows {
		if err := w.finish(); err != nil {
			return err
		}
	}
	if w.pw == nil {
		w.open()
	}
	w.n++
	w.rows++
	_, err := w.bw.Write(line)
	return err
}

// close finishes the last file and returns the files and lines written.
func (w *shardWriter) close() ([]string, int64, error) {
	if w.pw != nil {
		if err := w.finish(); err != nil {
			return nil, 0, err
		}
	}
	return w.files, w.rows, nil
}

// abort stops a writer after an error; files written stay unreferenced.
func (w *shardWriter) abort(err error) {
	if w != nil && w.pw != nil {
		w.pw.CloseWithError(err)
		<-w.done
		w.pw = nil
	}
}
