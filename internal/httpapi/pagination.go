package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ghusage/ghusage/internal/usage"
)

// LinkHeader builds the RFC 5988 Link header value for page p of total
// items, with rel next, prev, first and last as GitHub sends them (first
// and prev only after page 1, next and last only before the last page).
// base is the request URL; its other query parameters are kept.
func LinkHeader(base *url.URL, p usage.Page, total int) string {
	last := (total + p.PerPage - 1) / p.PerPage
	if last < 1 {
		last = 1
	}
	link := func(n int, rel string) string {
		u := *base
		q := u.Query()
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(p.PerPage))
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
