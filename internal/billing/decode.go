package billing

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Limits of one ingest payload.
const (
	MaxLineBytes    = 64 << 10
	MaxDecodedBytes = 512 << 20
	MaxBatch        = 100_000
	MaxLineErrors   = 20
)

// LineError is an invalid line of an NDJSON payload.
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

// wireRecord is a record as ingested: the quantity kept as its literal so
// it is parsed exactly, the timestamp as ISO 8601 text.
type wireRecord struct {
	ID           string          `json:"id"`
	Timestamp    string          `json:"timestamp"`
	Product      string          `json:"product"`
	SKU          string          `json:"sku"`
	Quantity     json.RawMessage `json:"quantity"`
	Unit         string          `json:"unit"`
	Enterprise   string          `json:"enterprise"`
	Organization string          `json:"organization"`
	Repository   string          `json:"repository"`
	Username     string          `json:"username"`
	WorkflowPath string          `json:"workflow_path"`
	Model        string          `json:"model"`
	Public       bool            `json:"public"`
}

// ParseRecordJSON decodes one JSON object into r; unknown fields and
// values of the wrong type are errors naming the field. It does not
// validate (see Record.Validate).
func ParseRecordJSON(b []byte, r *Record) *FieldError {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var w wireRecord
	if err := dec.Decode(&w); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return &FieldError{Field: te.Field, Message: "must be a JSON " + te.Type.String()}
		case errors.As(err, &se):
			return &FieldError{Message: "invalid JSON: " + se.Error()}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &FieldError{Field: f, Message: "is not a field of a usage record"}
		}
		return &FieldError{Message: "invalid JSON: " + err.Error()}
	}
	if dec.More() {
		return &FieldError{Message: "invalid JSON: more than one value on the line"}
	}
	*r = Record{ID: w.ID, Product: w.Product, SKU: w.SKU, Unit: w.Unit, Enterprise: w.Enterprise,
		Organization: w.Organization, Repository: w.Repository, Username: w.Username,
		WorkflowPath: w.WorkflowPath, Model: w.Model, Public: w.Public}
	if w.Timestamp != "" {
		t, err := ParseTime(w.Timestamp)
		if err != nil {
			return &FieldError{Field: "timestamp", Message: err.Error()}
		}
		r.Timestamp = t
	}
	if len(w.Quantity) == 0 || string(w.Quantity) == "null" {
		return &FieldError{Field: "quantity", Message: "is required"}
	}
	if w.Quantity[0] == '"' {
		return &FieldError{Field: "quantity", Message: "must be a JSON number"}
	}
	q, err := ParseDecimal(string(w.Quantity))
	if err != nil {
		return &FieldError{Field: "quantity", Message: err.Error()}
	}
	r.Quantity = Quantity(q)
	return nil
}

// ParseTime parses an ISO 8601 timestamp (RFC 3339, with or without
// fractional seconds, or a date alone meaning its midnight UTC).
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("must be an ISO 8601 timestamp, e.g. 2026-01-15T10:00:00Z")
}

// DecodeAll reads every record of an NDJSON payload (gzip-compressed or
// not), normalizing and validating each against the catalogue. When any
// line is invalid it returns a 422 *usage.Error naming up to MaxLineErrors
// lines and fields, and no records: a batch is accepted whole or not at all.
func DecodeAll(r io.Reader, c *Catalog, now time.Time, max int) ([]Record, error) {
	return decodeAll(r, c, now, max, nil)
}

// DecodeAllRefusing is DecodeAll that also refuses every valid record for
// which refuse gives a reason, as an invalid line naming its sku field;
// nothing of such a batch is recorded. ghusage refuses this way, on
// billing-usage ingestion, the Copilot SKUs the ledger derives from Copilot
// seats and activity (--copilot-billing): one source, no double entry.
func DecodeAllRefusing(r io.Reader, c *Catalog, now time.Time, max int, refuse func(*Record) string) ([]Record, error) {
	return decodeAll(r, c, now, max, refuse)
}

func decodeAll(r io.Reader, c *Catalog, now time.Time, max int, refuse func(*Record) string) ([]Record, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, lineErrors([]*LineError{{Line: 1, Message: "invalid gzip stream: " + err.Error()}}, 1)
		}
		br = bufio.NewReaderSize(usage.CapDecoded(zr, MaxDecodedBytes), 256<<10)
	}
	// The payload is read in segments of whole lines, each one string (a
	// strings.Builder hands its bytes over without a copy): the records'
	// fields are substrings of their segment, so a batch costs a few
	// allocations per segment instead of one or more per record, and
	// memory stays bounded by the records kept, as line by line.
	// Records are decoded into blocks, copied once into the answer: no
	// slice of the whole batch is grown and copied over and over.
	var blocks [][]Record
	var recs []Record // the current block
	n := 0
	var bad []*LineError
	nbad, line := 0, 0
	fail := func(le *LineError) {
		nbad++
		if len(bad) < MaxLineErrors {
			bad = append(bad, le)
		}
	}
	tooLong := func() {
		fail(&LineError{Line: line, Message: fmt.Sprintf("line is longer than %d bytes", MaxLineBytes)})
	}
	// lines decodes the lines of text (the last one may lack its newline).
	lines := func(text string) error {
		for rest := text; rest != ""; {
			raw := rest
			if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
				raw, rest = rest[:nl+1], rest[nl+1:]
			} else {
				rest = ""
			}
			line++
			if len(raw) > MaxLineBytes {
				tooLong()
				continue
			}
			b := strings.TrimSpace(raw)
			if len(b) == 0 {
				continue
			}
			// The record is decoded into its place in the current block,
			// which keeps it only if it is valid.
			if len(recs) == cap(recs) {
				if len(recs) > 0 {
					blocks = append(blocks, recs)
				}
				recs = make([]Record, 0, min(2*cap(recs)+64, decodeBlock))
			}
			recs = append(recs, Record{})
			rec := &recs[len(recs)-1]
			var fe *FieldError
			if !parseRecordFast(b, rec) {
				*rec = Record{}
				fe = ParseRecordJSON([]byte(b), rec)
			}
			keep := false
			if fe != nil {
				fail(&LineError{Line: line, Field: fe.Field, Message: fe.Message})
			} else {
				rec.Normalize()
				if fe := rec.Validate(c, now); fe != nil {
					fail(&LineError{Line: line, Field: fe.Field, Message: fe.Message})
				} else if why := refused(refuse, rec); why != "" {
					fail(&LineError{Line: line, Field: "sku", Message: why})
				} else if nbad == 0 {
					if n >= max {
						return &usage.Error{Kind: usage.KindTooLarge,
							Message: fmt.Sprintf("A batch may hold at most %d records; split the file into smaller batches", max)}
					}
					keep = true
					n++
				}
			}
			if !keep {
				recs = recs[:len(recs)-1]
			}
		}
		return nil
	}
	carry := "" // the start of a line the segment before cut
	for {
		var seg strings.Builder
		seg.Grow(len(carry) + decodeSegment)
		seg.WriteString(carry)
		err := readSegment(&seg, br, decodeSegment)
		text := seg.String()
		switch {
		case err == io.EOF:
			if err := lines(text); err != nil {
				return nil, err
			}
		case err != nil:
			// The lines read whole before the error are decoded, as a
			// reader going line by line would have (a batch over max
			// answers so); a partial last line is not a line.
			if nl := strings.LastIndexByte(text, '\n'); nl >= 0 {
				if err := lines(text[:nl+1]); err != nil {
					return nil, err
				}
			}
			return nil, readError(err)
		default:
			nl := strings.LastIndexByte(text, '\n')
			if nl < 0 {
				// No newline in a segment's worth: the line is longer
				// than MaxLineBytes; the rest of it is skipped.
				line++
				tooLong()
				_, err := br.ReadSlice('\n')
				for errors.Is(err, bufio.ErrBufferFull) {
					_, err = br.ReadSlice('\n')
				}
				if err != nil && err != io.EOF {
					return nil, readError(err)
				}
				carry = ""
				if err == io.EOF {
					break
				}
				continue
			}
			if err := lines(text[:nl+1]); err != nil {
				return nil, err
			}
			carry = text[nl+1:]
			continue
		}
		break
	}
	if nbad > 0 {
		return nil, lineErrors(bad, nbad)
	}
	if len(blocks) == 0 {
		return recs, nil
	}
	out := make([]Record, 0, n)
	for _, b := range blocks {
		out = append(out, b...)
	}
	return append(out, recs...), nil
}

// decodeBlock is how many records a block of decodeAll holds at most.
const decodeBlock = 4096

// readSegment appends up to n bytes of br to seg straight from br's
// buffer; the error is io.EOF when br ended before n bytes.
func readSegment(seg *strings.Builder, br *bufio.Reader, n int) error {
	for n > 0 {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				return err
			}
		}
		p, _ := br.Peek(min(br.Buffered(), n))
		seg.Write(p)
		br.Discard(len(p))
		n -= len(p)
	}
	return nil
}

// decodeSegment is how many bytes decodeAll reads at a time (more than
// MaxLineBytes: a segment without a newline is a line too long).
const decodeSegment = 1 << 20

func refused(refuse func(*Record) string, r *Record) string {
	if refuse == nil {
		return ""
	}
	return refuse(r)
}

func readError(err error) error {
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &usage.Error{Kind: usage.KindBadRequest, Message: "Problems parsing the request body: " + err.Error(), Err: err}
	}
	return err
}

func lineErrors(bad []*LineError, total int) *usage.Error {
	e := &usage.Error{Kind: usage.KindInvalid,
		Message: fmt.Sprintf("Validation Failed: %d invalid line(s); nothing in this batch was recorded", total)}
	for _, le := range bad {
		field := fmt.Sprintf("line %d", le.Line)
		if le.Field != "" {
			field += ": " + le.Field
		}
		e.Fields = append(e.Fields, usage.FieldError{Resource: "BillingUsageRecord", Field: field, Code: "invalid", Message: le.Error()})
	}
	return e
}

// parseRecordFast decodes the common shape of a record line without
// encoding/json: one flat object whose keys are exactly the record's
// field names, strings without escapes or non-ASCII bytes, a plain
// decimal quantity, true or false for public. It reports false (r then
// holds garbage) for anything else, valid or not, and ParseRecordJSON
// decides: the answer, and every error message, are the same either way.
func parseRecordFast(line string, r *Record) bool {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return false
	}
	i = skipSpace(line, i+1)
	if i < len(line) && line[i] == '}' {
		return false // an empty object: let the full decoder say what is missing
	}
	var ts, qty string
	var haveQty bool
	for {
		key, j, ok := fastString(line, i)
		if !ok {
			return false
		}
		i = skipSpace(line, j)
		if i >= len(line) || line[i] != ':' {
			return false
		}
		i = skipSpace(line, i+1)
		if i >= len(line) {
			return false
		}
		switch key {
		case "quantity":
			j = i
			if j < len(line) && line[j] == '-' {
				j++
			}
			for j < len(line) && (line[j] >= '0' && line[j] <= '9' || line[j] == '.') {
				j++
			}
			qty, haveQty, i = line[i:j], true, j
		case "public":
			switch {
			case strings.HasPrefix(line[i:], "true"):
				r.Public, i = true, i+4
			case strings.HasPrefix(line[i:], "false"):
				r.Public, i = false, i+5
			default:
				return false
			}
		default:
			v, j, ok := fastString(line, i)
			if !ok {
				return false
			}
			i = j
			switch key {
			case "id":
				r.ID = v
			case "timestamp":
				ts = v
			case "product":
				r.Product = v
			case "sku":
				r.SKU = v
			case "unit":
				r.Unit = v
			case "enterprise":
				r.Enterprise = v
			case "organization":
				r.Organization = v
			case "repository":
				r.Repository = v
			case "username":
				r.Username = v
			case "workflow_path":
				r.WorkflowPath = v
			case "model":
				r.Model = v
			default:
				return false
			}
		}
		i = skipSpace(line, i)
		if i >= len(line) {
			return false
		}
		if line[i] == '}' {
			break
		}
		if line[i] != ',' {
			return false
		}
		i = skipSpace(line, i+1)
	}
	if skipSpace(line, i+1) != len(line) || !haveQty || !plainDecimal(qty) {
		return false
	}
	q, ok := parsePlainDecimal(qty)
	if !ok {
		return false
	}
	r.Quantity = Quantity(q)
	if ts != "" {
		t, ok := parseTimeZ(ts)
		if !ok {
			var err error
			if t, err = ParseTime(ts); err != nil {
				return false
			}
		}
		r.Timestamp = t
	}
	return true
}

// parseTimeZ is ParseTime for the common form 2026-01-15T10:00:00Z with
// every field in range; ok is false for anything else (ParseTime decides).
func parseTimeZ(s string) (t time.Time, ok bool) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 28 && d > NewDate(y, time.Month(mo), 1).DaysInMonth() || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC), true
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// fastString reads a JSON string at s[i] that has no escapes, control
// characters or non-ASCII bytes; it returns its text and the index after it.
func fastString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	j := strings.IndexByte(s[i+1:], '"')
	if j < 0 {
		return "", 0, false
	}
	v := s[i+1 : i+1+j]
	for k := 0; k < len(v); k++ {
		if c := v[k]; c == '\\' || c < 0x20 || c >= 0x80 {
			return "", 0, false
		}
	}
	return v, i + 2 + j, true
}

// plainDecimal reports whether s is a JSON number without exponent:
// -?(0|[1-9][0-9]*)(.[0-9]+)?
func plainDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return false
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' || i+1 == len(s) {
		return false
	}
	for i++; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parsePlainDecimal is ParseDecimal for a plainDecimal of at most Scale
// decimal places that fits: ok is false otherwise (ParseDecimal then
// gives the error, or the value).
func parsePlainDecimal(s string) (int64, bool) {
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	ip, fp, _ := strings.Cut(s, ".")
	if len(fp) > Scale || len(ip) > 10 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(ip); i++ {
		v = v*10 + uint64(ip[i]-'0')
	}
	for i := 0; i < Scale; i++ {
		v *= 10
		if i < len(fp) {
			v += uint64(fp[i] - '0')
		}
	}
	if v > 1<<63-1 {
		return 0, false
	}
	if neg {
		return -int64(v), true
	}
	return int64(v), true
}
