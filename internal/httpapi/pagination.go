package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ghusage/ghusage/internal/usage"
)

// LinkHeader builds the RFC 5988 Link header value for page p of total
// items, with rel next, prev, first and last as GitHub sends them (first
// and prev only after page 1, next and last only before the last page).
// base is the request URL; its other query parameters are kept, in
// canonical form: keys sorted, each value of a key once (in the order the
// request first gave it), so a request that repeats a parameter a
// thousand times gets links the size of one that gives it once.
func LinkHeader(base *url.URL, p usage.Page, total int) string {
	last := (total + p.PerPage - 1) / p.PerPage
	if last < 1 {
		last = 1
	}
	if p.Number <= 1 && last <= 1 {
		return ""
	}
	q := canonicalQuery(base.RawQuery)
	link := func(n int, rel string) string {
		u := *base
		q["page"] = []string{strconv.Itoa(n)}
		q["per_page"] = []string{strconv.Itoa(p.PerPage)}
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var parts []string
	if p.Number > 1 {
		parts = append(parts, link(min(p.Number-1, last), "prev"))
	}
	if p.Number < last {
		parts = append(parts, link(p.Number+1, "next"), link(last, "last"))
	}
	if p.Number > 1 {
		parts = append(parts, link(1, "first"))
	}
	return strings.Join(parts, ", ")
}

// canonicalQuery parses a query and drops repeated values of a key.
func canonicalQuery(raw string) url.Values {
	q, _ := url.ParseQuery(raw) // what does not parse was ignored by the handler too
	for k, vs := range q {
		out := vs[:0]
		for _, v := range vs {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		q[k] = out
	}
	return q
}

// maxQueryBytes bounds a request's query string: no endpoint takes more
// than a few hundred bytes of parameters, and a longer query would only
// be repeated into Link headers and logs.
const maxQueryBytes = 4096

// errURITooLong is the 414 answered to a query over maxQueryBytes.
var errURITooLong = &usage.Error{Kind: usage.KindBadRequest, Status: http.StatusRequestURITooLong,
	Message: fmt.Sprintf("The query string is longer than %d bytes.", maxQueryBytes)}

// setLink sets the Link header for a page of total items, when there is more than one page.
func setLink(w http.ResponseWriter, r *http.Request, p usage.Page, total int) {
	if v := LinkHeader(requestURL(r), p, total); v != "" {
		w.Header().Set("Link", v)
	}
}

// requestURL is the absolute URL the client asked for, /api/v3 prefix included.
func requestURL(r *http.Request) *url.URL {
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		u = &url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	}
	u.Scheme = "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		u.Scheme = "https"
	}
	u.Host = r.Host
	return u
}
