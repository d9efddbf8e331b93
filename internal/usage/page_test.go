package usage

import (
	"net/url"
	"testing"
)

func TestParsePage(t *testing.T) {
	for _, q := range []string{"per_page=0", "per_page=1000", "per_page=101", "page=0", "page=-1", "page=x",
		"per_page=1.5", "page=99999999999", "page=1048577"} {
		v, _ := url.ParseQuery(q)
		_, err := ParsePage(v, "R")
		e, ok := err.(*Error)
		if !ok || e.Kind != KindInvalid || len(e.Fields) != 1 || e.Fields[0].Resource != "R" {
			t.Errorf("%s: err %v, want a 422 naming the field", q, err)
			continue
		}
		if want := map[byte]string{'p': "page"}; q[:5] == "page=" && e.Fields[0].Field != want['p'] {
			t.Errorf("%s: field %q", q, e.Fields[0].Field)
		}
	}
	v, _ := url.ParseQuery("page=3&per_page=100")
	p, err := ParsePage(v, "R")
	if err != nil || p.Number != 3 || p.PerPage != 100 || p.Offset() != 200 {
		t.Errorf("page=3&per_page=100: %+v %v", p, err)
	}
	p, _ = ParsePage(url.Values{}, "R")
	if p.Number != 1 || p.PerPage != 30 || p.Offset() != 0 {
		t.Errorf("defaults %+v, want page 1 of 30", p)
	}
}
