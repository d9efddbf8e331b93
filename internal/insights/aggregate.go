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

// packedKey identifies a row of one packed table: ol is the organization
// index shifted left by 8, or'ed with the level (a 24-byte key without
// padding hashes as one block of memory).
type packedKey struct {
	key    int64
	bucket int64
	ol     int64
}

// packedTable aggregates one packed table: rows by key, and each row's
// entries by (row, ref) in one flat list, grouped into rows at the end.
type packedTable struct {
	idx     map[packedKey]int32
	lastKey packedKey // the key of the last row looked up
	lastRow int32     // its index + 1; 0: none
	rows    []PackedRow
	ents    map[uint64]int32 // row<<32 | ref → index in list
	list    []packedEnt
}

type packedEnt struct {
	row int32
	PackedEntry
}

func newPackedTable(n int) *packedTable {
	return &packedTable{idx: make(map[packedKey]int32, n), ents: make(map[uint64]int32, n)}
}

func (t *packedTable) row(org int32, key int64, l Level, bucket int64) int32 {
	k := packedKey{key, bucket, int64(org)<<8 | int64(l)}
	if t.lastRow > 0 && k == t.lastKey { // consecutive events of one minute and key (the organization's)
		return t.lastRow - 1
	}
	i, ok := t.idx[k]
	if !ok {
		i = int32(len(t.rows))
		t.idx[k] = i
		t.rows = append(t.rows, PackedRow{Org: org, Key: key, Level: l, Bucket: bucket})
	}
	t.lastKey, t.lastRow = k, i+1
	return i
}

func (t *packedTable) add(row, ref int32, c Counts) {
	k := uint64(uint32(row))<<32 | uint64(uint32(ref))
	if i, ok := t.ents[k]; ok {
		e := &t.list[i].Counts
		e.Total += c.Total
		e.RateLimited += c.RateLimited
		e.Last = max(e.Last, c.Last)
		e.LastRateLimited = max(e.LastRateLimited, c.LastRateLimited)
		return
	}
	t.ents[k] = int32(len(t.list))
	t.list = append(t.list, packedEnt{row, PackedEntry{ref, c}})
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
	rows0, rows1 := 0, len(t.rows) // the rows of the level below
	ents0, ents1 := 0, len(t.list) // and its entries
	var up []int32                 // up[i-rows0]: the row of level l holding row i
	var mins []packedEnt           // hourMinutes: minute entries, by hour row
	minuteCut := max(cut.Level[Minute], cut.Level[FiveMinutes])
	for _, l := range Levels[1:] {
		if hourMinutes && l == FiveMinutes {
			continue // hours are derived from minutes
		}
		up = append(up[:0], make([]int32, rows1-rows0)...)
		for i := rows0; i < rows1; i++ {
			r := t.rows[i] // a copy: row appends to t.rows
			up[i-rows0] = t.row(r.Org, r.Key, l, l.Floor(r.Bucket))
		}
		next := len(t.list)
		for i := ents0; i < ents1; i++ {
			e := t.list[i] // a copy: add and append grow t.list
			p := up[int(e.row)-rows0]
			switch {
			case fold && l == FiveMinutes:
				t.list = append(t.list, packedEnt{p, e.PackedEntry}) // not merged: one entry per minute
			case hourMinutes && l == Hour:
				if t.rows[e.row].Bucket >= minuteCut {
					mins = append(mins, packedEnt{p, e.PackedEntry})
				}
				t.add(p, e.Ref, e.Counts)
			default:
				t.add(p, e.Ref, e.Counts)
			}
		}
		rows0, rows1 = rows1, len(t.rows)
		ents0, ents1 = next, len(t.list)
	}
	// group the entries by row (a counting sort), dropping old minutes
	keep := make([]int32, len(t.rows)) // new index+1 of each row, 0 when dropped
	n := int32(0)
	for i := range t.rows {
		r := &t.rows[i]
		if r.Bucket < cut.Level[r.Level] || ((fold || hourMinutes) && r.Level == Minute) {
			continue
		}
		n++
		keep[i] = n
	}
	out := make([]PackedRow, 0, n)
	for i := range t.rows {
		if keep[i] != 0 {
			out = append(out, t.rows[i])
		}
	}
	byRow(t.list, keep, n, func(k int32, es []PackedEntry) {
		r := &out[k]
		r.Entries = es
		for i := range es {
			r.Total += es[i].Total
			r.RateLimited += es[i].RateLimited
		}
	})
	if len(mins) > 0 {
		byRow(mins, keep, n, func(k int32, es []PackedEntry) { out[k].Minutes = es })
	}
	return out
}

// byRow groups the entries of list by row with a counting sort: keep maps
// a row to its index in the output plus one (0: dropped), and fn is called
// with each kept row (0-based) holding entries and those entries, in list
// order, all in one allocation.
func byRow(list []packedEnt, keep []int32, n int32, fn func(k int32, es []PackedEntry)) {
	count := make([]int32, n+1)
	for i := range list {
		if k := keep[list[i].row]; k != 0 {
			count[k]++
		}
	}
	for i := 1; i <= int(n); i++ {
		count[i] += count[i-1]
	}
	all := make([]PackedEntry, count[n])
	fill := count[:n] // fill[k-1] is where row k's next entry goes
	for i := range list {
		e := &list[i]
		if k := keep[e.row]; k != 0 {
			all[fill[k-1]] = e.PackedEntry
			fill[k-1]++
		}
	}
	// fill[k-1] now is the end of row k's entries; row k starts where row k-1 ends
	start := int32(0)
	for k := range fill {
		if fill[k] > start {
			fn(int32(k), all[start:fill[k]:fill[k]])
		}
		start = fill[k]
	}
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
	// time), for the minutes the cutoffs keep; its Entries are summed
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
	orgT, actorT, userT := newPackedTable(len(events)/16), newPackedTable(len(events)/4), newPackedTable(len(events)/8)
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
		orgT.add(orgT.row(lastOrgID, 0, Minute, b), subject, c)
		actorT.add(actorT.row(lastOrgID, int64(actor), Minute, b), route, c)
		if e.UserID > 0 {
			userT.add(userT.row(lastOrgID, e.UserID, Minute, b), actor, c)
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
