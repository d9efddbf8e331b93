package insights

// Rollup is a batch of events aggregated into roll-up deltas at every
// level, ready for a backend to add to its tables.
type Rollup struct {
	Orgs     map[OrgKey]*Counts
	Actors   map[ActorKey]*Counts
	Users    map[UserKey]*Counts
	Routes   map[RouteKey]*Counts
	Subjects map[SubjectKey]*Counts
	// ActorInfo and SubjectInfo hold the names (and app ids) of the
	// actors and subjects the batch saw, from their latest event.
	ActorInfo   map[ActorRef]ActorInfo
	SubjectInfo map[SubjectRef]SubjectInfo
	RouteSet    map[RouteRef]struct{}
	OrgSet      map[string]struct{}

	agg *agg // minute buckets being added, until Finish
}

// BucketKey is a level and a bucket start.
type BucketKey struct {
	Level  Level
	Bucket int64
}

// OrgKey keys the organization roll-up (summary-stats, time-stats).
type OrgKey struct {
	Org string
	BucketKey
}

// ActorKey keys the per-actor roll-up (summary and time stats by actor).
type ActorKey struct {
	Org   string
	Actor ActorRef
	BucketKey
}

// UserKey keys the per-user, per-actor roll-up (user-stats, and summary
// and time stats by user). Requests without a user are not in it.
type UserKey struct {
	Org    string
	UserID int64
	Actor  ActorRef
	BucketKey
}

// RouteKey keys the per-actor, per-route roll-up (route-stats).
type RouteKey struct {
	Org   string
	Actor ActorRef
	Route RouteRef
	BucketKey
}

// SubjectKey keys the per-subject roll-up (subject-stats).
type SubjectKey struct {
	Org     string
	Subject SubjectRef
	BucketKey
}

// ActorInfo is what an actor is shown with.
type ActorInfo struct {
	Name               string
	OAuthApplicationID int64
	IntegrationID      int64
	Seen               int64 // timestamp of the event it came from
}

// SubjectInfo is what a subject is shown with.
type SubjectInfo struct {
	Name string
	Seen int64
}

// NewRollup returns an empty roll-up.
func NewRollup() *Rollup {
	return &Rollup{
		Orgs:        map[OrgKey]*Counts{},
		Actors:      map[ActorKey]*Counts{},
		Users:       map[UserKey]*Counts{},
		Routes:      map[RouteKey]*Counts{},
		Subjects:    map[SubjectKey]*Counts{},
		ActorInfo:   map[ActorRef]ActorInfo{},
		SubjectInfo: map[SubjectRef]SubjectInfo{},
		RouteSet:    map[RouteRef]struct{}{},
		OrgSet:      map[string]struct{}{},
	}
}

func bump[K comparable](m map[K]*Counts, k K, c Counts) {
	if have := m[k]; have != nil {
		have.Add(c)
		return
	}
	cc := c
	m[k] = &cc
}

// agg is the fast path of aggregation: dimensions interned into small
// integers, so the per-event map operations hash a few integers instead of
// strings. Finish turns it into the Rollup maps.
type agg struct {
	orgs     intern[string]
	actors   intern[ActorRef]
	routes   intern[RouteRef]
	subjects intern[SubjectRef]
	org      map[iKey]*Counts // a: 0
	actor    map[iKey]*Counts // a: actor
	user     map[iKey]*Counts // a: actor, b: user id
	route    map[iKey]*Counts // a: actor, b: route
	subject  map[iKey]*Counts // a: subject
}

type iKey struct {
	org    int32
	a      int32
	b      int64
	level  Level
	bucket int64
}

type intern[K comparable] struct {
	idx  map[K]int32
	list []K
}

func (in *intern[K]) id(k K) int32 {
	if i, ok := in.idx[k]; ok {
		return i
	}
	if in.idx == nil {
		in.idx = map[K]int32{}
	}
	i := int32(len(in.list))
	in.idx[k] = i
	in.list = append(in.list, k)
	return i
}

func ibump(m map[iKey]*Counts, k iKey, c Counts) {
	if have := m[k]; have != nil {
		have.Total += c.Total
		have.RateLimited += c.RateLimited
		have.Last = max(have.Last, c.Last)
		have.LastRateLimited = max(have.LastRateLimited, c.LastRateLimited)
		return
	}
	cc := c
	m[k] = &cc
}

// eventCounts is what one event adds to every key it belongs to, and its
// time in Unix seconds.
func eventCounts(e *Event) (int64, Counts) {
	ts := e.Timestamp.Unix()
	w := max(e.Weight, 1)
	c := Counts{Total: w, Last: ts}
	if e.RateLimited {
		c.RateLimited, c.LastRateLimited = w, ts
	}
	return ts, c
}

// Add aggregates normalized, valid events into r at the minute level.
// Call Finish before reading r.
func (r *Rollup) Add(events []Event) {
	g := r.agg
	if g == nil {
		g = &agg{org: map[iKey]*Counts{}, actor: map[iKey]*Counts{}, user: map[iKey]*Counts{},
			route: map[iKey]*Counts{}, subject: map[iKey]*Counts{}}
		r.agg = g
	}
	lastOrg, lastOrgID := "", int32(-1)
	for i := range events {
		e := &events[i]
		ts, c := eventCounts(e)
		if lastOrgID < 0 || e.Org != lastOrg {
			lastOrg, lastOrgID = e.Org, g.orgs.id(e.Org)
		}
		actorRef := ActorRef{e.ActorType, e.ActorID}
		subjectRef := SubjectRef{e.SubjectType, e.SubjectID}
		actor := g.actors.id(actorRef)
		subject := g.subjects.id(subjectRef)
		route := g.routes.id(RouteRef{e.HTTPMethod, e.APIRoute})
		b := Minute.Floor(ts)
		ibump(g.org, iKey{lastOrgID, 0, 0, Minute, b}, c)
		ibump(g.actor, iKey{lastOrgID, actor, 0, Minute, b}, c)
		if e.UserID > 0 {
			ibump(g.user, iKey{lastOrgID, actor, e.UserID, Minute, b}, c)
		}
		ibump(g.route, iKey{lastOrgID, actor, int64(route), Minute, b}, c)
		ibump(g.subject, iKey{lastOrgID, subject, 0, Minute, b}, c)
		if ai, ok := r.ActorInfo[actorRef]; !ok || ts >= ai.Seen {
			if !ok || ai.Name != e.ActorName || ai.OAuthApplicationID != e.OAuthApplicationID || ai.IntegrationID != e.IntegrationID || ts > ai.Seen {
				r.ActorInfo[actorRef] = ActorInfo{e.ActorName, e.OAuthApplicationID, e.IntegrationID, ts}
			}
		}
		if si, ok := r.SubjectInfo[subjectRef]; !ok || ts > si.Seen || (ts == si.Seen && si.Name != e.SubjectName) {
			r.SubjectInfo[subjectRef] = SubjectInfo{e.SubjectName, ts}
		}
	}
}

// Finish derives the coarser buckets from the minute buckets, drops the
// buckets cut does not keep, and fills the Rollup maps.
func (r *Rollup) Finish(cut Cutoffs) {
	g := r.agg
	if g == nil {
		return
	}
	r.agg = nil
	for _, m := range []map[iKey]*Counts{g.org, g.actor, g.user, g.route, g.subject} {
		ifinish(m, cut)
	}
	for _, o := range g.orgs.list {
		r.OrgSet[o] = struct{}{}
	}
	for _, rt := range g.routes.list {
		r.RouteSet[rt] = struct{}{}
	}
	for k, c := range g.org {
		bump(r.Orgs, OrgKey{g.orgs.list[k.org], BucketKey{k.level, k.bucket}}, *c)
	}
	for k, c := range g.actor {
		bump(r.Actors, ActorKey{g.orgs.list[k.org], g.actors.list[k.a], BucketKey{k.level, k.bucket}}, *c)
	}
	for k, c := range g.user {
		bump(r.Users, UserKey{g.orgs.list[k.org], k.b, g.actors.list[k.a], BucketKey{k.level, k.bucket}}, *c)
	}
	for k, c := range g.route {
		bump(r.Routes, RouteKey{g.orgs.list[k.org], g.actors.list[k.a], g.routes.list[k.b], BucketKey{k.level, k.bucket}}, *c)
	}
	for k, c := range g.subject {
		bump(r.Subjects, SubjectKey{g.orgs.list[k.org], g.subjects.list[k.a], BucketKey{k.level, k.bucket}}, *c)
	}
}

func ifinish(m map[iKey]*Counts, cut Cutoffs) {
	type kv struct {
		k iKey
		c *Counts
	}
	minutes := make([]kv, 0, len(m))
	for k, c := range m {
		if k.level == Minute {
			minutes = append(minutes, kv{k, c})
		}
	}
	for _, e := range minutes {
		for _, l := range Levels[1:] {
			if lb := l.Floor(e.k.bucket); lb >= cut.Level[l] {
				k := e.k
				k.level, k.bucket = l, lb
				ibump(m, k, *e.c)
			}
		}
		if e.k.bucket < cut.Level[Minute] {
			delete(m, e.k)
		}
	}
}

// Aggregate aggregates events into a finished roll-up.
func Aggregate(events []Event, cut Cutoffs) *Rollup {
	r := NewRollup()
	r.Add(events)
	r.Finish(cut)
	return r
}

// Packed is a batch aggregated for backends that keep one row per
// organization, actor or user bucket with its breakdown inside (subjects,
// routes, actors), as the embedded store does. Rows refer to the
// dictionaries by index.
type Packed struct {
	Orgs        []string
	Actors      []ActorRef
	Routes      []RouteRef
	Subjects    []SubjectRef
	ActorInfo   map[ActorRef]ActorInfo
	SubjectInfo map[SubjectRef]SubjectInfo
	// OrgRows break an organization's bucket down by subject (Entries
	// index Subjects); ActorRows an actor's (Key indexes Actors) by route
	// (Entries index Routes); UserRows a user's (Key is the user id) by
	// actor (Entries index Actors).
	OrgRows, ActorRows, UserRows []PackedRow
}

// PackedRow is one bucket of one organization, actor or user.
type PackedRow struct {
	Org         int32
	Key         int64
	Level       Level
	Bucket      int64
	Total       int64
	RateLimited int64
	Entries     []PackedEntry
	// Minutes, in the hour rows of actors and users with
	// PackOptions.HourMinutes, break the hour down by group and minute.
	Minutes []PackedEntry
}

// PackedEntry is one group inside a PackedRow.
type PackedEntry struct {
	Ref int32
	Counts
}

// packedTable aggregates one packed table: its rows, and the minute
// entries as they come, unmerged; finish groups and merges them. Rows are
// found without a map when a batch is in time order (see levelIndex), and
// entries are merged in finish by counting sorts and an array indexed by
// ref; only the dimensions are interned through maps.
type packedTable struct {
	rows   []PackedRow
	slots  []int32     // by row: the slot of its key (see levelIndex)
	raw    []packedEnt // minute entries as added
	nRefs  int32       // refs are below nRefs
	minute levelIndex  // the minute rows
}

type packedEnt struct {
	row int32
	PackedEntry
}

// newPackedTable returns a table for n entries and, as a first guess,
// rows rows (more are appended as needed).
func newPackedTable(n, rows int) *packedTable {
	t := &packedTable{raw: make([]packedEnt, 0, n), rows: make([]PackedRow, 0, rows), slots: make([]int32, 0, rows)}
	t.minute = levelIndex{t: t, l: Minute}
	return t
}

// levelIndex finds or creates the rows of one level of a table. A row's
// key has a slot, a small index of the key within the batch. While every
// slot's rows come in increasing bucket order (a batch in time order), a
// row is its slot's latest row or a new one, found without a map; the
// first time a slot goes back in time (or appears in another
// organization), the level's rows are indexed in a map, used from then
// on.
type levelIndex struct {
	t     *packedTable
	l     Level
	first int32   // the level's first row in t.rows; its rows follow
	last  []int32 // by slot: the index+1 of the slot's latest row
	m     map[packedKey]int32
}

// packedKey identifies a row of one level: ol is the organization index
// shifted left by 8, or'ed with the level.
type packedKey struct {
	key    int64
	bucket int64
	ol     int64
}

func (x *levelIndex) row(org int32, key int64, slot int32, bucket int64) int32 {
	if x.m == nil {
		if int(slot) >= len(x.last) {
			x.last = append(x.last, make([]int32, int(slot)+1-len(x.last))...)
		}
		j := x.last[slot]
		if j == 0 {
			return x.add(org, key, slot, bucket)
		}
		r := &x.t.rows[j-1]
		if r.Org == org && r.Key == key {
			if r.Bucket == bucket {
				return j - 1
			}
			if r.Bucket < bucket {
				return x.add(org, key, slot, bucket)
			}
		}
		x.m = make(map[packedKey]int32, len(x.t.rows)-int(x.first))
		for i := int(x.first); i < len(x.t.rows); i++ {
			r := &x.t.rows[i]
			x.m[packedKey{r.Key, r.Bucket, int64(r.Org)<<8 | int64(r.Level)}] = int32(i)
		}
	}
	k := packedKey{key, bucket, int64(org)<<8 | int64(x.l)}
	if i, ok := x.m[k]; ok {
		return i
	}
	i := x.add(org, key, slot, bucket)
	x.m[k] = i
	return i
}

func (x *levelIndex) add(org int32, key int64, slot int32, bucket int64) int32 {
	t := x.t
	i := int32(len(t.rows))
	t.rows = append(t.rows, PackedRow{Org: org, Key: key, Level: x.l, Bucket: bucket})
	t.slots = append(t.slots, slot)
	if x.m == nil {
		x.last[slot] = i + 1
	}
	return i
}

func (t *packedTable) add(row, ref int32, c Counts) {
	t.raw = append(t.raw, packedEnt{row, PackedEntry{ref, c}})
	t.nRefs = max(t.nRefs, ref+1)
}

// groupEnts sorts the entries of list by row (rows [r0, r1)) with a
// counting sort, keeping their order within a row; off[i-r0] is where row
// i's entries start in the result, off[r1-r0] its end.
func groupEnts(list []packedEnt, r0, r1 int32) ([]packedEnt, []int32) {
	n := r1 - r0
	off := make([]int32, n+1)
	for i := range list {
		off[list[i].row-r0+1]++
	}
	for i := int32(1); i <= n; i++ {
		off[i] += off[i-1]
	}
	out := make([]packedEnt, len(list))
	fill := append([]int32(nil), off[:n]...)
	for i := range list {
		k := list[i].row - r0
		out[fill[k]] = list[i]
		fill[k]++
	}
	return out, off
}

// merger sums the entries of one row and ref, with an array by ref.
type merger struct {
	at    []int32 // at[ref]: index of the ref's entry in the output
	stamp []int32 // valid when stamp[ref] == gen
	gen   int32
}

// merge sums the entries of each row of grouped (as groupEnts returns
// it) by ref, in place, and returns them with their offsets.
func (m *merger) merge(grouped []packedEnt, off []int32) ([]packedEnt, []int32) {
	out := grouped[:0]
	moff := make([]int32, len(off))
	for k := 0; k+1 < len(off); k++ {
		m.gen++
		moff[k] = int32(len(out))
		for i := off[k]; i < off[k+1]; i++ {
			e := grouped[i] // a copy: out overwrites grouped behind i
			if m.stamp[e.Ref] == m.gen {
				out[m.at[e.Ref]].Counts.Add(e.Counts)
				continue
			}
			m.stamp[e.Ref], m.at[e.Ref] = m.gen, int32(len(out))
			out = append(out, e)
		}
	}
	moff[len(off)-1] = int32(len(out))
	return out, moff
}

// finish adds every minute row to its coarser buckets that cut keeps,
// drops the rows cut does not keep, sets each row's totals to the sum of
// its entries and returns the rows. With o.FoldMinutes, no minute row is
// returned: each minute entry moves, as it is, into its five-minute row;
// with o.HourMinutes, neither minute nor five-minute rows are returned
// and each minute entry the cutoffs keep is also kept, as it is, in its
// hour row's Minutes (see PackOptions).
//
// Each level is derived from the one below it: its rows are found once
// per row below, not once per entry, and its entries are added from the
// (already merged, so fewer) entries below. Rows are made whatever the
// cutoffs, since a coarser level may be kept longer than the one it is
// derived from; those cut does not keep are dropped at the end.
func (t *packedTable) finish(cut Cutoffs, o PackOptions) []PackedRow {
	fold, hourMinutes := o.FoldMinutes && !o.HourMinutes, o.HourMinutes
	m := &merger{at: make([]int32, t.nRefs), stamp: make([]int32, t.nRefs)}
	// the minute level: rows [0, r1), entries grouped and merged
	r0, r1 := int32(0), int32(len(t.rows))
	list, off := m.merge(groupEnts(t.raw, r0, r1))
	t.raw = nil
	type level struct {
		r0, r1 int32
		list   []packedEnt
		off    []int32
		mins   []packedEnt // hourMinutes: the hour rows' Minutes
		minOff []int32
	}
	levels := []level{{r0: r0, r1: r1, list: list, off: off}}
	// an hour row keeps the minutes a minute or five-minute answer may
	// read: those the minute cutoff keeps, and those of the five minutes
	// the five-minute cutoff keeps
	keepMinute := func(m int64) bool { return m >= cut.Level[Minute] || FiveMinutes.Floor(m) >= cut.Level[FiveMinutes] }
	for _, l := range Levels[1:] {
		if hourMinutes && l == FiveMinutes {
			continue // hours are derived from minutes
		}
		below := &levels[len(levels)-1]
		up := make([]int32, below.r1-below.r0) // up[i-r0]: the row of level l holding row i
		x := levelIndex{t: t, l: l, first: below.r1}
		for i := below.r0; i < below.r1; i++ {
			r := &t.rows[i]
			up[i-below.r0] = x.row(r.Org, r.Key, t.slots[i], l.Floor(r.Bucket))
		}
		p0, p1 := below.r1, int32(len(t.rows)) // the rows of level l: all new
		lifted := make([]packedEnt, len(below.list))
		var mins []packedEnt
		if hourMinutes && l == Hour {
			mins = make([]packedEnt, 0, len(below.list))
		}
		for i, e := range below.list {
			if hourMinutes && l == Hour && keepMinute(t.rows[e.row].Bucket) {
				mins = append(mins, packedEnt{up[e.row-below.r0], e.PackedEntry})
			}
			e.row = up[e.row-below.r0]
			lifted[i] = e
		}
		lv := level{r0: p0, r1: p1}
		lv.list, lv.off = groupEnts(lifted, p0, p1)
		if !(fold && l == FiveMinutes) { // folded: not merged, one entry per minute
			lv.list, lv.off = m.merge(lv.list, lv.off)
		}
		if len(mins) > 0 {
			lv.mins, lv.minOff = groupEnts(mins, p0, p1)
		}
		levels = append(levels, lv)
	}
	n := 0
	for _, lv := range levels {
		n += len(lv.list) + len(lv.mins)
	}
	all := make([]PackedEntry, 0, n) // every row's entries, in one allocation
	out := make([]PackedRow, 0, len(t.rows))
	entries := func(list []packedEnt, a, b int32) []PackedEntry {
		start := len(all)
		for _, e := range list[a:b] {
			all = append(all, e.PackedEntry)
		}
		return all[start:len(all):len(all)]
	}
	for _, lv := range levels {
		for i := lv.r0; i < lv.r1; i++ {
			r := t.rows[i]
			if r.Bucket < cut.Level[r.Level] || ((fold || hourMinutes) && r.Level == Minute) {
				continue
			}
			k := i - lv.r0
			r.Entries = entries(lv.list, lv.off[k], lv.off[k+1])
			for j := range r.Entries {
				r.Total += r.Entries[j].Total
				r.RateLimited += r.Entries[j].RateLimited
			}
			if lv.mins != nil && lv.minOff[k+1] > lv.minOff[k] {
				r.Minutes = entries(lv.mins, lv.minOff[k], lv.minOff[k+1])
			}
			out = append(out, r)
		}
	}
	return out
}

// PackOptions change the packed form AggregatePackedWith returns.
type PackOptions struct {
	// FoldMinutes folds the minute buckets of actors and users into their
	// five-minute rows: ActorRows and UserRows then hold no minute row,
	// and the Entries of their five-minute rows are one per group and
	// minute (an entry's minute is the minute of its Last time), not
	// summed over the five minutes. Such a row still sums to the five
	// minutes' totals, and its entries filtered by minute give each
	// minute's. On sparse traffic that halves the rows of those tables
	// (most actor and user minutes hold one or two requests). A
	// five-minute row the cutoffs keep holds all its minutes, also those
	// before the minute cutoff, as its summed entries would.
	FoldMinutes bool
	// HourMinutes keeps the minutes of actors and users in their hour
	// rows: ActorRows and UserRows then hold neither minute nor
	// five-minute rows, and each hour row's Minutes hold one entry per
	// group and minute (an entry's minute is the minute of its Last
	// time), for the minutes the cutoffs keep (at the minute or the
	// five-minute level); its Entries are summed
	// over the hour as usual. An hour bucket holds twelve five-minute
	// buckets, and on sparse traffic most of an actor's five-minute
	// buckets hold a request or two, so that is a fraction of the rows.
	// It takes precedence over FoldMinutes.
	HourMinutes bool
}

// AggregatePacked aggregates events into the packed form, keeping the
// buckets cut keeps. It aggregates straight into the packed rows, keyed by
// small integers, without the Rollup maps.
func AggregatePacked(events []Event, cut Cutoffs) *Packed {
	return AggregatePackedWith(events, cut, PackOptions{})
}

// AggregatePackedWith is AggregatePacked in the form o asks for.
func AggregatePackedWith(events []Event, cut Cutoffs, o PackOptions) *Packed {
	p := &Packed{ActorInfo: map[ActorRef]ActorInfo{}, SubjectInfo: map[SubjectRef]SubjectInfo{}}
	if len(events) == 0 {
		return p
	}
	var orgs intern[string]
	var actors intern[ActorRef]
	var routes intern[RouteRef]
	var subjects intern[SubjectRef]
	var actorInfo []ActorInfo // by actor index
	var subjectInfo []SubjectInfo
	var users intern[int64] // slots of the user table's row cache
	lastUser, lastUserSlot := int64(0), int32(0)
	// An actor's or user's minutes are most of the rows of their tables:
	// on sparse traffic about one row for two events (rows are 104
	// bytes, so growing them from nothing is a large share of the work).
	// An organization has a row a minute.
	rowGuess := len(events)/2 + 16
	orgT, actorT, userT := newPackedTable(len(events), 16), newPackedTable(len(events), rowGuess), newPackedTable(len(events), rowGuess)
	lastOrg, lastOrgID := "", int32(-1)
	for i := range events {
		e := &events[i]
		ts, c := eventCounts(e)
		if lastOrgID < 0 || e.Org != lastOrg {
			lastOrg, lastOrgID = e.Org, orgs.id(e.Org)
		}
		actor := actors.id(ActorRef{e.ActorType, e.ActorID})
		subject := subjects.id(SubjectRef{e.SubjectType, e.SubjectID})
		route := routes.id(RouteRef{e.HTTPMethod, e.APIRoute})
		b := Minute.Floor(ts)
		orgT.add(orgT.minute.row(lastOrgID, 0, 0, b), subject, c)
		actorT.add(actorT.minute.row(lastOrgID, int64(actor), actor, b), route, c)
		if e.UserID > 0 {
			if e.UserID != lastUser {
				lastUser, lastUserSlot = e.UserID, users.id(e.UserID)
			}
			userT.add(userT.minute.row(lastOrgID, e.UserID, lastUserSlot, b), actor, c)
		}
		// the latest event names the actor and subject (a later one in the batch wins a tie)
		if int(actor) == len(actorInfo) {
			actorInfo = append(actorInfo, ActorInfo{e.ActorName, e.OAuthApplicationID, e.IntegrationID, ts})
		} else if ts >= actorInfo[actor].Seen {
			actorInfo[actor] = ActorInfo{e.ActorName, e.OAuthApplicationID, e.IntegrationID, ts}
		}
		if int(subject) == len(subjectInfo) {
			subjectInfo = append(subjectInfo, SubjectInfo{e.SubjectName, ts})
		} else if ts >= subjectInfo[subject].Seen {
			subjectInfo[subject] = SubjectInfo{e.SubjectName, ts}
		}
	}
	for i, a := range actors.list {
		p.ActorInfo[a] = actorInfo[i]
	}
	for i, s := range subjects.list {
		p.SubjectInfo[s] = subjectInfo[i]
	}
	p.Orgs, p.Actors, p.Routes, p.Subjects = orgs.list, actors.list, routes.list, subjects.list
	p.OrgRows, p.ActorRows, p.UserRows = orgT.finish(cut, PackOptions{}), actorT.finish(cut, o), userT.finish(cut, o)
	return p
}
