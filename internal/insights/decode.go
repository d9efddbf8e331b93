package insights

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ghusage/ghusage/internal/usage"
)

// MaxLineBytes bounds one NDJSON line.
const MaxLineBytes = 64 << 10

// MaxDecodedBytes bounds what a gzip-compressed payload may expand to.
const MaxDecodedBytes = 512 << 20

// LineError is an invalid line of an NDJSON payload: its 1-based number,
// the field at fault ("" when the line is not a JSON object at all) and why.
type LineError struct {
	Line    int
	Field   string
	Message string
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Message)
}

// Decoder reads request events from NDJSON, one JSON object per line,
// gzip-compressed or not (detected from the first bytes). Blank lines are
// skipped. Each event is normalized and validated.
type Decoder struct {
	r         *bufio.Reader
	line      int
	now       time.Time
	requireID bool
	strings   stringSet
	norm      normCache
	// Check, when set, checks each valid event further (against state the
	// decoder does not have: the deduplication window, the organizations
	// that exist); an error other than a field error stops decoding.
	Check func(e *Event) (*FieldError, error)
}

// NewDecoder returns a decoder reading r; now bounds future timestamps.
func NewDecoder(r io.Reader, now time.Time) (*Decoder, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &LineError{Line: 1, Message: "invalid gzip stream: " + err.Error()}
		}
		br = bufio.NewReaderSize(usage.CapDecoded(zr, MaxDecodedBytes), 256<<10)
	}
	return &Decoder{r: br, now: now, requireID: true}, nil
}

// Line is the number of the last line read.
func (d *Decoder) Line() int { return d.line }

// Next decodes the next event into e. It returns io.EOF at the end of the
// input, a *LineError for an invalid line (decoding may go on with the next
// line), and other errors when reading fails.
func (d *Decoder) Next(e *Event) error {
	for {
		raw, err := d.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			d.line++
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of the line
				_, err = d.r.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return readError(err)
			}
			return longLine(d.line)
		}
		if err != nil && err != io.EOF {
			return readError(err)
		}
		if len(raw) == 0 && err == io.EOF {
			return io.EOF
		}
		d.line++
		if len(raw) > MaxLineBytes {
			return longLine(d.line)
		}
		line := bytes.TrimSpace(raw)
		if len(line) == 0 {
			if err == io.EOF {
				return io.EOF
			}
			continue
		}
		*e = Event{}
		if d.strings.m == nil {
			d.strings.m = map[string]string{}
		}
		p := scanner{b: line, in: &d.strings}
		fe, err := d.decodeLine(&p, e)
		if err != nil {
			return err
		}
		if fe != nil {
			return &LineError{Line: d.line, Field: fe.Field, Message: fe.Message}
		}
		return nil
	}
}

// decodeLine reads p's line into e, then normalizes, validates and checks
// it (Check): the steps of every line, whichever way the body is read. A
// field error is the line's fault; another error stops decoding.
func (d *Decoder) decodeLine(p *scanner, e *Event) (*FieldError, error) {
	if fe := p.event(e); fe != nil {
		return fe, nil
	}
	e.normalize(&d.norm)
	if fe := e.Validate(d.now, d.requireID); fe != nil {
		return fe, nil
	}
	if d.Check == nil {
		return nil, nil
	}
	return d.Check(e)
}

// longLine is the error of a line longer than MaxLineBytes.
func longLine(line int) *LineError {
	return &LineError{Line: line, Message: fmt.Sprintf("line is longer than %d bytes", MaxLineBytes)}
}

func readError(err error) error {
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &usage.Error{Kind: usage.KindBadRequest, Message: "Problems parsing the request body: " + err.Error(), Err: err}
	}
	return err
}

// MaxLineErrors is how many invalid lines a rejected batch reports.
const MaxLineErrors = 20

// MaxBatch is the largest number of events one ingest request may carry.
const MaxBatch = 100_000

// DecodeAll reads every event of r, up to max events. When any line is
// invalid it returns a 422 *usage.Error listing up to MaxLineErrors lines
// (resource "ApiRequestEvent", field "line N: field"), and no events: a
// batch is accepted whole or not at all.
func DecodeAll(r io.Reader, now time.Time, max int) ([]Event, error) {
	return decodeAll(r, now, max, nil)
}

// The ID of an event is stored at the end of decodeBuffered: until then
// (while it is validated and checked) it is a part of idPlaceholder as long
// as the ID.
var idPlaceholder = strings.Repeat(".", MaxIDLength)

// bufferLimits says how decodeAll reads a body: whole, in blocks of block
// bytes that each hold whole lines, when it is at most whole bytes (an
// ingest request's limit); larger (decompressed) bodies are read line by
// line. Tests pass smaller ones.
type bufferLimits struct{ whole, block int }

// defaultBuffers are the limits of every ingest.
var defaultBuffers = bufferLimits{whole: 64 << 20, block: 1 << 20}

// idsOf is the number of bytes of a body per byte of its ids' first buffer.
const idsOf = 16

// blocks holds blocks (*[]byte) for the next bodies: no event refers to
// one once decodeAll returns.
var blocks sync.Pool

// getBlock returns an empty block of size bytes.
func getBlock(size int) []byte {
	if b, _ := blocks.Get().(*[]byte); b != nil && cap(*b) == size {
		return (*b)[:0]
	}
	return make([]byte, 0, size)
}

// decodeAll is DecodeAll with a further check of each valid event (see
// Decoder.Check), which may not look at the event's ID: the ID is filled
// in once the whole body is decoded.
func decodeAll(r io.Reader, now time.Time, max int, check func(e *Event) (*FieldError, error)) ([]Event, error) {
	return decodeAllWith(r, now, max, check, defaultBuffers)
}

// decodeAllWith is decodeAll reading the body within lim.
func decodeAllWith(r io.Reader, now time.Time, max int, check func(e *Event) (*FieldError, error), lim bufferLimits) ([]Event, error) {
	d, err := NewDecoder(r, now)
	if err != nil {
		return nil, lineErrors([]*LineError{err.(*LineError)}, 1)
	}
	d.Check = check
	body, lines, complete, rerr := readBlocks(d.r, lim)
	defer func() {
		for i := range body {
			blocks.Put(&body[i])
		}
	}()
	if !complete {
		// decode what was read, then the rest (or the read error), line by line
		parts := make([]io.Reader, 0, len(body)+1)
		for _, b := range body {
			parts = append(parts, bytes.NewReader(b))
		}
		if rerr != nil {
			parts = append(parts, errReader{rerr})
		} else {
			parts = append(parts, d.r)
		}
		d.r = bufio.NewReaderSize(io.MultiReader(parts...), 256<<10)
		return decodeStream(d, max)
	}
	return decodeBuffered(d, body, lines, max)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// readBlocks reads what r holds, up to lim.whole bytes, into blocks of
// lim.block bytes that each end with a whole line (but the last), and counts the
// newlines as it goes (while they are in cache). complete is false when r
// holds more, a line does not fit in a block with room to spare, or
// reading failed (err); the blocks then hold what was read.
func readBlocks(r io.Reader, lim bufferLimits) (body [][]byte, newlines int, complete bool, err error) {
	size := 0
	blk := getBlock(lim.block)
	for {
		n, err := r.Read(blk[len(blk):cap(blk)])
		newlines += bytes.Count(blk[len(blk):len(blk)+n], []byte{'\n'})
		blk = blk[:len(blk)+n]
		size += n
		if err == io.EOF {
			if len(blk) > 0 {
				body = append(body, blk)
			}
			return body, newlines, size <= lim.whole, nil
		}
		if err != nil || size > lim.whole {
			return append(body, blk), newlines, false, err
		}
		if len(blk) < cap(blk) {
			continue
		}
		// the block is full: its partial last line starts the next one
		i := bytes.LastIndexByte(blk, '\n') + 1
		carry := blk[i:]
		if len(carry) > min(MaxLineBytes, lim.block/2) {
			return append(body, blk), newlines, false, nil
		}
		next := append(getBlock(lim.block), carry...)
		body = append(body, blk[:i])
		blk = next
	}
}

// decodeBuffered is decodeAll over a whole body in memory (with its number
// of newlines), with the same events and errors as decodeStream: the
// events go straight into a slice of the number of lines (no copy), and
// their ids into one string.
func decodeBuffered(d *Decoder, body [][]byte, lines, max int) ([]Event, error) {
	if len(body) == 0 {
		return nil, nil
	}
	size := 0
	for _, b := range body {
		size += len(b)
	}
	if last := body[len(body)-1]; last[len(last)-1] != '\n' {
		lines++
	}
	events := make([]Event, min(lines, max+1))
	ids := make([]byte, 0, size/idsOf)
	d.strings.m = map[string]string{}
	n := 0
	var bad []*LineError
	nbad := 0
	fail := func(le *LineError) {
		nbad++
		if len(bad) < MaxLineErrors {
			bad = append(bad, le)
		}
	}
	line := 0
	for _, blk := range body {
		for rest := blk; len(rest) > 0; {
			raw := rest
			if j := bytes.IndexByte(rest, '\n'); j >= 0 {
				raw, rest = rest[:j+1], rest[j+1:]
			} else {
				rest = nil
			}
			line++
			if len(raw) > MaxLineBytes {
				fail(longLine(line))
				continue
			}
			text := bytes.TrimSpace(raw)
			if len(text) == 0 {
				continue
			}
			e := &events[n]
			mark := len(ids)
			p := scanner{b: text, in: &d.strings, ids: &ids, idMark: mark}
			fe, err := d.decodeLine(&p, e)
			if err != nil {
				return nil, err
			}
			if fe != nil {
				*e = Event{}
				ids = ids[:mark]
				fail(&LineError{Line: line, Field: fe.Field, Message: fe.Message})
				continue
			}
			if n >= max {
				return nil, tooManyEvents(max)
			}
			n++
		}
	}
	if nbad > 0 {
		return nil, lineErrors(bad, nbad)
	}
	if n == 0 {
		return nil, nil
	}
	events = events[:n:n]
	all := string(ids)
	off := 0
	for i := range events {
		l := len(events[i].ID)
		events[i].ID = all[off : off+l]
		off += l
	}
	return events, nil
}

// decodeStream is decodeAll reading d line by line: for bodies larger than
// defaultBuffers.whole, and bodies whose reading failed.
func decodeStream(d *Decoder, max int) ([]Event, error) {
	// Events are decoded into chunks of a fixed size, then copied once
	// into a slice of the exact length: appending to one growing slice
	// copied every event about twice more and left the old arrays to the
	// collector (0.4 µs per event, a fifth of decoding).
	const chunk = 4096
	var chunks [][]Event
	cur := make([]Event, 0, chunk)
	n := 0
	var bad []*LineError
	nbad := 0
	for {
		if len(cur) == chunk {
			chunks = append(chunks, cur)
			cur = make([]Event, 0, chunk)
		}
		cur = cur[:len(cur)+1]
		e := &cur[len(cur)-1]
		err := d.Next(e)
		if err != nil {
			*e = Event{}
			cur = cur[:len(cur)-1]
		}
		if err == io.EOF {
			break
		}
		var le *LineError
		if errors.As(err, &le) {
			nbad++
			if len(bad) < MaxLineErrors {
				bad = append(bad, le)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if n >= max {
			return nil, tooManyEvents(max)
		}
		n++
	}
	if nbad > 0 {
		return nil, lineErrors(bad, nbad)
	}
	if len(chunks) == 0 {
		if n == 0 {
			return nil, nil
		}
		return cur, nil
	}
	events := make([]Event, 0, n)
	for _, c := range chunks {
		events = append(events, c...)
	}
	return append(events, cur...), nil
}

func lineErrors(bad []*LineError, total int) *usage.Error {
	e := &usage.Error{Kind: usage.KindInvalid,
		Message: fmt.Sprintf("Validation Failed: %d invalid line(s); nothing in this batch was recorded", total)}
	for _, le := range bad {
		field := fmt.Sprintf("line %d", le.Line)
		if le.Field != "" {
			field += ": " + le.Field
		}
		e.Fields = append(e.Fields, usage.FieldError{Resource: "ApiRequestEvent", Field: field, Code: "invalid", Message: le.Error()})
	}
	return e
}

// ParseEventJSON decodes one JSON object into e. It is a small, strict
// scanner for the flat event shape, several times faster than
// encoding/json: unknown fields, nested values and values of the wrong type
// are errors naming the field.
func ParseEventJSON(b []byte, e *Event) *FieldError {
	return parseEvent(b, e, nil)
}

// strings interns the values that repeat from event to event (names,
// routes, types), so a batch holds one copy of each and decoding
// allocates only ids.
type stringSet struct {
	m map[string]string
	// recent holds strings of m by a cheap hash of a few of their bytes,
	// checked before m: a batch repeats a few hundred names and routes.
	recent [4096]internEntry
	// the last timestamp parsed: consecutive events often share it
	lastTS   string
	lastTime time.Time
	// the first 17 bytes (up to the seconds) of the last timestamp of
	// the form YYYY-MM-DDTHH:MM:SSZ, and the start of its minute: the
	// other seconds of that minute are added to it
	lastMinute string
	minuteTime time.Time
}

// internEntry is a string and its first and last eight bytes (all of it up
// to 16 bytes), compared before the string.
type internEntry struct {
	lo, hi uint64
	s      string
}

// words returns the first and last eight bytes of b (of a shorter b, its
// bytes and zero), and a hash of them and the length.
func words(b []byte) (lo, hi uint64, h uint) {
	n := len(b)
	switch {
	case n >= 8:
		lo, hi = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	case cap(b) >= 8: // the bytes after b are there to load, and masked off
		lo = binary.LittleEndian.Uint64(b[:8]) & (1<<(8*n) - 1)
	default:
		for i, c := range b {
			lo |= uint64(c) << (8 * i)
		}
	}
	return lo, hi, uint(((lo*0x9e3779b97f4a7c15 ^ hi*0xc2b2ae3d27d4eb4f ^ uint64(n)) * 0x165667b19e3779f9) >> (64 - 12))
}

func (s *stringSet) get(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	lo, hi, h := words(b)
	r := &s.recent[h%uint(len(s.recent))]
	if r.lo == lo && r.hi == hi && len(r.s) == n && (n <= 16 || r.s[8:n-8] == string(b[8:n-8])) {
		return r.s
	}
	v, ok := s.m[string(b)] // no allocation for the lookup
	if !ok {
		v = string(b)
		if len(s.m) < 1<<16 {
			s.m[v] = v
		}
	}
	*r = internEntry{lo, hi, v}
	return v
}

// The fields of an event, in the order of the format's table (and of
// encoding/json's encoding of Event): the order the scanner expects them
// in first.
const (
	fID = iota
	fTimestamp
	fOrg
	fActorType
	fActorID
	fActorName
	fOAuthApplicationID
	fIntegrationID
	fUserID
	fUserLogin
	fSubjectType
	fSubjectID
	fSubjectName
	fHTTPMethod
	fAPIRoute
	fRateLimited
	nFields
	fUnknown = nFields
)

var fieldNames = [nFields]string{"id", "timestamp", "org", "actor_type", "actor_id", "actor_name",
	"oauth_application_id", "integration_id", "user_id", "user_login", "subject_type", "subject_id",
	"subject_name", "http_method", "api_route", "rate_limited"}

// fieldKeys are the field names as they appear when written plainly,
// quoted and followed by the colon (5 to 23 bytes), as three words: the
// first eight bytes (masked to the key for a shorter one), the next eight
// and the last eight, compared with the line's.
var fieldKeys = func() (k [nFields + 1]keyWords) {
	for i, n := range fieldNames {
		key := []byte(`"` + n + `":`)
		w := keyWords{n: len(key), mask: ^uint64(0)}
		if len(key) < 8 {
			w.mask = 1<<(8*len(key)) - 1
			key = append(key, make([]byte, 8)...)
		}
		w.first = binary.LittleEndian.Uint64(key)
		if w.n > 8 {
			w.last = binary.LittleEndian.Uint64(key[w.n-8:])
		}
		if w.n > 16 {
			w.mid = binary.LittleEndian.Uint64(key[8:])
		}
		k[i] = w
	}
	k[nFields] = keyWords{n: 1 << 30} // matches nothing: no field is expected after the last
	return k
}()

type keyWords struct {
	n                int
	mask             uint64
	first, mid, last uint64
}

// at reports whether b[i:] starts with the key.
func (k *keyWords) at(b []byte, i int) bool {
	if len(b)-i < max(k.n, 8) {
		return false
	}
	b = b[i:]
	return binary.LittleEndian.Uint64(b)&k.mask == k.first &&
		(k.n <= 8 || binary.LittleEndian.Uint64(b[k.n-8:]) == k.last) &&
		(k.n <= 16 || binary.LittleEndian.Uint64(b[8:]) == k.mid)
}

func fieldOf(k []byte) int {
	switch string(k) {
	case "id":
		return fID
	case "timestamp":
		return fTimestamp
	case "org":
		return fOrg
	case "actor_type":
		return fActorType
	case "actor_id":
		return fActorID
	case "actor_name":
		return fActorName
	case "oauth_application_id":
		return fOAuthApplicationID
	case "integration_id":
		return fIntegrationID
	case "user_id":
		return fUserID
	case "user_login":
		return fUserLogin
	case "subject_type":
		return fSubjectType
	case "subject_id":
		return fSubjectID
	case "subject_name":
		return fSubjectName
	case "http_method":
		return fHTTPMethod
	case "api_route":
		return fAPIRoute
	case "rate_limited":
		return fRateLimited
	}
	return fUnknown
}

func parseEvent(b []byte, e *Event, in *stringSet) *FieldError {
	p := scanner{b: b, in: in}
	return p.event(e)
}

// event reads the object of p.b into e.
func (p *scanner) event(e *Event) *FieldError {
	b := p.b
	p.ws()
	if !p.lit('{') {
		return &FieldError{Message: "not a JSON object"}
	}
	p.ws()
	if p.lit('}') {
		return p.end()
	}
	next := fID // the field expected next: the one after the last
	for {
		f := next
		if k := &fieldKeys[f]; k.at(b, p.i) {
			// the expected name, plainly written, and its colon
			p.i += k.n
		} else {
			p.ws()
			key, ok := p.key()
			if !ok {
				return &FieldError{Message: "invalid JSON: expected a quoted field name at byte " + strconv.Itoa(p.i+1)}
			}
			p.ws()
			if !p.lit(':') {
				return &FieldError{Message: "invalid JSON: expected ':' at byte " + strconv.Itoa(p.i+1)}
			}
			if f = fieldOf(key); f == fUnknown {
				return &FieldError{Field: truncate(string(key), 64), Message: "is not a field of an API request event (see doc/insights.md)"}
			}
		}
		p.ws()
		if fe := p.field(f, e); fe != nil {
			return fe
		}
		next = f + 1
		if p.lit(',') {
			continue
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

type scanner struct {
	b   []byte
	i   int
	buf []byte
	in  *stringSet // nil: no interning
	// ids, when set, receives the event's id from idMark on, and the
	// event's ID is a placeholder of its length (see decodeBuffered)
	ids    *[]byte
	idMark int
}

func (p *scanner) end() *FieldError {
	p.ws()
	if p.i != len(p.b) {
		return &FieldError{Message: "invalid JSON: unexpected data after the object at byte " + strconv.Itoa(p.i+1)}
	}
	return nil
}

// ws skips white space; most often there is none.
func (p *scanner) ws() {
	if p.i < len(p.b) && p.b[p.i] <= ' ' {
		p.wsSlow()
	}
}

func (p *scanner) wsSlow() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *scanner) lit(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *scanner) word(w string) bool {
	if len(p.b)-p.i >= len(w) && string(p.b[p.i:p.i+len(w)]) == w {
		p.i += len(w)
		return true
	}
	return false
}

// plainEnd returns the index of the first byte of b at or after i that
// ends or complicates a JSON string (a quote, a backslash, a control
// character or a non-ASCII byte), or len(b). It tests eight bytes at a
// time.
func plainEnd(b []byte, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^(lo*'"'), x^(lo*'\\')
		// the top bit of each byte that is a quote or a backslash (a zero
		// byte of q or bs), below 0x20, or not ASCII. A borrow may flag a
		// byte after a true one, never one before it, so the lowest flag
		// is the first such byte.
		if m := ((q-lo)&^q | (bs-lo)&^bs | (x-lo*0x20)&^x | x) & hi; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return i
		}
	}
	return len(b)
}

// key reads a field name, without allocating when it has no escapes; ok
// is false when it is malformed.
func (p *scanner) key() ([]byte, bool) {
	if p.i < len(p.b) && p.b[p.i] == '"' {
		if j := plainEnd(p.b, p.i+1); j < len(p.b) && p.b[j] == '"' {
			k := p.b[p.i+1 : j]
			p.i = j + 1
			return k, true
		}
	}
	return p.raw()
}

// raw reads a JSON string and returns its value: a part of p.b when it has
// no escapes, else p.buf (valid until the next string); ok is false when
// it is malformed.
func (p *scanner) raw() ([]byte, bool) {
	if !p.lit('"') {
		return nil, false
	}
	start := p.i
	j := plainEnd(p.b, start)
	if j < len(p.b) && p.b[j] == '"' { // ASCII without escapes
		p.i = j + 1
		return p.b[start:j], true
	}
	p.i = j
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			p.i++
			if !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		}
		if c == '\\' {
			return p.strSlow(start)
		}
		if c < 0x20 {
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// str reads a JSON string, interned when intern is set and p has a
// string set; ok is false when it is malformed.
func (p *scanner) str(intern bool) (string, bool) {
	s, ok := p.raw()
	if !ok {
		return "", false
	}
	if intern && p.in != nil {
		return p.in.get(s), true
	}
	return string(s), true
}

func (p *scanner) strSlow(start int) ([]byte, bool) {
	buf := append(p.buf[:0], p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			p.buf = buf
			if !utf8.Valid(buf) {
				return nil, false
			}
			return buf, true
		case c < 0x20:
			return nil, false
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			return nil, false
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
				return nil, false
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.word(`\u`) {
					if r2, ok = p.hex4(); !ok {
						return nil, false
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, false
		}
	}
	return nil, false
}

func (p *scanner) hex4() (rune, bool) {
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

func (p *scanner) null() bool { return p.word("null") }

// strField reads a string or null (""), interned or not.
func (p *scanner) strField(f int, dst *string, intern bool) *FieldError {
	if p.null() {
		*dst = ""
		return nil
	}
	s, ok := p.str(intern)
	if !ok {
		return &FieldError{Field: fieldNames[f], Message: "must be a JSON string"}
	}
	*dst = s
	return nil
}

// intField reads an integer or null (0).
func (p *scanner) intField(f int, dst *int64) *FieldError {
	if p.null() {
		*dst = 0
		return nil
	}
	b := p.b
	i := p.i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	digits := i
	var u uint64
	for ; i < len(b) && b[i]-'0' <= 9; i++ {
		u = u*10 + uint64(b[i]-'0') // wraps past 19 digits: refused below
	}
	p.i = i
	nd := i - digits
	if nd > 1 && b[digits] == '0' {
		return &FieldError{Field: fieldNames[f], Message: "must be an integer without leading zeros"}
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return &FieldError{Field: fieldNames[f], Message: "must be an integer"}
	}
	if nd == 0 {
		return &FieldError{Field: fieldNames[f], Message: "must be an integer"}
	}
	// 19 digits cannot overflow a uint64
	if nd > 19 || (!neg && u > math.MaxInt64) || (neg && u > -math.MinInt64) {
		return &FieldError{Field: fieldNames[f], Message: "must be an integer that fits in 64 bits"}
	}
	if neg {
		*dst = -int64(u)
	} else {
		*dst = int64(u)
	}
	return nil
}

func (p *scanner) field(f int, e *Event) *FieldError {
	switch f {
	case fID:
		if p.ids != nil {
			return p.id(e)
		}
		return p.strField(f, &e.ID, false)
	case fTimestamp:
		return p.timestamp(e)
	case fOrg:
		return p.strField(f, &e.Org, true)
	case fActorType:
		var s string
		fe := p.strField(f, &s, true)
		e.ActorType = usage.ActorType(s)
		return fe
	case fActorID:
		return p.intField(f, &e.ActorID)
	case fActorName:
		return p.strField(f, &e.ActorName, true)
	case fOAuthApplicationID:
		return p.intField(f, &e.OAuthApplicationID)
	case fIntegrationID:
		return p.intField(f, &e.IntegrationID)
	case fUserID:
		return p.intField(f, &e.UserID)
	case fUserLogin:
		return p.strField(f, &e.UserLogin, true)
	case fSubjectType:
		return p.strField(f, &e.SubjectType, true)
	case fSubjectID:
		return p.intField(f, &e.SubjectID)
	case fSubjectName:
		return p.strField(f, &e.SubjectName, true)
	case fHTTPMethod:
		return p.strField(f, &e.HTTPMethod, true)
	case fAPIRoute:
		return p.strField(f, &e.APIRoute, true)
	}
	// fRateLimited
	switch {
	case p.word("true"):
		e.RateLimited = true
	case p.word("false"), p.null():
		e.RateLimited = false
	default:
		return &FieldError{Field: fieldNames[f], Message: "must be true or false"}
	}
	return nil
}

// id reads the id into p.ids, and a placeholder of its length into e.ID.
func (p *scanner) id(e *Event) *FieldError {
	*p.ids = (*p.ids)[:p.idMark] // the last "id" of the line counts
	if p.null() {
		e.ID = ""
		return nil
	}
	s, ok := p.raw()
	if !ok {
		return &FieldError{Field: fieldNames[fID], Message: "must be a JSON string"}
	}
	if len(s) > len(idPlaceholder) {
		e.ID = string(s) // refused as too long
		return nil
	}
	*p.ids = append(*p.ids, s...)
	e.ID = idPlaceholder[:len(s)]
	return nil
}

func (p *scanner) timestamp(e *Event) *FieldError {
	if p.null() {
		e.Timestamp = time.Time{}
		return nil
	}
	s, ok := p.raw()
	if !ok {
		return &FieldError{Field: fieldNames[fTimestamp], Message: "must be a JSON string"}
	}
	if len(s) == 0 {
		e.Timestamp = time.Time{}
		return nil
	}
	in := p.in
	if in != nil && string(s) == in.lastTS {
		e.Timestamp = in.lastTime
		return nil
	}
	if in != nil && in.lastMinute != "" && len(s) == len("2006-01-02T15:04:05Z") && string(s[:17]) == in.lastMinute && s[19] == 'Z' &&
		'0' <= s[17] && s[17] <= '5' && '0' <= s[18] && s[18] <= '9' { // another second of the last minute
		e.Timestamp = in.minuteTime.Add(time.Duration(int(s[17]-'0')*10+int(s[18]-'0')) * time.Second)
		return nil
	}
	ts := string(s)
	t, err := ParseTimestamp(ts)
	if err != nil {
		return &FieldError{Field: fieldNames[fTimestamp], Message: err.Error()}
	}
	e.Timestamp = t
	if in != nil {
		in.lastTS, in.lastTime = ts, t
		if len(ts) == len("2006-01-02T15:04:05Z") && t.Format("2006-01-02T15:04:05Z") == ts { // canonical: any other second of it is too
			in.lastMinute, in.minuteTime = ts[:17], t.Add(-time.Duration(t.Second())*time.Second)
		}
	}
	return nil
}

// tooManyEvents is the error of a batch of more than max events.
func tooManyEvents(max int) error {
	return &usage.Error{Kind: usage.KindTooLarge,
		Message: fmt.Sprintf("A batch may hold at most %d events; split the file into smaller batches", max)}
}
