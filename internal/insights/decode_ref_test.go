package insights

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ghusage/ghusage/internal/usage"
)

// The scanner as it was before its fast paths, the reference the fuzz test
// compares parseEvent with: the same events and the same errors.

func parseEventRef(b []byte, e *Event, in *stringSet) *FieldError {
	p := &refScanner{b: b, in: in, intern: true}
	p.ws()
	if !p.lit('{') {
		return &FieldError{Message: "not a JSON object"}
	}
	p.ws()
	if p.lit('}') {
		return p.end()
	}
	for {
		p.ws()
		key, ok := p.str()
		if !ok {
			return &FieldError{Message: "invalid JSON: expected a quoted field name at byte " + strconv.Itoa(p.i+1)}
		}
		p.ws()
		if !p.lit(':') {
			return &FieldError{Message: "invalid JSON: expected ':' at byte " + strconv.Itoa(p.i+1)}
		}
		p.ws()
		if fe := p.field(key, e); fe != nil {
			return fe
		}
		p.ws()
		if p.lit(',') {
			continue
		}
		if p.lit('}') {
			return p.end()
		}
		return &FieldError{Message: "invalid JSON: expected ',' or '}' at byte " + strconv.Itoa(p.i+1)}
	}
}

type refScanner struct {
	b      []byte
	i      int
	buf    []byte
	in     *stringSet // nil: no interning
	intern bool       // intern the next string value
}

func (p *refScanner) end() *FieldError {
	p.ws()
	if p.i != len(p.b) {
		return &FieldError{Message: "invalid JSON: unexpected data after the object at byte " + strconv.Itoa(p.i+1)}
	}
	return nil
}

func (p *refScanner) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *refScanner) lit(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *refScanner) word(w string) bool {
	if len(p.b)-p.i >= len(w) && string(p.b[p.i:p.i+len(w)]) == w {
		p.i += len(w)
		return true
	}
	return false
}

// str reads a JSON string; ok is false when it is malformed.
func (p *refScanner) str() (string, bool) {
	if !p.lit('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			p.i++
			if !utf8.Valid(s) {
				return "", false
			}
			if p.intern && p.in != nil {
				return p.in.get(s), true
			}
			return string(s), true
		}
		if c == '\\' {
			return p.strSlow(start)
		}
		if c < 0x20 {
			return "", false
		}
		p.i++
	}
	return "", false
}

func (p *refScanner) strSlow(start int) (string, bool) {
	buf := append(p.buf[:0], p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			p.buf = buf
			if !utf8.Valid(buf) {
				return "", false
			}
			return string(buf), true
		case c < 0x20:
			return "", false
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			return "", false
		}
		esc := p.b[p.i]
		p.i++
		switch esc {
		case '"', '\\', '/':
			buf = append(buf, esc)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.word(`\u`) {
					if r2, ok = p.hex4(); !ok {
						return "", false
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (p *refScanner) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

func (p *refScanner) null() bool { return p.word("null") }

func (p *refScanner) field(key string, e *Event) *FieldError {
	strField := func(dst *string) *FieldError {
		if p.null() {
			*dst = ""
			return nil
		}
		s, ok := p.str()
		if !ok {
			return &FieldError{Field: key, Message: "must be a JSON string"}
		}
		*dst = s
		return nil
	}
	intField := func(dst *int64) *FieldError {
		if p.null() {
			*dst = 0
			return nil
		}
		start := p.i
		if p.i < len(p.b) && p.b[p.i] == '-' {
			p.i++
		}
		digits := p.i
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
		if p.i-digits > 1 && p.b[digits] == '0' {
			return &FieldError{Field: key, Message: "must be an integer without leading zeros"}
		}
		if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
			return &FieldError{Field: key, Message: "must be an integer"}
		}
		n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
		if err != nil {
			if p.i-start > 1 {
				return &FieldError{Field: key, Message: "must be an integer that fits in 64 bits"}
			}
			return &FieldError{Field: key, Message: "must be an integer"}
		}
		*dst = n
		return nil
	}
	switch key {
	case "id":
		p.intern = false
		fe := strField(&e.ID)
		p.intern = true
		return fe
	case "timestamp":
		var s string
		p.intern = false
		fe := strField(&s)
		p.intern = true
		if fe != nil {
			return fe
		}
		if s == "" {
			e.Timestamp = time.Time{}
			return nil
		}
		if p.in != nil && s == p.in.lastTS {
			e.Timestamp = p.in.lastTime
			return nil
		}
		t, err := ParseTimestamp(s)
		if err != nil {
			return &FieldError{Field: key, Message: err.Error()}
		}
		e.Timestamp = t
		if p.in != nil {
			p.in.lastTS, p.in.lastTime = s, t
		}
		return nil
	case "org":
		return strField(&e.Org)
	case "actor_type":
		var s string
		fe := strField(&s)
		e.ActorType = usage.ActorType(s)
		return fe
	case "actor_id":
		return intField(&e.ActorID)
	case "actor_name":
		return strField(&e.ActorName)
	case "oauth_application_id":
		return intField(&e.OAuthApplicationID)
	case "integration_id":
		return intField(&e.IntegrationID)
	case "user_id":
		return intField(&e.UserID)
	case "user_login":
		return strField(&e.UserLogin)
	case "subject_type":
		return strField(&e.SubjectType)
	case "subject_id":
		return intField(&e.SubjectID)
	case "subject_name":
		return strField(&e.SubjectName)
	case "http_method":
		return strField(&e.HTTPMethod)
	case "api_route":
		return strField(&e.APIRoute)
	case "rate_limited":
		switch {
		case p.word("true"):
			e.RateLimited = true
		case p.word("false"), p.null():
			e.RateLimited = false
		default:
			return &FieldError{Field: key, Message: "must be true or false"}
		}
		return nil
	}
	return &FieldError{Field: truncate(key, 64), Message: "is not a field of an API request event (see doc/insights.md)"}
}

// FuzzParseEventSameAsRef checks parseEvent against the reference scanner:
// the same event, or the same error (field and message), for any input.
func FuzzParseEventSameAsRef(f *testing.F) {
	for _, s := range []string{
		`{"id":"x-1","timestamp":"2026-03-14T15:00:00Z","org":"acme","actor_type":"classic_pat","actor_id":12,"actor_name":"tok","user_id":7,"subject_type":"user","subject_id":7,"subject_name":"u","http_method":"GET","api_route":"/repos/:owner/:repo","rate_limited":false}`,
		`{"id":"\u00e9\ud83d\ude00","actor_id":-1,"rate_limited":null}`,
		`{"id":"a\"b\\c\/\n","user_id":9223372036854775807}`,
		`{"actor_id":-9223372036854775808}`, `{"actor_id":-9223372036854775809}`, `{"actor_id":18446744073709551616}`,
		`{"actor_id":012}`, `{"actor_id":-0}`, `{"actor_id":-}`, `{"actor_id":1.5}`, `{"actor_id":1e3}`, `{"actor_id":"12"}`,
		`{"org":"caf\u00e9 \xc3\xa9","actor_name":"\xff"}`, `{"nested":{}}`, `{"\u0069d":"x"}`, `{"org":"a\tb"}`,
		`{"api_route":"/a/very/long/route/with/many/segments/and/more/than/eight/bytes"}`, `{"id":"x"} x`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, inRef := &stringSet{m: map[string]string{}}, &stringSet{m: map[string]string{}}
		for i := 0; i < 2; i++ { // cold and warm interning
			var e, eRef Event
			fe, feRef := parseEvent(b, &e, in), parseEventRef(b, &eRef, inRef)
			if (fe == nil) != (feRef == nil) || (fe != nil && *fe != *feRef) || e != eRef {
				t.Fatalf("%q: %+v %v, reference %+v %v", b, e, fe, eRef, feRef)
			}
		}
	})
}

// TestParseTimestampsOfOneMinute decodes timestamps that share a minute,
// one after the other (the decoder adds the seconds to the minute it
// parsed last), and checks each is the time ParseTimestamp gives, or the
// same error.
func TestParseTimestampsOfOneMinute(t *testing.T) {
	var stamps []string
	for _, m := range []string{"2026-03-14T15:09:", "2024-02-29T24:00:", "2024-02-30T10:00:", "2026-03-14T15:60:", "2026-12-31T23:59:"} {
		for _, sec := range []string{"00", "07", "59", "60", "61", "5x"} {
			stamps = append(stamps, m+sec+"Z", m+sec+"+01:00")
		}
	}
	in := &stringSet{m: map[string]string{}}
	for _, ts := range stamps {
		var e Event
		fe := parseEvent([]byte(`{"timestamp":"`+ts+`"}`), &e, in)
		want, err := ParseTimestamp(ts)
		if (fe == nil) != (err == nil) || (err != nil && fe.Message != err.Error()) || e.Timestamp != want {
			t.Errorf("%s: %v %v, ParseTimestamp %v %v", ts, e.Timestamp, fe, want, err)
		}
	}
}

// decodeBoth decodes body as decodeAll does (the body read whole) and line
// by line (decodeStream, the path of larger bodies and failed reads), with
// a check that refuses the organization "refused" and fails on "broken".
func decodeBoth(t *testing.T, body []byte, max int, readErr error, lim bufferLimits) (got, want []Event, gotErr, wantErr error) {
	t.Helper()
	check := func(e *Event) (*FieldError, error) {
		switch e.Org {
		case "refused":
			return &FieldError{Field: "org", Message: "refused"}, nil
		case "broken":
			return nil, errors.New("broken")
		}
		return nil, nil
	}
	src := func() io.Reader {
		if readErr != nil {
			return io.MultiReader(bytes.NewReader(body), errReader{readErr})
		}
		return bytes.NewReader(body)
	}
	got, gotErr = decodeAllWith(src(), now, max, check, lim)
	d, err := NewDecoder(src(), now)
	if err != nil {
		return got, nil, gotErr, lineErrors([]*LineError{err.(*LineError)}, 1)
	}
	d.Check = check
	want, wantErr = decodeStream(d, max)
	return got, want, gotErr, wantErr
}

func sameDecode(t *testing.T, body []byte, max int, readErr error, lim bufferLimits) {
	t.Helper()
	got, want, gotErr, wantErr := decodeBoth(t, body, max, readErr, lim)
	if !slices.Equal(got, want) || (got == nil) != (want == nil) || !reflect.DeepEqual(gotErr, wantErr) {
		t.Fatalf("%q (max %d, read error %v):\n  %d events, %v\nline by line:\n  %d events, %v", body, max, readErr, len(got), gotErr, len(want), wantErr)
	}
}

// FuzzDecodeAllSameAsStream checks that a body read whole decodes to the
// same events (ids included) or the same error as line by line, for any
// body, batch limit and failing read.
func FuzzDecodeAllSameAsStream(f *testing.F) {
	ok := `{"id":"x-1","timestamp":"2026-03-14T15:00:00Z","org":"acme","actor_type":"classic_pat","actor_id":12,"actor_name":"tok","subject_type":"user","subject_id":7,"subject_name":"u","http_method":"get","api_route":"/repos/acme/web/issues/1"}`
	for _, s := range []string{
		ok, ok + "\n" + ok, ok + "\r\n\n  \n" + strings.Replace(ok, `"x-1"`, `"x-\u00e92"`, 1) + "\n",
		strings.Replace(ok, `"id":"x-1",`, `"id":"x-1","id":null,`, 1),
		strings.Replace(ok, `"id":"x-1",`, `"id":"a","id":"bb",`, 1) + "\n" + ok,
		strings.Replace(ok, `"x-1"`, `"`+strings.Repeat("y", 129)+`"`, 1) + "\n" + ok,
		strings.Replace(ok, `acme"`, `refused"`, 1) + "\n" + ok + "\n" + strings.Replace(ok, `acme"`, `broken"`, 1),
		"not json\n" + ok + "\n{}\n", "\n\n", "", ok + "\n" + strings.Repeat(" ", MaxLineBytes) + "\n" + ok,
		"\x1f\x8bnot gzip",
	} {
		f.Add([]byte(s), uint8(2), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, max uint8, fail bool) {
		var readErr error
		if fail {
			readErr = errors.New("read failed")
		}
		sameDecode(t, body, int(max), readErr, defaultBuffers)
		lines := bufferLimits{whole: defaultBuffers.whole, block: 16 << (max % 8)} // lines across blocks
		sameDecode(t, body, int(max%16), readErr, lines)
	})
}

// TestDecodeAllLargeBodies decodes bodies larger than what decodeAll reads
// whole (as an ungzipped body may be), and gzip-compressed ones: the same
// as line by line.
func TestDecodeAllLargeBodies(t *testing.T) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := 0; i < 3000; i++ {
		e := validEvent()
		e.ID = "id-" + strconv.Itoa(i)
		e.ActorID = int64(1 + i%7)
		enc.Encode(e)
		if i%500 == 0 {
			buf.WriteString("\n  \n")
		}
	}
	body := buf.Bytes()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	for _, m := range []int{0, 1, 1000, len(body) - 1, len(body), len(body) + 1, 64 << 20} {
		for _, bs := range []int{64, 300, 1000, 4096, 1 << 20} {
			lim := bufferLimits{whole: m, block: bs}
			for _, b := range [][]byte{body, gz.Bytes(), append(slices.Clip(body), "not json\n"...)} {
				for _, max := range []int{2999, 3000} {
					sameDecode(t, b, max, nil, lim)
					sameDecode(t, b, max, errors.New("read failed"), lim)
				}
			}
		}
	}
	events, err := DecodeAll(bytes.NewReader(body), now, 3000)
	if err != nil || len(events) != 3000 || events[2999].ID != "id-2999" {
		t.Fatalf("%d events, %v", len(events), err)
	}
}
