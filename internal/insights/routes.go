package insights

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
)

// githubRoutes is GitHub's published list of REST operations (GitHub.com,
// Enterprise Cloud and GHES 3.19, from @octokit/openapi): a comment line,
// then "METHOD<TAB>/path/{param}" per line.
//
//go:embed github-rest-routes.tsv
var githubRoutes string

// UnknownRouteSuffix ends the route an unknown raw path is folded into:
// the deepest known prefix of the path, then "/*" ("/*" alone when even
// the first segment is unknown).
const UnknownRouteSuffix = "/*"

// routeTrie matches raw request paths to GitHub's route templates one
// segment at a time: literal segments first, then segments mixing text
// and parameters ({base}...{head}), then a parameter, backtracking when a
// branch leads nowhere. A final {path} or {ref} also matches several
// segments (file paths, refs such as heads/main).
type routeTrie struct {
	root *routeNode
}

type routeNode struct {
	label    string // template up to here, GitHub's :param spelling
	lit      map[string]*routeNode
	mixed    []*mixedEdge
	param    *routeNode
	methods  map[string]string // a template ends here: method → template
	restTmpl map[string]string // a final {path} or {ref} ends here and takes the rest
}

// mixedEdge is a segment such as {base}...{head}: its literal parts, in
// order, between parameters.
type mixedEdge struct {
	parts []string // the texts around and between the parameters: "{base}...{head}" is "", "...", ""
	node  *routeNode
}

func (m *mixedEdge) match(seg string) bool {
	first, last := m.parts[0], m.parts[len(m.parts)-1]
	if !strings.HasPrefix(seg, first) {
		return false
	}
	rest := seg[len(first):]
	if !strings.HasSuffix(rest, last) {
		return false
	}
	rest = rest[:len(rest)-len(last)]
	for _, p := range m.parts[1 : len(m.parts)-1] {
		j := strings.Index(rest, p)
		if j <= 0 { // the parameter before p is empty, or p is missing
			return false
		}
		rest = rest[j+len(p):]
	}
	return rest != "" // the last parameter is not empty
}

var defaultRoutes = sync.OnceValue(func() *routeTrie { return newRouteTrie(githubRoutes) })

func newRouteTrie(list string) *routeTrie {
	t := &routeTrie{root: &routeNode{}}
	for _, line := range strings.Split(list, "\n") {
		method, path, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok || strings.HasPrefix(line, "#") || !strings.HasPrefix(path, "/") {
			continue
		}
		t.add(strings.ToUpper(method), path)
	}
	return t
}

func (t *routeTrie) add(method, path string) {
	n := t.root
	segs := splitPath(path)
	var tmpl strings.Builder
	for i, seg := range segs {
		tmpl.WriteByte('/')
		tmpl.WriteString(colonParams(seg))
		last := i == len(segs)-1
		switch {
		case isParam(seg):
			if n.param == nil {
				n.param = &routeNode{label: n.label + "/" + colonParams(seg)}
			}
			if last && (seg == "{path}" || seg == "{ref}") {
				if n.param.restTmpl == nil {
					n.param.restTmpl = map[string]string{}
				}
				n.param.restTmpl[method] = tmpl.String()
			}
			n = n.param
		case strings.Contains(seg, "{"):
			parts := literalParts(seg)
			var e *mixedEdge
			for _, m := range n.mixed {
				if slices.Equal(m.parts, parts) {
					e = m
				}
			}
			if e == nil {
				e = &mixedEdge{parts: parts, node: &routeNode{label: n.label + "/" + colonParams(seg)}}
				n.mixed = append(n.mixed, e)
			}
			n = e.node
		default:
			if n.lit == nil {
				n.lit = map[string]*routeNode{}
			}
			c := n.lit[seg]
			if c == nil {
				c = &routeNode{label: n.label + "/" + seg}
				n.lit[seg] = c
			}
			n = c
		}
	}
	if n.methods == nil {
		n.methods = map[string]string{}
	}
	if _, dup := n.methods[method]; !dup {
		n.methods[method] = orDefault(tmpl.String(), "/")
	}
}

// splitPath returns the segments of a path ("/" has none).
func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func isParam(seg string) bool {
	return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") && strings.Count(seg, "{") == 1
}

// colonParams spells {name} as :name, as GitHub's api_route values do.
func colonParams(seg string) string {
	if !strings.Contains(seg, "{") {
		return seg
	}
	return strings.NewReplacer("{", ":", "}", "").Replace(seg)
}

// literalParts splits a mixed segment into the texts between parameters:
// "{base}...{head}" → ["", "...", ""].
func literalParts(seg string) []string {
	var parts []string
	for {
		i := strings.IndexByte(seg, '{')
		if i < 0 {
			return append(parts, seg)
		}
		parts = append(parts, seg[:i])
		j := strings.IndexByte(seg[i:], '}')
		if j < 0 {
			return append(parts, "")
		}
		seg = seg[i+j+1:]
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// matchState is the deepest node a match reached that ends a template or
// a literal segment: where an unknown path is folded.
type matchState struct {
	method string // "" accepts any method
	best   *routeNode
	depth  int
}

// walk matches the rest of a path (segments without the leading '/',
// "" for none) from n, i segments deep, and returns the template or "".
func (t *routeTrie) walk(n *routeNode, rest string, i int, st *matchState) string {
	if i > st.depth && (len(n.methods) > 0 || !isColonParam(n.label)) {
		st.best, st.depth = n, i
	}
	if rest == "" {
		return pick(n.methods, st.method)
	}
	seg, after, more := strings.Cut(rest, "/")
	if c := n.lit[seg]; c != nil {
		if r := t.walk(c, after, i+1, st); r != "" {
			return r
		}
	}
	for _, m := range n.mixed {
		if m.match(seg) {
			if r := t.walk(m.node, after, i+1, st); r != "" {
				return r
			}
		}
	}
	if n.param != nil && seg != "" {
		if r := t.walk(n.param, after, i+1, st); r != "" {
			return r
		}
		if more && after != "" {
			if r := pick(n.param.restTmpl, st.method); r != "" {
				return r
			}
		}
	}
	return ""
}

// isColonParam reports whether the last segment of label is a :param.
func isColonParam(label string) bool {
	return strings.HasPrefix(label[strings.LastIndexByte(label, '/')+1:], ":")
}

// pick returns the template of method, or of any method (GET first, then
// in name order) when method is "".
func pick(m map[string]string, method string) string {
	if len(m) == 0 {
		return ""
	}
	if method != "" {
		return m[method]
	}
	if r, ok := m["GET"]; ok {
		return r
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return m[keys[0]]
}

// IsRouteTemplate reports whether route is written as a template: some
// segment is a :param or holds a {param}.
func IsRouteTemplate(route string) bool {
	return strings.Contains(route, "/:") || strings.Contains(route, "{")
}

// CanonicalRoute returns the api_route an ingested route is recorded
// under (see doc/insights.md, "Routes"):
//
//   - a template (a :param or {param} segment) is kept, {param} spelled
//     :param;
//   - a raw path (with its method) is matched to GitHub's route template,
//     after dropping a query string, a trailing slash and an /api/v3
//     prefix; for a method GitHub has no such route for, the template of
//     the same path with another method is taken;
//   - an unknown raw path is folded into its deepest known prefix followed
//     by "/*" (for example /repos/:owner/:repo/*), so unknown paths make a
//     bounded number of routes, never one per URL.
func CanonicalRoute(method, route string) string {
	if IsRouteTemplate(route) {
		if strings.Contains(route, "{") {
			return colonParams(route)
		}
		return route
	}
	return defaultRoutes().canonical(method, route)
}

func (t *routeTrie) canonical(method, path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if rest, ok := strings.CutPrefix(path, "/api/v3"); ok && (rest == "" || rest[0] == '/') {
		path = rest
	}
	path = strings.Trim(path, "/")
	st := matchState{method: method, best: t.root}
	if r := t.walk(t.root, path, 0, &st); r != "" {
		return r
	}
	st = matchState{best: t.root}
	if r := t.walk(t.root, path, 0, &st); r != "" {
		return r
	}
	return st.best.label + UnknownRouteSuffix
}
