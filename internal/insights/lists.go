package insights

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// Groups accumulates the counts of a list answer's groups (the subjects,
// actors or routes of a scope), keyed by the store's integer ref of each
// group. It keeps 48 bytes per group (the ref, its counts and two slots of
// an open-addressing index) and nothing else: names and identities are
// read afterwards, and only for the groups a page can hold.
type Groups struct {
	Refs   []int64
	Counts []Counts
	slots  []int32 // index+1 into Refs, 0 for empty; len is a power of two
}

// Add merges c into the counts of ref.
func (g *Groups) Add(ref int64, c Counts) {
	if 2*(len(g.Refs)+1) > len(g.slots) {
		g.grow()
	}
	s := g.find(ref)
	i := g.slots[s] - 1
	if i < 0 {
		i = int32(len(g.Refs))
		g.slots[s] = i + 1
		if len(g.Refs) == cap(g.Refs) { // double: append's 1.25x steps would allocate 5x the final size
			g.Refs = slices.Grow(g.Refs, len(g.Refs)+64)
			g.Counts = slices.Grow(g.Counts, len(g.Counts)+64)
		}
		g.Refs = append(g.Refs, ref)
		g.Counts = append(g.Counts, Counts{})
	}
	g.Counts[i].Add(c)
}

// find returns the slot of ref, or the empty slot where it belongs.
func (g *Groups) find(ref int64) int {
	mask := len(g.slots) - 1
	s := int(uint64(ref)*0x9e3779b97f4a7c15>>32) & mask
	for {
		i := g.slots[s] - 1
		if i < 0 || g.Refs[i] == ref {
			return s
		}
		s = (s + 1) & mask
	}
}

func (g *Groups) grow() {
	g.slots = make([]int32, max(64, 2*len(g.slots)))
	for i, ref := range g.Refs {
		g.slots[g.find(ref)] = int32(i) + 1
	}
}

// Len is the number of groups.
func (g *Groups) Len() int { return len(g.Refs) }

// Lookup returns the counts of ref.
func (g *Groups) Lookup(ref int64) (Counts, bool) {
	if len(g.slots) == 0 {
		return Counts{}, false
	}
	i := g.slots[g.find(ref)] - 1
	if i < 0 {
		return Counts{}, false
	}
	return g.Counts[i], true
}

// InfoChunk is how many refs a store is asked about at once.
const InfoChunk = 1000

// lister is what the three list answers differ in.
type lister[R any] struct {
	// info calls fn for each of refs (sorted) with the group's identity
	// and name; the row's Counts are left zero.
	info    func(ctx context.Context, refs []int64, fn func(ref int64, r R) error) error
	counts  func(r *R) *Counts
	name    func(r *R) string // what the substring filter matches
	textKey func(r *R, key string) (string, bool)
	ident   func(a, b *R) int
}

// list answers a list endpoint from a scope's groups, in memory bounded by
// the groups' counts (Groups) and the rows up to the end of the page:
//
//   - sorted by counts only (no name key, no substring filter), the page's
//     first and last count tuples are found on the counts alone, and only
//     the groups whose counts fall between them (ties included) are read
//     from the store, streamed through a heap of page size;
//   - with a name key or a substring filter, every group is read, in
//     chunks, streamed through the same bounded heap.
func list[R any](ctx context.Context, l lister[R], g *Groups, p *Params) ([]R, int, error) {
	n := g.Len()
	off := (p.Page - 1) * p.PerPage
	textSort := false
	for _, k := range p.Sort {
		if isTextKey(k) {
			textSort = true
		}
	}
	countCmp := func(a, b *Counts) int {
		for _, k := range p.Sort {
			c := cmp.Compare(countKey(*a, k), countKey(*b, k))
			if c != 0 {
				if p.Desc {
					return -c
				}
				return c
			}
		}
		return 0
	}
	full := func(a, b *R) int {
		for _, k := range p.Sort {
			var c int
			if as, ok := l.textKey(a, k); ok {
				bs, _ := l.textKey(b, k)
				c = strings.Compare(as, bs)
			} else {
				c = cmp.Compare(countKey(*l.counts(a), k), countKey(*l.counts(b), k))
			}
			if c != 0 {
				if p.Desc {
					return -c
				}
				return c
			}
		}
		return l.ident(a, b)
	}

	var refs []int64 // the groups to read, sorted
	before := 0      // groups certainly ranked before every one of refs
	total := n
	if textSort || p.Substring != "" {
		refs = slices.Clone(g.Refs)
		slices.Sort(refs)
	} else {
		if off >= n {
			return nil, n, nil
		}
		// The count tuples at the page's first and last ranks.
		end := min(off+p.PerPage, n)
		top := newBounded(end, func(a, b int32) int { return countCmp(&g.Counts[a], &g.Counts[b]) })
		for i := range n {
			top.push(int32(i))
		}
		ranked := top.sorted()
		lo, hi := g.Counts[ranked[off]], g.Counts[ranked[end-1]]
		for i := range n {
			c := &g.Counts[i]
			switch {
			case countCmp(c, &lo) < 0:
				before++
			case countCmp(c, &hi) <= 0:
				refs = append(refs, g.Refs[i])
			}
		}
		slices.Sort(refs)
	}
	keep := off - before + p.PerPage
	heap := newBounded(keep, func(a, b R) int { return full(&a, &b) })
	matched := 0
	sub := strings.ToLower(p.Substring)
	for len(refs) > 0 {
		chunk := refs[:min(len(refs), InfoChunk)]
		refs = refs[len(chunk):]
		err := l.info(ctx, chunk, func(ref int64, r R) error {
			if !containsFold(l.name(&r), sub) {
				return nil
			}
			c, ok := g.Lookup(ref)
			if !ok {
				return nil
			}
			matched++
			*l.counts(&r) = c
			heap.push(r)
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	if p.Substring != "" {
		total = matched
	}
	rows := heap.sorted()
	start := off - before
	if start >= len(rows) {
		return nil, total, nil
	}
	return rows[start:], total, nil
}

// containsFold reports whether name contains the lower-cased substring
// sub, ignoring case. It is literal: % and _ have no special meaning.
func containsFold(name, sub string) bool {
	return sub == "" || strings.Contains(strings.ToLower(name), sub)
}

func isTextKey(k string) bool {
	return k == SortSubjectName || k == SortHTTPMethod || k == SortAPIRoute
}

// bounded keeps the k smallest values pushed (by cmp), as a max-heap.
type bounded[T any] struct {
	k    int
	cmp  func(a, b T) int
	heap []T
}

func newBounded[T any](k int, cmp func(a, b T) int) *bounded[T] {
	return &bounded[T]{k: k, cmp: cmp, heap: make([]T, 0, min(k, 1024))}
}

func (b *bounded[T]) push(v T) {
	if b.k <= 0 {
		return
	}
	h := b.heap
	if len(h) < b.k {
		h = append(h, v)
		for i := len(h) - 1; i > 0; {
			parent := (i - 1) / 2
			if b.cmp(h[i], h[parent]) <= 0 {
				break
			}
			h[i], h[parent] = h[parent], h[i]
			i = parent
		}
		b.heap = h
		return
	}
	if b.cmp(v, h[0]) >= 0 {
		return
	}
	h[0] = v
	for i := 0; ; {
		l, r, big := 2*i+1, 2*i+2, i
		if l < len(h) && b.cmp(h[l], h[big]) > 0 {
			big = l
		}
		if r < len(h) && b.cmp(h[r], h[big]) > 0 {
			big = r
		}
		if big == i {
			break
		}
		h[i], h[big] = h[big], h[i]
		i = big
	}
}

// sorted returns the kept values, smallest first.
func (b *bounded[T]) sorted() []T {
	slices.SortFunc(b.heap, b.cmp)
	return b.heap
}

// subjectLister, actorLister and routeLister describe the three lists.
func (s *Service) subjectLister() lister[SubjectRow] {
	return lister[SubjectRow]{
		info:   s.Store.InsightsSubjectInfo,
		counts: func(r *SubjectRow) *Counts { return &r.Counts },
		name:   func(r *SubjectRow) string { return r.Name },
		textKey: func(r *SubjectRow, k string) (string, bool) {
			return r.Name, k == SortSubjectName
		},
		ident: func(a, b *SubjectRow) int {
			return cmp.Or(strings.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
		},
	}
}

func (s *Service) actorLister() lister[ActorRow] {
	return lister[ActorRow]{
		info:   s.Store.InsightsActorInfo,
		counts: func(r *ActorRow) *Counts { return &r.Counts },
		name:   func(r *ActorRow) string { return r.Name },
		textKey: func(r *ActorRow, k string) (string, bool) {
			return r.Name, k == SortSubjectName
		},
		ident: func(a, b *ActorRow) int {
			return cmp.Or(strings.Compare(string(a.Type), string(b.Type)), cmp.Compare(a.ID, b.ID))
		},
	}
}

func (s *Service) routeLister() lister[RouteRow] {
	return lister[RouteRow]{
		info:   s.Store.InsightsRouteInfo,
		counts: func(r *RouteRow) *Counts { return &r.Counts },
		name:   func(r *RouteRow) string { return r.Route },
		textKey: func(r *RouteRow, k string) (string, bool) {
			switch k {
			case SortHTTPMethod:
				return r.Method, true
			case SortAPIRoute:
				return r.Route, true
			}
			return "", false
		},
		ident: func(a, b *RouteRow) int {
			return cmp.Or(strings.Compare(a.Route, b.Route), strings.Compare(a.Method, b.Method))
		},
	}
}

// AllGroups reads every group of a scope's list with its counts, in no
// particular order: for tests and tools, not for answers (it holds every
// row).
func AllGroups[R any](ctx context.Context, st Store, s Scope, segs []Segment, info func(ctx context.Context, refs []int64, fn func(ref int64, r R) error) error, set func(r *R, c Counts)) ([]R, error) {
	var g Groups
	if err := st.InsightsGroups(ctx, s, segs, &g); err != nil {
		return nil, err
	}
	refs := slices.Clone(g.Refs)
	slices.Sort(refs)
	var out []R
	for len(refs) > 0 {
		chunk := refs[:min(len(refs), InfoChunk)]
		refs = refs[len(chunk):]
		err := info(ctx, chunk, func(ref int64, r R) error {
			c, _ := g.Lookup(ref)
			set(&r, c)
			out = append(out, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AllSubjects, AllUserActors and AllActorRoutes are AllGroups for each list.
func AllSubjects(ctx context.Context, st Store, org string, segs []Segment) ([]SubjectRow, error) {
	return AllGroups(ctx, st, Scope{Org: org}, segs, st.InsightsSubjectInfo, func(r *SubjectRow, c Counts) { r.Counts = c })
}

func AllUserActors(ctx context.Context, st Store, org string, userID int64, segs []Segment) ([]ActorRow, error) {
	return AllGroups(ctx, st, Scope{Org: org, UserID: userID}, segs, st.InsightsActorInfo, func(r *ActorRow, c Counts) { r.Counts = c })
}

func AllActorRoutes(ctx context.Context, st Store, org string, actor ActorRef, segs []Segment) ([]RouteRow, error) {
	return AllGroups(ctx, st, Scope{Org: org, Actor: actor}, segs, st.InsightsRouteInfo, func(r *RouteRow, c Counts) { r.Counts = c })
}
