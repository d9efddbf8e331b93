package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/usage"
)

// Replicas opens n stores sharing one fresh, empty backend, as n replicas
// (or processes) would; they are closed through t.Cleanup.
type Replicas func(t *testing.T, n int) []usage.Store

// RunCostCenters runs the cost-center conformance cases against stores
// that also implement billing.CostCenterStore (others are skipped).
func RunCostCenters(t *testing.T, open Replicas) {
	cases := []struct {
		name string
		fn   func(t *testing.T, f *ccFixture)
	}{
		{"Lifecycle", testCostCenterLifecycle},
		{"DuplicateNames", testCostCenterDuplicateNames},
		{"Limit", testCostCenterLimit},
		{"ResourcesAndMoves", testCostCenterResources},
		{"UnknownResources", testCostCenterUnknownResources},
		{"ArchiveReleasesResources", testCostCenterArchive},
		{"MembershipIntervals", testCostCenterIntervals},
		{"AICreditPool", testCostCenterAIPool},
		{"EnterprisesAreSeparate", testCostCenterEnterprises},
		{"EnterpriseTeams", testEnterpriseTeams},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newCCFixture(t, open(t, 1)[0]))
		})
	}
	t.Run("ConcurrentCreatesOneName", func(t *testing.T) {
		t.Parallel()
		testConcurrentCreates(t, open(t, 2))
	})
	t.Run("ConcurrentMovesOneMembership", func(t *testing.T) {
		t.Parallel()
		testConcurrentMoves(t, open(t, 2))
	})
}

// ccFixture is an enterprise acme (orgs web and data, users, repositories
// and an enterprise team) and a second enterprise globex, in one store.
type ccFixture struct {
	s      billing.CostCenterStore
	st     usage.Store
	ent    *usage.Enterprise
	other  *usage.Enterprise
	now    time.Time
	nextID int
}

func asCostCenterStore(t *testing.T, s usage.Store) billing.CostCenterStore {
	t.Helper()
	cs, ok := s.(billing.CostCenterStore)
	if !ok {
		t.Skip("backend does not implement billing.CostCenterStore")
	}
	return cs
}

func newCCFixture(t *testing.T, st usage.Store) *ccFixture {
	t.Helper()
	f := &ccFixture{s: asCostCenterStore(t, st), st: st, now: testTime}
	seedCostCenterAccounts(t, st)
	var err error
	f.ent, err = st.EnterpriseBySlug(t.Context(), "acme")
	must(t, "enterprise", err)
	f.other, err = st.EnterpriseBySlug(t.Context(), "globex")
	must(t, "enterprise", err)
	return f
}

// seedCostCenterAccounts writes the accounts the cost-center cases use.
func seedCostCenterAccounts(t *testing.T, st usage.Store) {
	t.Helper()
	ctx := t.Context()
	acme := &usage.Enterprise{Slug: "acme", Name: "Acme", CreatedAt: testTime}
	globex := &usage.Enterprise{Slug: "globex", Name: "Globex", CreatedAt: testTime}
	must(t, "enterprise", st.CreateEnterprise(ctx, acme))
	must(t, "enterprise", st.CreateEnterprise(ctx, globex))
	for _, o := range []*usage.Organization{{Login: "Acme-Web", EnterpriseID: acme.ID}, {Login: "acme-data", EnterpriseID: acme.ID}, {Login: "globex-ops", EnterpriseID: globex.ID}} {
		o.CreatedAt = testTime
		must(t, "org", st.CreateOrganization(ctx, o))
	}
	for _, login := range []string{"Mona", "hubot", "octocat", "ada"} {
		must(t, "user", st.CreateUser(ctx, &usage.User{Login: login, CreatedAt: testTime}))
	}
	for _, r := range []*usage.Repository{{OwnerLogin: "Acme-Web", Name: "Site"}, {OwnerLogin: "acme-data", Name: "etl"}, {OwnerLogin: "globex-ops", Name: "infra"}} {
		must(t, "repo", st.CreateRepository(ctx, r))
	}
	cs := st.(billing.CostCenterStore)
	must(t, "enterprise team", cs.CreateEnterpriseTeam(ctx, &billing.EnterpriseTeam{EnterpriseID: acme.ID, Slug: "Platform", Name: "Platform", CreatedAt: testTime, Members: []string{"hubot", "ada"}}))
}

// create makes an active cost center named name at the fixture's clock.
func (f *ccFixture) create(t *testing.T, name string) *billing.CostCenter {
	t.Helper()
	f.nextID++
	cc := &billing.CostCenter{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", f.nextID), EnterpriseID: f.ent.ID, Name: name,
		State: billing.CostCenterActive, CreatedAt: f.now}
	must(t, "CreateCostCenter "+name, f.s.CreateCostCenter(t.Context(), cc, billing.MaxActiveCostCenters))
	return cc
}

func (f *ccFixture) tick() time.Time {
	f.now = f.now.Add(time.Minute)
	return f.now
}

func (f *ccFixture) resources(t *testing.T, id string) []billing.Resource {
	t.Helper()
	rs, total, err := f.s.CostCenterResources(t.Context(), f.ent.ID, id, 0, 100)
	must(t, "CostCenterResources", err)
	if total != len(rs) {
		t.Fatalf("CostCenterResources total %d, but %d resources returned", total, len(rs))
	}
	return rs
}

func wantSameError(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func testCostCenterLifecycle(t *testing.T, f *ccFixture) {
	ctx := t.Context()
	a := f.create(t, "Engineering")
	got, err := f.s.CostCenter(ctx, f.ent.ID, a.ID)
	must(t, "CostCenter", err)
	if got.ID != a.ID || got.Name != "Engineering" || got.State != billing.CostCenterActive || got.EnterpriseID != f.ent.ID || got.AICreditPoolEnabled {
		t.Fatalf("CostCenter = %+v, want %+v", got, a)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, a.CreatedAt)
	// Ids are found whatever their case.
	if _, err := f.s.CostCenter(ctx, f.ent.ID, "00000000-0000-4000-8000-000000000001"); err != nil {
		t.Fatalf("CostCenter by id: %v", err)
	}
	wantKind(t, "unknown id", func() error {
		_, err := f.s.CostCenter(ctx, f.ent.ID, "00000000-0000-4000-8000-999999999999")
		return err
	}(), usage.KindNotFound)

	b := f.create(t, "Data")
	name := "Engineering (EMEA)"
	up, err := f.s.UpdateCostCenter(ctx, f.ent.ID, a.ID, billing.CostCenterUpdate{Name: &name})
	must(t, "UpdateCostCenter", err)
	if up.Name != name {
		t.Fatalf("renamed to %q, want %q", up.Name, name)
	}
	_, err = f.s.ArchiveCostCenter(ctx, f.ent.ID, b.ID, f.tick())
	must(t, "ArchiveCostCenter", err)
	for state, want := range map[string][]string{"": {name, "Data"}, billing.CostCenterActive: {name}, billing.CostCenterDeleted: {"Data"}} {
		list, err := f.s.ListCostCenters(ctx, f.ent.ID, state)
		must(t, "ListCostCenters", err)
		var names []string
		for _, cc := range list {
			names = append(names, cc.Name)
			if cc.Resources == nil {
				t.Errorf("ListCostCenters gives nil Resources for %s; want an empty list", cc.Name)
			}
		}
		if !slices.Equal(names, want) {
			t.Errorf("ListCostCenters(%q) = %v, want %v", state, names, want)
		}
	}
	del, err := f.s.CostCenter(ctx, f.ent.ID, b.ID)
	must(t, "CostCenter deleted", err)
	if del.State != billing.CostCenterDeleted {
		t.Fatalf("archived cost center has state %q", del.State)
	}
	sameTime(t, "DeletedAt", del.DeletedAt, f.now)
	// An archived cost center cannot change.
	n2 := "again"
	_, err = f.s.UpdateCostCenter(ctx, f.ent.ID, b.ID, billing.CostCenterUpdate{Name: &n2})
	wantSameError(t, "update archived", err, billing.ErrCostCenterArchived)
	_, err = f.s.ArchiveCostCenter(ctx, f.ent.ID, b.ID, f.tick())
	wantSameError(t, "archive twice", err, billing.ErrCostCenterArchived)
	_, err = f.s.AddCostCenterResources(ctx, f.ent.ID, b.ID, []billing.Resource{{Type: billing.ResourceUser, Name: "mona"}}, f.tick())
	wantSameError(t, "add to archived", err, billing.ErrCostCenterArchived)
	err = f.s.RemoveCostCenterResources(ctx, f.ent.ID, b.ID, []billing.Resource{{Type: billing.ResourceUser, Name: "mona"}}, f.tick())
	wantSameError(t, "remove from archived", err, billing.ErrCostCenterArchived)
}

func testCostCenterDuplicateNames(t *testing.T, f *ccFixture) {
	ctx := t.Context()
	a := f.create(t, "Platform")
	dup := &billing.CostCenter{ID: "00000000-0000-4000-8000-0000000000aa", EnterpriseID: f.ent.ID, Name: "PLATFORM", State: billing.CostCenterActive, CreatedAt: f.now}
	wantSameError(t, "duplicate name ignoring case", f.s.CreateCostCenter(ctx, dup, billing.MaxActiveCostCenters), billing.ErrDuplicateName)
	b := f.create(t, "Web")
	n := "platform"
	_, err := f.s.UpdateCostCenter(ctx, f.ent.ID, b.ID, billing.CostCenterUpdate{Name: &n})
	wantSameError(t, "rename onto an active name", err, billing.ErrDuplicateName)
	// Renaming to another case of its own name is fine.
	n = "PLATFORM"
	if _, err := f.s.UpdateCostCenter(ctx, f.ent.ID, a.ID, billing.CostCenterUpdate{Name: &n}); err != nil {
		t.Fatalf("rename to its own name in capitals: %v", err)
	}
	// An archived cost center's name is free again.
	_, err = f.s.ArchiveCostCenter(ctx, f.ent.ID, a.ID, f.tick())
	must(t, "archive", err)
	f.create(t, "Platform")
	// Other enterprises have their own names.
	o := &billing.CostCenter{ID: "00000000-0000-4000-8000-0000000000bb", EnterpriseID: f.other.ID, Name: "Platform", State: billing.CostCenterActive, CreatedAt: f.now}
	must(t, "same name in another enterprise", f.s.CreateCostCenter(ctx, o, billing.MaxActiveCostCenters))
}

func testCostCenterLimit(t *testing.T, f *ccFixture) {
	ctx := t.Context()
	var ccs []*billing.CostCenter
	for i := range 3 {
		cc := &billing.CostCenter{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", 100+i), EnterpriseID: f.ent.ID, Name: fmt.Sprint("cc", i), State: billing.CostCenterActive, CreatedAt: f.now}
		must(t, "create", f.s.CreateCostCenter(ctx, cc, 3))
		ccs = append(ccs, cc)
	}
	over := &billing.CostCenter{ID: "00000000-0000-4000-8000-000000000200", EnterpriseID: f.ent.ID, Name: "one too many", State: billing.CostCenterActive, CreatedAt: f.now}
	wantSameError(t, "over the limit", f.s.CreateCostCenter(ctx, over, 3), billing.ErrCostCenterLimit)
	// Archived cost centers do not count.
	_, err := f.s.ArchiveCostCenter(ctx, f.ent.ID, ccs[0].ID, f.tick())
	must(t, "archive", err)
	must(t, "create after archiving", f.s.CreateCostCenter(ctx, over, 3))
}

func testCostCenterResources(t *testing.T, f *ccFixture) {
	ctx := t.Context()
	a, b := f.create(t, "A"), f.create(t, "B")
	moved, err := f.s.AddCostCenterResources(ctx, f.ent.ID, a.ID, []billing.Resource{
		{Type: billing.ResourceUser, Name: "MONA"}, {Type: billing.ResourceOrg, Name: "acme-web"},
		{Type: billing.ResourceRepo, Name: "acme-data/ETL"}, {Type: billing.ResourceTeam, Name: "platform"},
	}, f.tick())
	must(t, "add", err)
	if len(moved) != 0 {
		t.Fatalf("first add reports moves %+v", moved)
	}
	want := []billing.Resource{{Type: billing.ResourceUser, Name: "Mona"}, {Type: billing.ResourceOrg, Name: "Acme-Web"},
		{Type: billing.ResourceRepo, Name: "acme-data/etl"}, {Type: billing.ResourceTeam, Name: "Platform"}}
	if got := f.resources(t, a.ID); !slices.Equal(got, want) {
		t.Fatalf("resources = %+v, want %+v (spelled as the accounts are, in the order added)", got, want)
	}
	// Paging.
	page, total, err := f.s.CostCenterResources(ctx, f.ent.ID, a.ID, 1, 2)
	must(t, "page", err)
	if total != 4 || !slices.Equal(page, want[1:3]) {
		t.Fatalf("page 2 of 2 = %+v of %d, want %+v of 4", page, total, want[1:3])
	}
	// Adding again changes nothing and moves nothing.
	moved, err = f.s.AddCostCenterResources(ctx, f.ent.ID, a.ID, []billing.Resource{{Type: billing.ResourceUser, Name: "mona"}}, f.tick())
	must(t, "add again", err)
	if len(moved) != 0 || len(f.resources(t, a.ID)) != 4 {
		t.Fatalf("re-adding a member: moves %+v, resources %+v", moved, f.resources(t, a.ID))
	}
	// Moving to B reports where each came from.
	moved, err = f.s.AddCostCenterResources(ctx, f.ent.ID, b.ID, []billing.Resource{{Type: billing.ResourceUser, Name: "mona"}, {Type: billing.ResourceRepo, Name: "acme-data/etl"}, {Type: billing.ResourceUser, Name: "octocat"}}, f.tick())
	must(t, "move", err)
	if len(moved) != 2 || moved[0].Name != "Mona" || moved[0].PreviousCostCenterName != "A" || moved[0].PreviousCostCenterID != a.ID ||
		moved[1].Type != billing.ResourceRepo || moved[1].PreviousCostCenterName != "A" {
		t.Fatalf("moves = %+v, want Mona and acme-data/etl from A", moved)
	}
	if got := f.resources(t, a.ID); len(got) != 2 {
		t.Fatalf("A after the move = %+v, want the org and the team", got)
	}
	if got := f.resources(t, b.ID); len(got) != 3 {
		t.Fatalf("B after the move = %+v, want Mona, the repository and octocat", got)
	}
	// Remove: members leave; a known account that is not a member is ignored.
	must(t, "remove", f.s.RemoveCostCenterResources(ctx, f.ent.ID, b.ID, []billing.Resource{{Type: billing.ResourceUser, Name: "Octocat"}, {Type: billing.ResourceOrg, Name: "acme-web"}}, f.tick()))
	if got := f.resources(t, b.ID); len(got) != 2 {
		t.Fatalf("B after remove = %+v", got)
	}
	if got := f.resources(t, a.ID); len(got) != 2 {
		t.Fatalf("removing acme-web from B changed A: %+v", got)
	}
	list, err := f.s.ListCostCenters(ctx, f.ent.ID, billing.CostCenterActive)
	must(t, "list", err)
	if len(list) != 2 || len(list[0].Resources) != 2 || len(list[1].Resources) != 2 {
		t.Fatalf("list resources: %+v", list)
	}
	wantKind(t, "resources of an unknown cost center", func() error {
		_, _, err := f.s.CostCenterResources(ctx, f.ent.ID, "00000000-0000-4000-8000-999999999999", 0, 10)
		return err
	}(), usage.KindNotFound)
	_, err = f.s.AddCostCenterResources(ctx, f.ent.ID, "00000000-0000-4000-8000-999999999999", []billing.Resource{{Type: billing.ResourceUser, Name: "mona"}}, f.tick())
	wantKind(t, "add to an unknown cost center", err, usage.KindNotFound)
}

func testCostCenterUnknownResources(t *testing.T, f *ccFixture) {
	ctx := t.Context()
	a := f.create(t, "A")
	// The batch is all or nothing: mona is not added when nobody does not exist.
	_, err := f.s.AddCostCenterResources(ctx, f.ent.ID, a.ID, []billing.Resource{
		{Type: billing.ResourceUser, Name: "mona"}, {Type: billing.ResourceUser, Name: "nobody"},
		{Type: billing.ResourceOrg, Name: "globex-ops"},        // another enterprise's
		{Type: billing.ResourceRepo, Name: "globex-ops/infra"}, // another enterprise's
		{Type: billing.ResourceRepo, Name: "acme-web/missing"}, // no such repository
		{Type: billing.ResourceTeam, Name: "no-such-team"},
	}, f.tick())
	wantKind(t, "unknown resources", err, usage.KindBadRequest)
	var ue *usage.Error
	errors.As(err, &ue)
	for _, name := range []string{"nobody", "globex-ops", "globex-ops/infra", "acme-web/missing", "no-such-team"} {
		if !strings.Contains(ue.Message, name) {
			t.Errorf("the error %q does not name %s", ue.Message, name)
		}
	}
	if strings.Contains(ue.Message, "mona") {
		t.Errorf("the error %q names mona, who exists", ue.Message)
	}
	if got := f.resources(t, a.ID); len(got) != 0 {
		t.Fatalf("a failed add left resources %+v", got)
	}
	err = f.s.RemoveCostCenterResources(ctx, f.ent.ID, a.ID, []billing.Resource{{Type: billing.ResourceUser, Name: "nobody"}}, f.tick())
	wantKind(t, "remove unknown", err, usage.KindBadRequest)
}

func testCostCenterArchive(t *testing.T, f *ccFixture) {
	ctx := t.Context()
	a, b := f.create(t, "A"), f.create(t, "B")
	_, err := f.s.AddCostCenterResources(ctx, f.ent.ID, a.ID, []billing.Resource{{Type: billing.ResourceUser, Name: "mona"}, {Type: billing.ResourceOrg, Name: "acme-data"}}, f.tick())
	must(t, "add", err)
	archived, err := f.s.ArchiveCostCenter(ctx, f.ent.ID, a.ID, f.tick())
	must(t, "archive", err)
	if archived.State != billing.CostCenterDeleted || len(archived.Resources) != 0 {
		t.Fatalf("archive returned %+v", archived)
	}
	if got := f.resources(t, a.ID); len(got) != 0 {
		t.Fatalf("an archived cost center still holds %+v", got)
	}
	// Released resources may join another cost center without a move.
	moved, err := f.s.AddCostCenterResources(ctx, f.ent.ID, b.ID, []billing.Resource{{Type: billing.ResourceUser, Name: "mona"}}, f.tick())
	must(t, "add released", err)
	if len(moved) != 0 {
		t.Fatalf("adding a released resource reports a move: %+v", moved)
	}
}

func testCostCenterIntervals(t *testing.T, f *ccFixture) {
	ctx := t.Context()
	a, b := f.create(t, "A"), f.create(t, "B")
	repo := []billing.Resource{{Type: billing.ResourceRepo, Name: "acme-web/site"}}
	t1 := f.tick()
	_, err := f.s.AddCostCenterResources(ctx, f.ent.ID, a.ID, repo, t1)
	must(t, "add", err)
	t2 := f.tick()
	_, err = f.s.AddCostCenterResources(ctx, f.ent.ID, b.ID, repo, t2)
	must(t, "move", err)
	t3 := f.tick()
	must(t, "remove", f.s.RemoveCostCenterResources(ctx, f.ent.ID, b.ID, repo, t3))
	t4 := f.tick()
	_, err = f.s.AddCostCenterResources(ctx, f.ent.ID, a.ID, repo, t4)
	must(t, "back", err)
	ms, err := f.s.CostCenterMemberships(ctx, f.ent.ID, testTime, t4.Add(time.Hour))
	must(t, "memberships", err)
	want := []billing.Membership{
		{CostCenterID: a.ID, Resource: billing.Resource{Type: billing.ResourceRepo, Name: "Acme-Web/Site"}, Start: t1, End: t2},
		{CostCenterID: b.ID, Resource: billing.Resource{Type: billing.ResourceRepo, Name: "Acme-Web/Site"}, Start: t2, End: t3},
		{CostCenterID: a.ID, Resource: billing.Resource{Type: billing.ResourceRepo, Name: "Acme-Web/Site"}, Start: t4},
	}
	if len(ms) != len(want) {
		t.Fatalf("memberships = %+v, want %+v", ms, want)
	}
	for i := range want {
		g, w := ms[i], want[i]
		if g.CostCenterID != w.CostCenterID || g.Resource != w.Resource || !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || g.End.IsZero() != w.End.IsZero() {
			t.Errorf("membership %d = %+v, want %+v", i, g, w)
		}
	}
	// Only intervals overlapping the window are returned: [t2, t3) holds
	// only B's; an interval ending exactly at the window's start is out.
	ms, err = f.s.CostCenterMemberships(ctx, f.ent.ID, t2, t3)
	must(t, "window", err)
	if len(ms) != 1 || ms[0].CostCenterID != b.ID {
		t.Fatalf("memberships in [t2, t3) = %+v, want B's only", ms)
	}
	// The interval's own Contains follows [start, end).
	if !want[0].Contains(t1) || want[0].Contains(t2) || !want[1].Contains(t2) || !want[2].Contains(t4.Add(1000*time.Hour)) {
		t.Error("Membership.Contains is not [start, end)")
	}
}

func testCostCenterAIPool(t *testing.T, f *ccFixture) {
	ctx := t.Context()
	a := f.create(t, "A")
	_, err := f.s.AddCostCenterResources(ctx, f.ent.ID, a.ID, []billing.Resource{{Type: billing.ResourceOrg, Name: "acme-web"}}, f.tick())
	must(t, "add org", err)
	on := true
	_, err = f.s.UpdateCostCenter(ctx, f.ent.ID, a.ID, billing.CostCenterUpdate{AICreditPoolEnabled: &on})
	wantSameError(t, "enable the pool with an org", err, billing.ErrAIPoolResources)
	p := &billing.CostCenter{ID: "00000000-0000-4000-8000-0000000000cc", EnterpriseID: f.ent.ID, Name: "Pool", State: billing.CostCenterActive, AICreditPoolEnabled: true, CreatedAt: f.now}
	must(t, "create pool", f.s.CreateCostCenter(ctx, p, billing.MaxActiveCostCenters))
	_, err = f.s.AddCostCenterResources(ctx, f.ent.ID, p.ID, []billing.Resource{{Type: billing.ResourceUser, Name: "mona"}, {Type: billing.ResourceRepo, Name: "acme-web/site"}}, f.tick())
	wantSameError(t, "add a repository to a pool", err, billing.ErrAIPoolResources)
	_, err = f.s.AddCostCenterResources(ctx, f.ent.ID, p.ID, []billing.Resource{{Type: billing.ResourceUser, Name: "mona"}, {Type: billing.ResourceTeam, Name: "platform"}}, f.tick())
	must(t, "add users and teams to a pool", err)
	got, err := f.s.CostCenter(ctx, f.ent.ID, p.ID)
	must(t, "get", err)
	if !got.AICreditPoolEnabled {
		t.Fatal("the pool flag was not kept")
	}
}

func testCostCenterEnterprises(t *testing.T, f *ccFixture) {
	ctx := t.Context()
	a := f.create(t, "A")
	wantKind(t, "another enterprise's cost center", func() error { _, err := f.s.CostCenter(ctx, f.other.ID, a.ID); return err }(), usage.KindNotFound)
	_, err := f.s.AddCostCenterResources(ctx, f.other.ID, a.ID, []billing.Resource{{Type: billing.ResourceUser, Name: "mona"}}, f.tick())
	wantKind(t, "add through another enterprise", err, usage.KindNotFound)
	list, err := f.s.ListCostCenters(ctx, f.other.ID, "")
	must(t, "list", err)
	if len(list) != 0 {
		t.Fatalf("globex lists acme's cost centers: %+v", list)
	}
}

func testEnterpriseTeams(t *testing.T, f *ccFixture) {
	ctx := t.Context()
	teams, err := f.s.EnterpriseTeams(ctx, f.ent.ID)
	must(t, "EnterpriseTeams", err)
	if len(teams) != 1 || teams[0].Slug != "Platform" || !slices.Equal(teams[0].Members, []string{"ada", "hubot"}) || teams[0].ID == 0 {
		t.Fatalf("EnterpriseTeams = %+v, want Platform with ada and hubot", teams)
	}
	err = f.s.CreateEnterpriseTeam(ctx, &billing.EnterpriseTeam{EnterpriseID: f.ent.ID, Slug: "platform", Name: "dup", CreatedAt: testTime})
	wantKind(t, "duplicate team slug", err, usage.KindConflict)
	err = f.s.CreateEnterpriseTeam(ctx, &billing.EnterpriseTeam{EnterpriseID: f.ent.ID, Slug: "ghosts", Name: "Ghosts", CreatedAt: testTime, Members: []string{"nobody"}})
	wantKind(t, "team with an unknown member", err, usage.KindNotFound)
	other, err := f.s.EnterpriseTeams(ctx, f.other.ID)
	must(t, "EnterpriseTeams other", err)
	if len(other) != 0 {
		t.Fatalf("globex has teams %+v", other)
	}
}

// testConcurrentCreates races creates of one name on two replicas: exactly
// one cost center is made, the others answer ErrDuplicateName.
func testConcurrentCreates(t *testing.T, stores []usage.Store) {
	f := newCCFixture(t, stores[0])
	ctx := t.Context()
	const rounds, perReplica = 5, 4
	for round := range rounds {
		var wg sync.WaitGroup
		var mu sync.Mutex
		made, dups := 0, 0
		for r, st := range stores {
			cs := asCostCenterStore(t, st)
			for i := range perReplica {
				wg.Go(func() {
					cc := &billing.CostCenter{ID: billing.NewUUID(), EnterpriseID: f.ent.ID, Name: fmt.Sprintf("Team %d", round),
						State: billing.CostCenterActive, CreatedAt: testTime}
					err := cs.CreateCostCenter(ctx, cc, billing.MaxActiveCostCenters)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						made++
					case errors.Is(err, billing.ErrDuplicateName):
						dups++
					default:
						t.Errorf("replica %d create %d: %v", r, i, err)
					}
				})
			}
		}
		wg.Wait()
		if made != 1 || dups != len(stores)*perReplica-1 {
			t.Fatalf("round %d: %d created, %d duplicates; want 1 and %d", round, made, dups, len(stores)*perReplica-1)
		}
	}
	list, err := f.s.ListCostCenters(ctx, f.ent.ID, "")
	must(t, "list", err)
	if len(list) != rounds {
		t.Fatalf("%d cost centers, want %d", len(list), rounds)
	}
}

// testConcurrentMoves has two replicas add the same users to two cost
// centers at once: each user ends in exactly one, and the reassignments
// reported agree with the order the adds took effect.
func testConcurrentMoves(t *testing.T, stores []usage.Store) {
	f := newCCFixture(t, stores[0])
	ctx := t.Context()
	a, b := f.create(t, "A"), f.create(t, "B")
	users := []billing.Resource{{Type: billing.ResourceUser, Name: "mona"}, {Type: billing.ResourceUser, Name: "hubot"}, {Type: billing.ResourceUser, Name: "octocat"}}
	for round := range 8 {
		var wg sync.WaitGroup
		var movedA, movedB []billing.Reassignment
		at := testTime.Add(time.Duration(round+1) * time.Hour)
		wg.Go(func() {
			var err error
			movedA, err = asCostCenterStore(t, stores[0]).AddCostCenterResources(ctx, f.ent.ID, a.ID, users, at)
			if err != nil {
				t.Errorf("replica 0: %v", err)
			}
		})
		wg.Go(func() {
			var err error
			movedB, err = asCostCenterStore(t, stores[1]).AddCostCenterResources(ctx, f.ent.ID, b.ID, users, at)
			if err != nil {
				t.Errorf("replica 1: %v", err)
			}
		})
		wg.Wait()
		inA, inB := f.resources(t, a.ID), f.resources(t, b.ID)
		if len(inA)+len(inB) != len(users) || (len(inA) != 0 && len(inB) != 0) {
			t.Fatalf("round %d: A holds %+v and B %+v; want all three users in exactly one", round, inA, inB)
		}
		// The add that ran second moved every user from the first's cost
		// center; the first moved them only from where the previous round left them.
		winner, lastMoves, firstMoves, loser := a, movedA, movedB, b
		if len(inB) == len(users) {
			winner, lastMoves, firstMoves, loser = b, movedB, movedA, a
		}
		if len(lastMoves) != len(users) {
			t.Fatalf("round %d: the add that took effect last (into %s) reports %d moves, want %d", round, winner.Name, len(lastMoves), len(users))
		}
		for _, m := range lastMoves {
			if m.PreviousCostCenterID != loser.ID {
				t.Fatalf("round %d: %s reported as moved from %s, want %s", round, m.Name, m.PreviousCostCenterName, loser.Name)
			}
		}
		for _, m := range firstMoves {
			if m.PreviousCostCenterID != winner.ID {
				t.Fatalf("round %d: the first add reports a move from %s", round, m.PreviousCostCenterName)
			}
		}
		ms, err := f.s.CostCenterMemberships(ctx, f.ent.ID, at, at.Add(time.Second))
		must(t, "memberships", err)
		open := 0
		for _, m := range ms {
			if m.End.IsZero() {
				open++
			}
		}
		if open != len(users) {
			t.Fatalf("round %d: %d open memberships, want %d", round, open, len(users))
		}
	}
}
