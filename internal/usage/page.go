package usage

import (
	"fmt"
	"net/url"
	"strconv"
)

// Page is a validated page request; Number counts from 1.
type Page struct {
	Number  int
	PerPage int
}

// Pagination limits, as on GitHub; MaxPage keeps offsets far from overflow.
const (
	DefaultPerPage = 30
	MaxPerPage     = 100
	MaxPage        = 1 << 20
)

// Offset is the number of items before this page.
func (p Page) Offset() int { return (p.Number - 1) * p.PerPage }

// ParsePage reads the page and per_page query parameters. A value that is
// not an integer in range (page 1 to MaxPage, per_page 1 to 100) is a 422
// naming the parameter, with resource as the error's resource.
func ParsePage(q url.Values, resource string) (Page, error) {
	var p Page
	var err error
	if p.Number, err = pageParam(q, resource, "page", 1, MaxPage); err != nil {
		return p, err
	}
	p.PerPage, err = pageParam(q, resource, "per_page", DefaultPerPage, MaxPerPage)
	return p, err
}

func pageParam(q url.Values, resource, name string, def, hi int) (int, error) {
	raw := q.Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		if len(raw) > 20 {
			raw = raw[:20] + "…"
		}
		return 0, Invalid(resource, name, fmt.Sprintf("%q is not an integer", raw))
	}
	if n < 1 || n > hi {
		return 0, Invalid(resource, name, fmt.Sprintf("%d is out of range: %s must be between 1 and %d", n, name, hi))
	}
	return n, nil
}
