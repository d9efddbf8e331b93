package serverstats

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ghusage/ghusage/internal/usage"
)

// Upload limits.
const (
	// MaxUploadItems bounds the snapshots of one upload (ten servers for
	// a year and then some).
	MaxUploadItems = 10_000
	// MaxUploadBytes bounds an upload body, after gzip decompression.
	MaxUploadBytes = 64 << 20
	// maxFieldErrors bounds the field errors one answer lists.
	maxFieldErrors = 20
	maxStringLen   = 1024
	maxArrayLen    = 1024
)

// DecodeUpload reads the documents GHES produces: one server-statistics
// item, an array of them, or several of either one after another (NDJSON
// included), gzip-compressed or not. Every item is validated; the first
// invalid ones are reported together as one 422 whose errors name each
// field by its JSON path (ghe_stats.repos.total_repos), with the item's
// position in the message when there are several. Nothing is returned
// unless every item is valid. A collection_date more than a day after now
// is refused.
func DecodeUpload(r io.Reader, now time.Time) ([]Snapshot, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, usage.Errorf(usage.KindBadRequest, "Invalid gzip stream: %v", err)
		}
		br = bufio.NewReader(zr)
	}
	limited := &io.LimitedReader{R: br, N: MaxUploadBytes + 1}
	dec := json.NewDecoder(limited)
	var raws []json.RawMessage
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		// The cap first: the limited reader ends in io.EOF, which past
		// the cap is not the upload's end.
		if limited.N <= 0 {
			return nil, usage.Errorf(usage.KindTooLarge, "The upload is larger than %d bytes", MaxUploadBytes)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, parseError(err)
		}
		switch firstByte(raw) {
		case '[':
			var items []json.RawMessage
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, parseError(err)
			}
			raws = append(raws, items...)
		default:
			raws = append(raws, raw)
		}
		if len(raws) > MaxUploadItems {
			return nil, usage.Errorf(usage.KindTooLarge, "An upload holds at most %d snapshots", MaxUploadItems)
		}
	}
	if len(raws) == 0 {
		return nil, usage.Invalid("ServerStatistics", "body", "the upload holds no server-statistics item")
	}
	var errs []usage.FieldError
	out := make([]Snapshot, 0, len(raws))
	for i, raw := range raws {
		prefix := ""
		if len(raws) > 1 {
			prefix = fmt.Sprintf("item %d: ", i+1)
		}
		s, fes := ParseItem(raw, now)
		for _, fe := range fes {
			fe.Message = prefix + fe.Message
			errs = append(errs, fe)
		}
		if len(errs) >= maxFieldErrors {
			errs = errs[:maxFieldErrors]
			break
		}
		out = append(out, s)
	}
	if len(errs) > 0 {
		return nil, &usage.Error{Kind: usage.KindInvalid, Message: "Validation Failed", Fields: errs}
	}
	return out, nil
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func parseError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &usage.Error{Kind: usage.KindBadRequest, Message: fmt.Sprintf("Problems parsing JSON: %v at byte %d", se, se.Offset), Err: err}
	}
	return &usage.Error{Kind: usage.KindBadRequest, Message: "Problems parsing JSON: " + err.Error(), Err: err}
}

// ParseItem validates one server-statistics item and decodes it. It
// returns the field errors, each naming the field's JSON path.
func ParseItem(raw []byte, now time.Time) (Snapshot, []usage.FieldError) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return Snapshot{}, []usage.FieldError{{Resource: "ServerStatistics", Field: "body", Code: "invalid", Message: "not JSON: " + err.Error()}}
	}
	c := &checker{}
	c.value("", v, snapshotType, "", true)
	if len(c.errs) > 0 {
		return Snapshot{}, c.errs
	}
	var s Snapshot
	if err := json.Unmarshal(raw, &s); err != nil { // cannot fail once checked; kept as a guard
		return Snapshot{}, []usage.FieldError{{Resource: "ServerStatistics", Field: "body", Code: "invalid", Message: err.Error()}}
	}
	s.CollectionDate = s.CollectionDate.UTC().Truncate(time.Second)
	if fe := checkServerID(s.ServerID); fe != "" {
		c.fail("server_id", fe)
	}
	if s.CollectionDate.After(now.Add(24 * time.Hour)) {
		c.fail("collection_date", "is more than a day in the future ("+s.CollectionDate.Format(time.RFC3339)+")")
	}
	return s, c.errs
}

// checkServerID allows what GHES uses (a UUID) and other printable ids.
func checkServerID(id string) string {
	if strings.TrimSpace(id) == "" {
		return "must not be empty"
	}
	if len(id) > 128 {
		return "is longer than 128 characters"
	}
	for _, r := range id {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return "may hold only printable characters without spaces"
		}
	}
	return ""
}

var (
	snapshotType = reflect.TypeFor[Snapshot]()
	timeType     = reflect.TypeFor[time.Time]()
	rawType      = reflect.TypeFor[json.RawMessage]()
)

// checker validates a decoded JSON value against the Go type it will be
// decoded into: counts (int64) are non-negative integers, strings are
// strings, sections are objects; a non-pointer count, a time and a string
// without omitempty are required. Unknown fields are ignored (newer GHES
// schema versions may add some).
type checker struct {
	errs []usage.FieldError
}

func (c *checker) fail(path, msg string) {
	c.errs = append(c.errs, usage.FieldError{Resource: "ServerStatistics", Field: path, Code: "invalid", Message: path + " " + msg})
}

func (c *checker) missing(path string) {
	c.errs = append(c.errs, usage.FieldError{Resource: "ServerStatistics", Field: path, Code: "missing_field", Message: path + " is required"})
}

func (c *checker) value(path string, v any, t reflect.Type, check string, top bool) {
	if len(c.errs) >= maxFieldErrors {
		return
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		s, ok := v.(string)
		if !ok {
			c.fail(path, "must be an RFC 3339 timestamp string, not "+describe(v))
			return
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			c.fail(path, "must be an RFC 3339 timestamp such as 2026-03-14T23:59:59Z, not "+quote(s))
		}
		return
	case t == rawType:
		if _, ok := v.(map[string]any); !ok {
			c.fail(path, "must be an object, not "+describe(v))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			what := "must be an object"
			if top {
				what = "a server-statistics item must be an object"
				c.errs = append(c.errs, usage.FieldError{Resource: "ServerStatistics", Field: "body", Code: "invalid", Message: what + ", not " + describe(v)})
				return
			}
			c.fail(path, what+", not "+describe(v))
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			fv, present := m[name]
			if !present || fv == nil {
				if required(f.Type, opts) {
					c.missing(p)
				}
				continue
			}
			c.value(p, fv, f.Type, f.Tag.Get("check"), false)
		}
	case reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			c.fail(path, "must be a count (a non-negative integer), not "+describe(v))
			return
		}
		x, err := strconv.ParseInt(n.String(), 10, 64)
		switch {
		case err != nil:
			c.fail(path, "must be a count (a non-negative integer), not "+n.String())
		case x < 0:
			c.fail(path, "must not be negative (got "+n.String()+")")
		}
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			c.fail(path, "must be a string, not "+describe(v))
			return
		}
		if len(s) > maxStringLen {
			c.fail(path, fmt.Sprintf("is longer than %d bytes", maxStringLen))
			return
		}
		c.checkString(path, s, check)
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			c.fail(path, "must be true or false, not "+describe(v))
		}
	case reflect.Slice:
		a, ok := v.([]any)
		if !ok {
			c.fail(path, "must be an array, not "+describe(v))
			return
		}
		if len(a) > maxArrayLen {
			c.fail(path, fmt.Sprintf("holds more than %d elements", maxArrayLen))
			return
		}
		for i, e := range a {
			c.value(fmt.Sprintf("%s[%d]", path, i), e, t.Elem(), check, false)
		}
	}
}

func required(t reflect.Type, opts string) bool {
	if t == timeType {
		return true
	}
	switch t.Kind() {
	case reflect.Int64:
		return true
	case reflect.String:
		return !strings.Contains(opts, "omitempty")
	}
	return false
}

func (c *checker) checkString(path, s, check string) {
	switch {
	case strings.HasPrefix(check, "enum:"):
		allowed := strings.Split(strings.TrimPrefix(check, "enum:"), ",")
		for _, a := range allowed {
			if s == a {
				return
			}
		}
		c.fail(path, "must be one of "+strings.Join(allowed, ", ")+", not "+quote(s))
	case check == "percentage":
		x, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
		if err != nil || x < 0 || x > 100 {
			c.fail(path, "must be a percentage from 0 to 100 (a string such as \"42.5\"), not "+quote(s))
		}
	}
}

// describe names a decoded JSON value's type for messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string (" + quote(x) + ")"
	case json.Number:
		return "a number (" + x.String() + ")"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
