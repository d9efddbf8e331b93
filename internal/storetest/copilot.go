package storetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/copilot/copilotgen"
	"github.com/ghusage/ghusage/internal/usage"
)

// RunCopilot runs the Copilot conformance cases against backends whose
// Store also implements copilot.Store (others are skipped).
func RunCopilot(t *testing.T, open func(t *testing.T) Backend) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s usage.Store, cs copilot.Store)
	}{
		{"IngestReplacesByUserAndDay", testCopilotIngest},
		{"ScanCarriesMemberships", testCopilotScan},
		{"ActiveUsersLastDays", testCopilotActiveUsers},
		{"ReportIndexAndGarbage", testCopilotReports},
		{"Policy", testCopilotPolicy},
		{"Seats", testCopilotSeats},
		{"ReportsAreConsistent", testCopilotReportsConsistent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := open(t)
			cs, ok := b.Store.(copilot.Store)
			if !ok {
				t.Skip("backend does not implement copilot.Store")
			}
			c.fn(t, b.Store, cs)
		})
	}
}

// copilotNow is the fixed clock of the Copilot cases: 2026-03-14 15:09 UTC.
var copilotNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// copilotWorld is an enterprise with three organizations (and one outside
// it), users in one or two of them, and teams.
type copilotWorld struct {
	ent   *usage.Enterprise
	orgs  []*usage.Organization // orgs[3] is outside the enterprise
	users []*usage.User
	teams []*usage.Team
	repos []*usage.Repository
}

func newCopilotWorld(t *testing.T, s usage.Store, nUsers int) *copilotWorld {
	t.Helper()
	ctx := context.Background()
	w := &copilotWorld{ent: &usage.Enterprise{Slug: "acme", Name: "Acme", CreatedAt: testTime}}
	must(t, "create enterprise", s.CreateEnterprise(ctx, w.ent))
	for i, login := range []string{"acme-web", "acme-data", "acme-infra", "solo"} {
		o := &usage.Organization{Login: login, CreatedAt: testTime}
		if i < 3 {
			o.EnterpriseID = w.ent.ID
		}
		must(t, "create org", s.CreateOrganization(ctx, o))
		w.orgs = append(w.orgs, o)
		r := &usage.Repository{OwnerLogin: login, Name: "api", Private: i%2 == 0}
		must(t, "create repo", s.CreateRepository(ctx, r))
		w.repos = append(w.repos, r)
		team := &usage.Team{OrgID: o.ID, Slug: "core", Name: "Core"}
		must(t, "create team", s.CreateTeam(ctx, team))
		w.teams = append(w.teams, team)
	}
	for i := 0; i < nUsers; i++ {
		u := &usage.User{Login: fmt.Sprintf("dev%d", i), CreatedAt: testTime}
		must(t, "create user", s.CreateUser(ctx, u))
		w.users = append(w.users, u)
		home := w.orgs[i%4]
		must(t, "org role", s.SetOrgRole(ctx, home.ID, u.ID, usage.RoleMember))
		if i%3 == 0 {
			must(t, "second org", s.SetOrgRole(ctx, w.orgs[(i+1)%3].ID, u.ID, usage.RoleMember))
		}
		if i%5 == 4 {
			must(t, "enterprise role", s.SetEnterpriseRole(ctx, w.ent.ID, u.ID, usage.RoleMember))
		}
		if i%2 == 0 {
			must(t, "team", s.AddTeamMember(ctx, w.teams[i%4].ID, u.ID))
		}
	}
	return w
}

func record(u *usage.User, d copilot.Day, interactions int64) copilot.StoredRecord {
	r := copilot.Record{Day: d, UserID: u.ID, UserLogin: u.Login}
	r.Activity.UserInitiatedInteractionCount = interactions
	r.Activity.UsedChat = interactions > 1
	sr, err := r.Stored()
	if err != nil {
		panic(err)
	}
	return sr
}

func testCopilotIngest(t *testing.T, s usage.Store, cs copilot.Store) {
	ctx := context.Background()
	w := newCopilotWorld(t, s, 3)
	d := copilot.DayOf(copilotNow) - 2
	res, err := cs.CopilotIngest(ctx, []copilot.StoredRecord{record(w.users[0], d, 1), record(w.users[1], d, 2), record(w.users[0], d-1, 3)})
	must(t, "ingest", err)
	if res != (copilot.IngestResult{Received: 3, Recorded: 3}) {
		t.Fatalf("first ingest: %+v", res)
	}
	dirty, err := cs.CopilotDirtyDays(ctx)
	must(t, "dirty", err)
	if len(dirty) != 2 || dirty[0].Day != d-1 || dirty[1].Day != d {
		t.Fatalf("dirty days %+v, want %v and %v", dirty, d-1, d)
	}
	must(t, "clear", cs.CopilotClearDirty(ctx, dirty))
	// The same lines again change nothing and mark nothing.
	res, err = cs.CopilotIngest(ctx, []copilot.StoredRecord{record(w.users[0], d, 1), record(w.users[1], d, 2)})
	must(t, "re-ingest", err)
	if res != (copilot.IngestResult{Received: 2, Unchanged: 2}) {
		t.Fatalf("identical re-ingest: %+v", res)
	}
	if dirty, _ := cs.CopilotDirtyDays(ctx); len(dirty) != 0 {
		t.Fatalf("an identical re-send marked days dirty: %+v", dirty)
	}
	// A corrected day replaces the earlier line and marks the day again.
	res, err = cs.CopilotIngest(ctx, []copilot.StoredRecord{record(w.users[0], d, 7)})
	must(t, "correct", err)
	if res != (copilot.IngestResult{Received: 1, Replaced: 1}) {
		t.Fatalf("correction: %+v", res)
	}
	dirty, _ = cs.CopilotDirtyDays(ctx)
	if len(dirty) != 1 || dirty[0].Day != d {
		t.Fatalf("after a correction dirty days are %+v, want %v", dirty, d)
	}
	var got []int64
	must(t, "scan", cs.CopilotScan(ctx, d, d, true, func(r *copilot.ScanRow) error {
		var a copilot.Activity
		if err := json.Unmarshal(r.Line, &a); err != nil {
			return err
		}
		got = append(got, a.UserInitiatedInteractionCount)
		return nil
	}))
	if !slices.Equal(got, []int64{7, 2}) {
		t.Fatalf("day %v after the correction holds interactions %v, want [7 2]", d, got)
	}
	// A mark set after a build read the days is not cleared by it.
	stale := dirty
	_, err = cs.CopilotIngest(ctx, []copilot.StoredRecord{record(w.users[1], d, 9)})
	must(t, "ingest during build", err)
	must(t, "clear stale", cs.CopilotClearDirty(ctx, stale))
	if dirty, _ := cs.CopilotDirtyDays(ctx); len(dirty) != 1 {
		t.Fatalf("clearing with an old seq removed a newer mark: %+v", dirty)
	}
}

func testCopilotScan(t *testing.T, s usage.Store, cs copilot.Store) {
	ctx := context.Background()
	w := newCopilotWorld(t, s, 10)
	d := copilot.DayOf(copilotNow) - 1
	var recs []copilot.StoredRecord
	for _, u := range w.users {
		recs = append(recs, record(u, d, 1), record(u, d-3, 2))
	}
	_, err := cs.CopilotIngest(ctx, recs)
	must(t, "ingest", err)
	var rows []copilot.ScanRow
	must(t, "scan", cs.CopilotScan(ctx, d-3, d, false, func(r *copilot.ScanRow) error {
		if r.Line != nil {
			t.Errorf("identity scan returned a line")
		}
		c := *r
		c.Orgs, c.Enterprises, c.Teams = slices.Sorted(slices.Values(r.Orgs)), slices.Clone(r.Enterprises), slices.Clone(r.Teams)
		rows = append(rows, c)
		return nil
	}))
	if len(rows) != 20 {
		t.Fatalf("scan returned %d rows, want 20", len(rows))
	}
	for i, r := range rows {
		if i > 0 && (r.Day < rows[i-1].Day || r.Day == rows[i-1].Day && r.UserID <= rows[i-1].UserID) {
			t.Fatalf("rows not ordered by day and user: %v/%d after %v/%d", r.Day, r.UserID, rows[i-1].Day, rows[i-1].UserID)
		}
		ui := slices.IndexFunc(w.users, func(u *usage.User) bool { return u.ID == r.UserID })
		want := []int64{w.orgs[ui%4].ID}
		if ui%3 == 0 && ui%4 != (ui+1)%3 {
			want = append(want, w.orgs[(ui+1)%3].ID)
		}
		slices.Sort(want)
		if !slices.Equal(r.Orgs, want) {
			t.Errorf("user %d orgs %v, want %v", ui, r.Orgs, want)
		}
		if (ui%5 == 4) != (len(r.Enterprises) == 1) {
			t.Errorf("user %d enterprises %v", ui, r.Enterprises)
		}
		if (ui%2 == 0) != slices.Equal(r.Teams, []int64{w.teams[ui%4].ID}) {
			t.Errorf("user %d teams %v", ui, r.Teams)
		}
		if r.UserLogin != w.users[ui].Login {
			t.Errorf("login %q, want %q", r.UserLogin, w.users[ui].Login)
		}
	}
	got := 0
	must(t, "payload scan", cs.CopilotScan(ctx, d, d, true, func(r *copilot.ScanRow) error {
		got++
		if !json.Valid(r.Line) || !json.Valid(r.Extra) {
			t.Errorf("payload scan: line %q extra %q", r.Line, r.Extra)
		}
		return nil
	}))
	if got != 10 {
		t.Fatalf("one day: %d rows, want 10", got)
	}
}

func testCopilotActiveUsers(t *testing.T, s usage.Store, cs copilot.Store) {
	ctx := context.Background()
	w := newCopilotWorld(t, s, 2)
	d := copilot.DayOf(copilotNow) - 1
	_, err := cs.CopilotIngest(ctx, []copilot.StoredRecord{record(w.users[0], d-10, 2), record(w.users[0], d-3, 1), record(w.users[1], d, 2), record(w.users[1], d-40, 2)})
	must(t, "ingest", err)
	var got []copilot.ActiveUser
	must(t, "active", cs.CopilotActiveUsers(ctx, copilot.WindowStart(d), d, func(u *copilot.ActiveUser) error {
		c := *u
		c.Orgs, c.Enterprises = slices.Clone(u.Orgs), slices.Clone(u.Enterprises)
		got = append(got, c)
		return nil
	}))
	if len(got) != 2 {
		t.Fatalf("%d active users, want 2", len(got))
	}
	// Flag bits: 0 active, 1 chat (interactions > 1 in record()).
	if got[0].UserID != w.users[0].ID || got[0].Last[0] != d-3 || got[0].Last[1] != d-10 || got[0].Last[2] != 0 {
		t.Errorf("user 0: %+v, want last active %v, last chat %v", got[0], d-3, d-10)
	}
	if got[1].Last[0] != d || got[1].Last[1] != d {
		t.Errorf("user 1: %+v (its day %v activity is outside the window)", got[1], d-40)
	}
	if !slices.Contains(got[0].Orgs, w.orgs[0].ID) {
		t.Errorf("user 0 orgs %v", got[0].Orgs)
	}
}

func testCopilotReports(t *testing.T, s usage.Store, cs copilot.Store) {
	ctx := context.Background()
	sc := copilot.Scope{Enterprise: false, ID: 7}
	d := copilot.DayOf(copilotNow) - 1
	if _, err := cs.CopilotReport(ctx, sc, copilot.KindUsers1, d); !usage.IsNotFound(err) {
		t.Fatalf("missing report: %v, want not found", err)
	}
	r1 := &copilot.Report{Scope: sc, Kind: copilot.KindAggregate1, Day: d, Files: []string{"a", "b"}, Rows: 3, Body: []byte(`{"x":1}`), BuiltAt: testTime}
	must(t, "put", cs.CopilotPutReport(ctx, r1, copilotNow.Add(time.Hour)))
	got, err := cs.CopilotReport(ctx, sc, copilot.KindAggregate1, d)
	must(t, "get", err)
	if !slices.Equal(got.Files, r1.Files) || got.Rows != 3 || string(got.Body) != `{"x":1}` || got.Scope != sc || got.Day != d {
		t.Fatalf("report %+v, want %+v", got, r1)
	}
	sameTime(t, "built_at", got.BuiltAt, testTime)
	// Another scope type with the same id is another report.
	if _, err := cs.CopilotReport(ctx, copilot.Scope{Enterprise: true, ID: 7}, copilot.KindAggregate1, d); !usage.IsNotFound(err) {
		t.Fatalf("enterprise 7 sees organization 7's report: %v", err)
	}
	r2 := &copilot.Report{Scope: sc, Kind: copilot.KindAggregate1, Day: d, Files: []string{"b", "c"}, BuiltAt: testTime}
	must(t, "replace", cs.CopilotPutReport(ctx, r2, copilotNow.Add(time.Hour)))
	must(t, "older", cs.CopilotPutReport(ctx, &copilot.Report{Scope: sc, Kind: copilot.KindAggregate1, Day: d - 5, Files: []string{"old"}, BuiltAt: testTime}, copilotNow))
	latest, err := cs.CopilotLatestReport(ctx, sc, copilot.KindAggregate1)
	must(t, "latest", err)
	if latest.Day != d || !slices.Equal(latest.Files, []string{"b", "c"}) {
		t.Fatalf("latest %+v", latest)
	}
	list, err := cs.CopilotReports(ctx, sc, copilot.KindAggregate1, d-10, d)
	must(t, "range", err)
	if len(list) != 2 || list[0].Day != d-5 || list[1].Day != d {
		t.Fatalf("range %+v", list)
	}
	if g, _ := cs.CopilotGarbage(ctx, copilotNow, 10); len(g) != 0 {
		t.Fatalf("garbage due before its time: %v", g)
	}
	g, err := cs.CopilotGarbage(ctx, copilotNow.Add(time.Hour), 10)
	must(t, "garbage", err)
	if !slices.Equal(g, []string{"a"}) {
		t.Fatalf("garbage %v, want [a] (b is still in use)", g)
	}
	must(t, "drop", cs.CopilotDropGarbage(ctx, g))
	if g, _ := cs.CopilotGarbage(ctx, copilotNow.Add(time.Hour), 10); len(g) != 0 {
		t.Fatalf("garbage after drop: %v", g)
	}
	n, err := cs.CopilotPrune(ctx, d-1, copilotNow)
	must(t, "prune", err)
	if n < 1 {
		t.Fatalf("prune removed %d rows", n)
	}
	if g, _ := cs.CopilotGarbage(ctx, copilotNow, 10); !slices.Equal(g, []string{"old"}) {
		t.Fatalf("pruned report's files are not garbage: %v", g)
	}
	must(t, "state", cs.CopilotSetState(ctx, "k", 42))
	if v, ok, err := cs.CopilotState(ctx, "k"); err != nil || !ok || v != 42 {
		t.Fatalf("state %v %v %v", v, ok, err)
	}
	if _, ok, err := cs.CopilotState(ctx, "other"); err != nil || ok {
		t.Fatalf("unset state %v %v", ok, err)
	}
}

func testCopilotPolicy(t *testing.T, s usage.Store, cs copilot.Store) {
	ctx := context.Background()
	e, o := copilot.Scope{Enterprise: true, ID: 1}, copilot.Scope{ID: 1}
	if p, err := cs.CopilotPolicy(ctx, e); err != nil || p != "" {
		t.Fatalf("unset policy %q %v", p, err)
	}
	must(t, "set", cs.CopilotSetPolicy(ctx, e, copilot.PolicyEnabled))
	must(t, "set org", cs.CopilotSetPolicy(ctx, o, copilot.PolicyDisabled))
	must(t, "reset", cs.CopilotSetPolicy(ctx, e, copilot.PolicyUnconfigured))
	if p, _ := cs.CopilotPolicy(ctx, e); p != copilot.PolicyUnconfigured {
		t.Fatalf("enterprise policy %q", p)
	}
	if p, _ := cs.CopilotPolicy(ctx, o); p != copilot.PolicyDisabled {
		t.Fatalf("organization policy %q", p)
	}
}

func testCopilotSeats(t *testing.T, s usage.Store, cs copilot.Store) {
	ctx := context.Background()
	w := newCopilotWorld(t, s, 4)
	ent, org := w.ent.ID, w.orgs[0].ID
	today := copilot.DayOf(copilotNow)
	seat := func(u int, team int64) copilot.Seat {
		return copilot.Seat{EnterpriseID: ent, OrgID: org, UserID: w.users[u].ID, AssigningTeamID: team, CreatedAt: testTime, UpdatedAt: testTime, PlanType: "business"}
	}
	n, err := cs.CopilotAddSeats(ctx, []copilot.Seat{seat(0, 0), seat(1, w.teams[0].ID)})
	must(t, "add", err)
	if n != 2 {
		t.Fatalf("created %d seats, want 2", n)
	}
	if n, _ := cs.CopilotAddSeats(ctx, []copilot.Seat{seat(0, 0)}); n != 0 {
		t.Fatalf("adding a seat twice created %d", n)
	}
	_, err = cs.CopilotAddSeats(ctx, []copilot.Seat{{EnterpriseID: ent, UserID: w.users[2].ID, CreatedAt: testTime, UpdatedAt: testTime, PlanType: "business"}})
	must(t, "enterprise seat", err)
	orgSeats, err := cs.CopilotSeats(ctx, ent, org, today)
	must(t, "list", err)
	if len(orgSeats) != 2 || orgSeats[1].AssigningTeamID != w.teams[0].ID {
		t.Fatalf("org seats %+v", orgSeats)
	}
	sameTime(t, "seat created_at", orgSeats[0].CreatedAt, testTime)
	all, _ := cs.CopilotSeats(ctx, ent, 0, today)
	if len(all) != 3 {
		t.Fatalf("enterprise seats %+v, want 3", all)
	}
	// Cancelling a team seat as direct does nothing; as the team's it does.
	if n, _ := cs.CopilotCancelSeats(ctx, ent, org, []int64{w.users[1].ID}, 0, today+10); n != 0 {
		t.Fatalf("cancelled a team's seat as a direct one: %d", n)
	}
	n, err = cs.CopilotCancelSeats(ctx, ent, org, []int64{w.users[0].ID, w.users[1].ID}, w.teams[0].ID, today+10)
	must(t, "cancel", err)
	if n != 1 {
		t.Fatalf("cancelled %d, want 1", n)
	}
	still, _ := cs.CopilotSeats(ctx, ent, org, today)
	if len(still) != 2 || still[1].PendingCancellation != today+10 {
		t.Fatalf("pending cancellation not kept until its day: %+v", still)
	}
	if after, _ := cs.CopilotSeats(ctx, ent, org, today+10); len(after) != 1 {
		t.Fatalf("seat still listed on its cancellation day: %+v", after)
	}
	if n, _ := cs.CopilotAddSeats(ctx, []copilot.Seat{seat(1, w.teams[0].ID)}); n != 1 {
		t.Fatalf("re-adding a pending-cancellation seat revived %d", n)
	}
	members, err := cs.CopilotTeamMembers(ctx, w.teams[0].ID)
	must(t, "team members", err)
	if !slices.Equal(members, []int64{w.users[0].ID}) {
		t.Fatalf("team members %v", members)
	}
	r := record(w.users[0], today-2, 1)
	r.LastAt, r.LastEditor = testTime.Unix(), "vscode/1.1/copilot-chat/0.1"
	older := record(w.users[0], today-5, 1)
	older.LastAt, older.LastEditor = testTime.Add(-72*time.Hour).Unix(), "old"
	_, err = cs.CopilotIngest(ctx, []copilot.StoredRecord{r, older})
	must(t, "ingest", err)
	last, err := cs.CopilotLastActivity(ctx, []int64{w.users[0].ID, w.users[1].ID})
	must(t, "last activity", err)
	if len(last) != 1 || !last[w.users[0].ID].At.Equal(testTime) || last[w.users[0].ID].Editor != "vscode/1.1/copilot-chat/0.1" {
		t.Fatalf("last activity %+v", last)
	}
}

// ndjsonLines splits a file into decoded objects.
func ndjsonLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func reportLines(t *testing.T, cs copilot.Store, files *copilot.MemFiles, sc copilot.Scope, kind string, d copilot.Day) []map[string]any {
	t.Helper()
	r, err := cs.CopilotReport(context.Background(), sc, kind, d)
	if err != nil {
		t.Fatalf("%s of %+v on %v: %v", kind, sc, d, err)
	}
	var out []map[string]any
	for _, f := range r.Files {
		b, ok := files.Get(f)
		if !ok {
			t.Fatalf("file %s of %s is missing", f, kind)
		}
		if len(b) == 0 || b[len(b)-1] != '\n' {
			t.Fatalf("file %s does not end with a newline", f)
		}
		out = append(out, ndjsonLines(t, b)...)
	}
	if int64(len(out)) != r.Rows && kind != copilot.KindAggregate1 && kind != copilot.KindAggregate28 {
		t.Fatalf("%s: %d lines, report says %d", kind, len(out), r.Rows)
	}
	return out
}

func num(v any) int64 {
	n, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64)
	return n
}

// checkTypes fails unless m's identity fields have the research's types:
// enterprise_id and organization_id strings, user_id, team_id and repo_id integers.
func checkTypes(t *testing.T, kind string, m map[string]any, want ...string) {
	t.Helper()
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Fatalf("%s record lacks %s: %v", kind, k, m)
		}
	}
	for k, v := range m {
		switch k {
		case "enterprise_id", "organization_id", "day", "user_login":
			if _, ok := v.(string); !ok {
				t.Fatalf("%s: %s is %T, want a string", kind, k, v)
			}
		case "user_id", "team_id", "repo_id", "entity_id_partition":
			n, ok := v.(json.Number)
			if _, err := n.Int64(); !ok || err != nil {
				t.Fatalf("%s: %s is %v (%T), want an integer", kind, k, v, v)
			}
		}
	}
}

var counterKeys = []string{"user_initiated_interaction_count", "code_generation_activity_count", "code_acceptance_activity_count",
	"loc_suggested_to_add_sum", "loc_suggested_to_delete_sum", "loc_added_sum", "loc_deleted_sum"}

var userKeys = append([]string{"day", "enterprise_id", "user_id", "user_login", "used_agent", "used_chat", "used_cli", "used_copilot_coding_agent",
	"used_copilot_cloud_agent", "used_copilot_code_review_active", "used_copilot_code_review_passive", "ai_adoption_phase", "totals_by_ide",
	"totals_by_feature", "totals_by_language_feature", "totals_by_language_model", "totals_by_model_feature"}, counterKeys...)

var aggregateKeys = append([]string{"day", "enterprise_id", "daily_active_users", "weekly_active_users", "monthly_active_users",
	"monthly_active_chat_users", "monthly_active_agent_users", "daily_active_copilot_cloud_agent_users", "weekly_active_copilot_cloud_agent_users",
	"monthly_active_copilot_cloud_agent_users", "daily_active_copilot_code_review_users", "weekly_active_copilot_code_review_users",
	"monthly_active_copilot_code_review_users", "daily_passive_copilot_code_review_users", "weekly_passive_copilot_code_review_users",
	"monthly_passive_copilot_code_review_users", "totals_by_ide", "totals_by_feature", "totals_by_language_feature", "totals_by_language_model",
	"totals_by_model_feature", "pull_requests"}, counterKeys...)

// testCopilotReportsConsistent builds 35 days of generated activity and
// checks every file kind: identity types, an organization's aggregate is the
// sum of its users' lines, enterprise daily active users are the distinct
// users of its organizations, each 28-day day_totals entry is that day's
// aggregate, and a corrected day shows in rebuilt files.
func testCopilotReportsConsistent(t *testing.T, s usage.Store, cs copilot.Store) {
	ctx := context.Background()
	w := newCopilotWorld(t, s, 40)
	now := copilotNow
	clock := func() time.Time { return now }
	files := &copilot.MemFiles{}
	b := &copilot.Builder{Store: cs, Accounts: s, Files: files, Now: clock, Settle: time.Hour, ShardRows: 7, KeepReplaced: time.Hour}
	svc := copilot.NewService(cs, s, clock, b)
	today := copilot.DayOf(now)
	rng := rand.New(rand.NewPCG(3, 4))
	var repos []string
	for _, r := range w.repos {
		repos = append(repos, r.FullName())
	}
	var recs []copilot.Record
	for d := today - 35; d < today; d++ {
		for i, u := range w.users {
			if rng.IntN(3) == 0 {
				continue
			}
			recs = append(recs, copilotgen.Day(rng, u.ID, u.Login, d, copilotgen.Options{Adoption: float64(i) / 40, Repos: repos}))
		}
	}
	if _, err := svc.Ingest(ctx, recs); err != nil {
		t.Fatal(err)
	}
	st, err := b.Run(ctx)
	must(t, "build", err)
	if st.Days != 35 || st.Windows < 28 {
		t.Fatalf("run built %+v, want 35 days and their windows", st)
	}
	last := today - 1
	entScope := copilot.Scope{Enterprise: true, ID: w.ent.ID}
	for _, day := range []copilot.Day{last, last - 3} {
		distinct := map[int64]bool{}
		for _, o := range w.orgs {
			sc := copilot.Scope{ID: o.ID}
			users := reportLines(t, cs, files, sc, copilot.KindUsers1, day)
			agg := reportLines(t, cs, files, sc, copilot.KindAggregate1, day)
			if len(agg) != 1 {
				t.Fatalf("org aggregate has %d lines", len(agg))
			}
			checkTypes(t, "organization-1-day", agg[0], append(aggregateKeys, "organization_id")...)
			if num(agg[0]["daily_active_users"]) != int64(len(users)) {
				t.Errorf("%s %v: daily_active_users %v, users file %d lines", o.Login, day, agg[0]["daily_active_users"], len(users))
			}
			for _, k := range counterKeys {
				var sum int64
				for _, u := range users {
					sum += num(u[k])
				}
				if num(agg[0][k]) != sum {
					t.Errorf("%s %v: aggregate %s = %v, users sum to %d", o.Login, day, k, agg[0][k], sum)
				}
			}
			ideSum := map[string]int64{}
			for _, u := range users {
				checkTypes(t, "users-1-day", u, append(userKeys, "organization_id")...)
				if u["organization_id"] != strconv.FormatInt(o.ID, 10) || u["day"] != day.String() {
					t.Fatalf("users line of the wrong scope or day: %v", u)
				}
				if _, ok := u["pull_requests"]; ok {
					t.Fatalf("a per-user line carries pull_requests")
				}
				for _, e := range u["totals_by_ide"].([]any) {
					m := e.(map[string]any)
					ideSum[m["ide"].(string)] += num(m["code_generation_activity_count"])
				}
				if o.EnterpriseID != 0 {
					distinct[num(u["user_id"])] = true
				}
			}
			for _, e := range agg[0]["totals_by_ide"].([]any) {
				m := e.(map[string]any)
				if num(m["code_generation_activity_count"]) != ideSum[m["ide"].(string)] {
					t.Errorf("%s: totals_by_ide %v generations %v, users sum %d", o.Login, m["ide"], m["code_generation_activity_count"], ideSum[m["ide"].(string)])
				}
				if _, ok := m["last_known_ide_version"]; ok {
					t.Errorf("aggregate IDE totals carry a version")
				}
			}
			for _, r := range reportLines(t, cs, files, sc, copilot.KindRepos1, day) {
				checkTypes(t, "repos-1-day", r, "day", "enterprise_id", "organization_id", "repo_id", "repo_owner_name", "repo_name", "repo_visibility", "pull_requests", "pull_request_review_times")
				if r["repo_owner_name"] != o.Login {
					t.Errorf("repo of %v in %s's report", r["repo_owner_name"], o.Login)
				}
			}
			for _, ut := range reportLines(t, cs, files, sc, copilot.KindUserTeams1, day) {
				checkTypes(t, "user-teams-1-day", ut, "user_id", "user_login", "day", "organization_id", "enterprise_id", "team_id", "slug")
			}
		}
		entUsers := reportLines(t, cs, files, entScope, copilot.KindUsers1, day)
		entAgg := reportLines(t, cs, files, entScope, copilot.KindAggregate1, day)
		checkTypes(t, "enterprise-1-day", entAgg[0], aggregateKeys...)
		if _, ok := entAgg[0]["organization_id"]; ok {
			t.Errorf("enterprise aggregate carries organization_id")
		}
		seen := map[int64]bool{}
		for _, u := range entUsers {
			checkTypes(t, "enterprise users-1-day", u, userKeys...)
			if seen[num(u["user_id"])] {
				t.Fatalf("user %v listed twice in the enterprise's users-1-day", u["user_id"])
			}
			seen[num(u["user_id"])] = true
		}
		// Enterprise members without an organization count too.
		for id := range distinct {
			if !seen[id] {
				t.Errorf("user %d of an enterprise organization is missing from the enterprise's users", id)
			}
		}
		if num(entAgg[0]["daily_active_users"]) != int64(len(seen)) || len(seen) < len(distinct) {
			t.Errorf("enterprise DAU %v, distinct users %d (from orgs %d)", entAgg[0]["daily_active_users"], len(seen), len(distinct))
		}
		if num(entAgg[0]["monthly_active_users"]) < num(entAgg[0]["weekly_active_users"]) || num(entAgg[0]["weekly_active_users"]) < num(entAgg[0]["daily_active_users"]) {
			t.Errorf("monthly < weekly < daily: %v", entAgg[0])
		}
	}
	// Sharding: 7 lines a file.
	r, _ := cs.CopilotReport(ctx, entScope, copilot.KindUsers1, last)
	if want := (r.Rows + 6) / 7; int64(len(r.Files)) != want {
		t.Errorf("%d users in %d files, want %d files of at most 7", r.Rows, len(r.Files), want)
	}
	// 28-day: day_totals entries are the 1-day aggregates.
	win := reportLines(t, cs, files, entScope, copilot.KindAggregate28, last)
	if len(win) != 1 {
		t.Fatalf("28-day aggregate file has %d objects", len(win))
	}
	checkTypes(t, "enterprise-28-day", win[0], "report_start_day", "report_end_day", "enterprise_id", "created_at", "day_totals")
	totals := win[0]["day_totals"].([]any)
	if len(totals) != 28 || win[0]["report_end_day"] != last.String() || win[0]["report_start_day"] != copilot.WindowStart(last).String() {
		t.Fatalf("28-day window %v..%v with %d days", win[0]["report_start_day"], win[0]["report_end_day"], len(totals))
	}
	for i, e := range totals {
		day := copilot.WindowStart(last) + copilot.Day(i)
		one := reportLines(t, cs, files, entScope, copilot.KindAggregate1, day)[0]
		if !reflect.DeepEqual(e, any(one)) {
			t.Fatalf("day_totals[%d] differs from the 1-day aggregate of %v", i, day)
		}
	}
	users28 := reportLines(t, cs, files, entScope, copilot.KindUsers28, last)
	var want28 int
	for d := copilot.WindowStart(last); d <= last; d++ {
		want28 += len(reportLines(t, cs, files, entScope, copilot.KindUsers1, d))
	}
	if len(users28) != want28 {
		t.Fatalf("users-28-day has %d lines, the 28 users-1-day files %d", len(users28), want28)
	}
	checkTypes(t, "users-28-day", users28[0], append(userKeys, "report_start_day", "report_end_day")...)
	// copilot_feature_engagement: users active on at least 2 of the 28
	// days, overall and per feature, counted here from the users-28-day lines.
	days, featDays := map[int64]int{}, map[string]map[int64]int{}
	for _, u := range users28 {
		id := num(u["user_id"])
		days[id]++
		used := map[string]bool{}
		for _, e := range u["totals_by_feature"].([]any) {
			used[e.(map[string]any)["feature"].(string)] = true
		}
		for k, f := range map[string]string{"used_copilot_code_review_passive": "copilot_code_review_passive", "used_copilot_code_review_active": "copilot_code_review_active",
			"used_copilot_cloud_agent": "copilot_cloud_agent", "used_cli": "copilot_cli", "used_copilot_app": "copilot_app"} {
			if u[k] == true {
				used[f] = true
			}
		}
		for f := range used {
			if featDays[f] == nil {
				featDays[f] = map[int64]int{}
			}
			featDays[f][id]++
		}
	}
	atLeast2 := func(m map[int64]int) int64 {
		var n int64
		for _, c := range m {
			if c >= 2 {
				n++
			}
		}
		return n
	}
	fe, ok := win[0]["copilot_feature_engagement"].(map[string]any)
	if !ok {
		t.Fatalf("28-day aggregate without copilot_feature_engagement: %v", win[0]["copilot_feature_engagement"])
	}
	if got, want := num(fe["active_user_count"]), atLeast2(days); got != want || want == 0 {
		t.Errorf("copilot_feature_engagement.active_user_count %d, want %d", got, want)
	}
	seenFeatures := 0
	for _, e := range fe["totals_by_feature"].([]any) {
		m := e.(map[string]any)
		f := m["feature"].(string)
		if got, want := num(m["engaged_user_count"]), atLeast2(featDays[f]); got != want {
			t.Errorf("copilot_feature_engagement %s: %d engaged users, want %d", f, got, want)
		}
		if num(m["engaged_user_count"]) > 0 {
			seenFeatures++
		}
	}
	if len(fe["totals_by_feature"].([]any)) != len(copilot.EngagementFeatures) || seenFeatures < 4 {
		t.Errorf("copilot_feature_engagement lists %v", fe["totals_by_feature"])
	}
	// Weekly and monthly CLI users are the distinct users with used_cli in
	// the trailing 7 and 28 days; no app use means no app counts at all.
	lastAgg := reportLines(t, cs, files, entScope, copilot.KindAggregate1, last)[0]
	week, month := map[int64]bool{}, map[int64]bool{}
	for _, u := range users28 {
		if u["used_cli"] == true {
			month[num(u["user_id"])] = true
			if d, _ := copilot.ParseDay(u["day"].(string)); d > last-7 {
				week[num(u["user_id"])] = true
			}
		}
	}
	if num(lastAgg["monthly_active_cli_users"]) != int64(len(month)) || num(lastAgg["weekly_active_cli_users"]) != int64(len(week)) || len(week) == 0 {
		t.Errorf("CLI users: weekly %v monthly %v, want %d and %d", lastAgg["weekly_active_cli_users"], lastAgg["monthly_active_cli_users"], len(week), len(month))
	}
	if _, ok := lastAgg["monthly_active_copilot_app_users"]; ok {
		t.Errorf("monthly_active_copilot_app_users without app use: %v", lastAgg["monthly_active_copilot_app_users"])
	}

	// A corrected day: the next build shows it, in the day and the windows.
	before, _ := cs.CopilotReport(ctx, entScope, copilot.KindUsers1, last-2)
	target := w.users[4] // a direct enterprise member
	fix := copilot.Record{Day: last - 2, UserID: target.ID, UserLogin: target.Login}
	fix.Activity.UserInitiatedInteractionCount = 424242
	if _, err := svc.Ingest(ctx, []copilot.Record{fix}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * time.Minute)
	st, err = b.Run(ctx)
	must(t, "rebuild", err)
	if st.Days != 1 || st.Windows != 3 {
		t.Fatalf("rebuild after a correction of %v built %+v, want the day and the 3 windows containing it", last-2, st)
	}
	found := false
	for _, u := range reportLines(t, cs, files, entScope, copilot.KindUsers1, last-2) {
		if num(u["user_id"]) == target.ID {
			found = num(u["user_initiated_interaction_count"]) == 424242
		}
	}
	if !found {
		t.Fatalf("the corrected line is not in the rebuilt users-1-day file")
	}
	agg := reportLines(t, cs, files, entScope, copilot.KindAggregate28, last)[0]
	entry := agg["day_totals"].([]any)[copilot.WindowDays-3].(map[string]any)
	if num(entry["user_initiated_interaction_count"]) < 424242 {
		t.Fatalf("the 28-day window does not show the correction: %v", entry["user_initiated_interaction_count"])
	}
	// The replaced files stay until KeepReplaced, then go.
	for _, f := range before.Files {
		if _, ok := files.Get(f); !ok {
			t.Fatalf("a replaced file was deleted before its links expired")
		}
	}
	now = now.Add(2 * time.Hour)
	st, err = b.Run(ctx)
	must(t, "collect", err)
	for _, f := range before.Files {
		if _, ok := files.Get(f); ok {
			t.Fatalf("replaced file %s still there after KeepReplaced (%+v)", f, st)
		}
	}
	if strings.Count(before.Files[0], "/") < 4 {
		t.Fatalf("file name %q", before.Files[0])
	}
}
