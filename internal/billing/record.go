package billing

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AccountKind is the kind of a billing account.
type AccountKind string

// Billing account kinds.
const (
	KindEnterprise   AccountKind = "enterprise"
	KindOrganization AccountKind = "organization"
	KindUser         AccountKind = "user"
)

// Account is the account usage is billed to: an enterprise (by slug), an
// organization that belongs to no enterprise, or a personal account.
// Login is lower case.
type Account struct {
	Kind  AccountKind
	Login string
}

// Key is the account's stored key, "enterprise:acme", "organization:acme-web"
// or "user:mona".
func (a Account) Key() string { return string(a.Kind) + ":" + a.Login }

// ParseAccountKey parses Key's form.
func ParseAccountKey(s string) (Account, error) {
	k, login, ok := strings.Cut(strings.ToLower(s), ":")
	a := Account{AccountKind(k), login}
	if !ok || (a.Kind != KindEnterprise && a.Kind != KindOrganization && a.Kind != KindUser) || !validLogin(login) {
		return Account{}, fmt.Errorf("must be enterprise:SLUG, organization:LOGIN or user:LOGIN")
	}
	return a, nil
}

// Record is one usage fact of the ledger: a quantity of a SKU at a time,
// attributed to an enterprise, organization, repository and user. Records
// are never edited; a correction is a new record. ID makes ingestion
// idempotent: a record whose ID was recorded before is skipped.
//
// Quantities are exact (see Quantity); minutes are whole (GitHub rounds
// each job up to the minute). Storage is reported as gigabyte-hours accrued
// in the hour holding Timestamp.
type Record struct {
	ID           string    `json:"id"`
	Timestamp    time.Time `json:"timestamp"`
	Product      string    `json:"product"` // product id (actions, packages, copilot…); must be the SKU's
	SKU          string    `json:"sku"`     // SKU id (actions_linux, packages_storage…)
	Quantity     Quantity  `json:"quantity"`
	Unit         string    `json:"unit"` // must be the SKU's unit
	Enterprise   string    `json:"enterprise,omitempty"`
	Organization string    `json:"organization,omitempty"`
	Repository   string    `json:"repository,omitempty"` // owner/name
	Username     string    `json:"username,omitempty"`   // who used it (the Copilot user, the actor of a workflow)
	WorkflowPath string    `json:"workflow_path,omitempty"`
	Model        string    `json:"model,omitempty"` // AI model of premium requests and credits
	// Public marks usage in a public repository, free for SKUs so marked.
	Public bool `json:"public,omitempty"`
}

// Limits on record fields.
const (
	MaxIDLength   = 128
	MaxNameLength = 255
	// MaxFutureSkew is how far ahead of the server clock a record may be.
	MaxFutureSkew = time.Hour
)

// FieldError names the field of a record that is invalid and why.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Normalize lower-cases the fields compared case-insensitively (logins,
// repository, product and SKU ids) and moves the time to UTC.
func (r *Record) Normalize() {
	r.Product = strings.ToLower(r.Product)
	r.SKU = strings.ToLower(r.SKU)
	r.Enterprise = strings.ToLower(r.Enterprise)
	r.Organization = strings.ToLower(r.Organization)
	r.Repository = strings.ToLower(r.Repository)
	r.Username = strings.ToLower(r.Username)
	r.Timestamp = r.Timestamp.UTC()
}

// Validate checks r against the catalogue; now bounds future timestamps.
func (r *Record) Validate(c *Catalog, now time.Time) *FieldError {
	bad := func(field, format string, args ...any) *FieldError {
		return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case r.ID == "":
		return bad("id", "is required: a unique id per record makes re-sending a batch safe")
	case len(r.ID) > MaxIDLength:
		return bad("id", "is longer than %d characters", MaxIDLength)
	case r.Timestamp.IsZero():
		return bad("timestamp", "is required (ISO 8601, e.g. 2026-01-15T10:00:00Z)")
	case r.Timestamp.Year() < 2000:
		return bad("timestamp", "is before 2000")
	case r.Timestamp.After(now.Add(MaxFutureSkew)):
		return bad("timestamp", "is more than %s in the future", MaxFutureSkew)
	}
	if r.Product == "" {
		return bad("product", "is required")
	}
	if _, ok := productNames[r.Product]; !ok {
		return bad("product", "is not a known product (actions, packages, git_lfs, codespaces, copilot, ghas, ghec, models, spark)")
	}
	sku := c.SKU(r.SKU)
	switch {
	case r.SKU == "":
		return bad("sku", "is required")
	case sku == nil:
		return bad("sku", "is not a SKU of the price catalogue")
	case sku.Product != r.Product:
		return bad("product", "is %q but SKU %s belongs to %q", r.Product, r.SKU, sku.Product)
	case r.Unit != sku.Unit:
		return bad("unit", "must be %q for SKU %s", sku.Unit, r.SKU)
	case r.Quantity < 0:
		return bad("quantity", "must not be negative (a correction is a new record of its own)")
	case sku.Unit == UnitMinutes && !r.Quantity.Whole():
		return bad("quantity", "must be a whole number of minutes (each job is rounded up to the minute)")
	case r.Enterprise != "" && !validLogin(r.Enterprise):
		return bad("enterprise", "must be an enterprise slug")
	case r.Organization != "" && !validLogin(r.Organization):
		return bad("organization", "must be an organization login")
	case r.Username != "" && !validLogin(r.Username):
		return bad("username", "must be a user login")
	case r.Repository != "" && !validRepo(r.Repository):
		return bad("repository", "must be owner/name")
	case r.Enterprise == "" && r.Organization == "" && r.Repository == "" && r.Username == "":
		return bad("organization", "one of enterprise, organization, repository or username is required to know who pays")
	case len(r.WorkflowPath) > 1024:
		return bad("workflow_path", "is longer than 1024 characters")
	case len(r.Model) > MaxNameLength:
		return bad("model", "is longer than %d characters", MaxNameLength)
	}
	return nil
}

// AccountOf returns the account a record is billed to: its enterprise,
// else its organization, else the owner of its repository, else its user.
func AccountOf(r *Record) Account {
	switch {
	case r.Enterprise != "":
		return Account{KindEnterprise, r.Enterprise}
	case r.Organization != "":
		return Account{KindOrganization, r.Organization}
	case r.Repository != "":
		owner, _, _ := strings.Cut(r.Repository, "/")
		return Account{KindUser, owner}
	}
	return Account{KindUser, r.Username}
}

func validLogin(s string) bool {
	if s == "" || len(s) > 39 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validRepo(s string) bool {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || !validLogin(owner) || name == "" || len(name) > 100 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Record chunks: stores keep the records of one batch, account and UTC
// hour as one text value, a line per record of the tab-separated fields
//
//	id, timestamp (Unix nanoseconds), product, sku, quantity (billionths),
//	unit, enterprise, organization, repository, username, workflow path,
//	model, public (0|1)
//
// with tab, newline and backslash escaped as \t, \n and \\ (PackModel),
// and the ids apart for deduplication; the chunks are read only by report
// exports (BillingRecords). Both stores' migrations build chunks from
// their former record tables with SQL string functions.

// AppendRecordLine appends r's chunk line (without a newline).
func AppendRecordLine(b []byte, r *Record) []byte {
	b = appendField(b, r.ID)
	b = append(b, '\t')
	b = strconv.AppendInt(b, r.Timestamp.UnixNano(), 10)
	b = append(b, '\t')
	b = appendField(b, r.Product)
	b = append(b, '\t')
	b = appendField(b, r.SKU)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(r.Quantity), 10)
	for _, f := range [...]string{r.Unit, r.Enterprise, r.Organization, r.Repository, r.Username, r.WorkflowPath, r.Model} {
		b = append(b, '\t')
		b = appendField(b, f)
	}
	if r.Public {
		return append(b, "\t1"...)
	}
	return append(b, "\t0"...)
}

// appendField appends PackModel(f) to b.
func appendField(b []byte, f string) []byte {
	for i := 0; i < len(f); i++ {
		if c := f[i]; c == '\t' || c == '\n' || c == '\\' {
			return append(b, PackModel(f)...)
		}
	}
	return append(b, f...)
}

// ParseRecordLine parses a chunk line into r; r's strings share line's memory.
func ParseRecordLine(line string, r *Record) error {
	var f [13]string
	n := 0
	for ; n < 12; n++ {
		t := strings.IndexByte(line, '\t')
		if t < 0 {
			return fmt.Errorf("billing: corrupt record chunk line (%d fields)", n+1)
		}
		f[n], line = line[:t], line[t+1:]
	}
	f[12] = line
	ts, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return fmt.Errorf("billing: corrupt record chunk timestamp %q", f[1])
	}
	q, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil {
		return fmt.Errorf("billing: corrupt record chunk quantity %q", f[4])
	}
	*r = Record{ID: unpackModel(f[0]), Timestamp: time.Unix(0, ts).UTC(), Product: unpackModel(f[2]), SKU: unpackModel(f[3]),
		Quantity: Quantity(q), Unit: unpackModel(f[5]), Enterprise: unpackModel(f[6]), Organization: unpackModel(f[7]),
		Repository: unpackModel(f[8]), Username: unpackModel(f[9]), WorkflowPath: unpackModel(f[10]), Model: unpackModel(f[11]),
		Public: f[12] == "1"}
	return nil
}

// RecordChunk is the chunk lines of the records of one account and UTC
// hour (so that reading the records of an hour, as cost-center
// attribution does for an hour a membership changed in, reads no more).
type RecordChunk struct {
	Account string
	Hour    time.Time
	Data    string
}

// ChunkRecords groups records by account and UTC hour into chunks, sorted
// by account and hour. Records mostly come in time order, so the chunk of
// the record before is tried first. A first pass gives each record its
// chunk and sizes the chunks, so each is written once into a buffer of
// its size and handed over without a copy.
func ChunkRecords(recs []Record) []RecordChunk {
	type key struct {
		acct string
		hour int64
	}
	idx := map[key]int{}
	var keys []key
	var sizes []int
	of := make([]int32, len(recs))
	var lastAcct Account
	acctKey := ""
	last := -1
	for i := range recs {
		r := &recs[i]
		if a := AccountOf(r); a != lastAcct || acctKey == "" {
			lastAcct, acctKey, last = a, a.Key(), -1
		}
		sec := r.Timestamp.Unix()
		hour := sec - ((sec%3600)+3600)%3600
		if last < 0 || keys[last].hour != hour {
			k := key{acctKey, hour}
			j, ok := idx[k]
			if !ok {
				j = len(keys)
				idx[k] = j
				keys = append(keys, k)
				sizes = append(sizes, 0)
			}
			last = j
		}
		of[i] = int32(last)
		sizes[last] += recordLineSize(r) + 1
	}
	bufs := make([]strings.Builder, len(keys))
	for j := range bufs {
		bufs[j].Grow(sizes[j])
	}
	var line []byte
	for i := range recs {
		b := &bufs[of[i]]
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		line = AppendRecordLine(line[:0], &recs[i])
		b.Write(line)
	}
	out := make([]RecordChunk, len(bufs))
	for j, k := range keys {
		out[j] = RecordChunk{k.acct, time.Unix(k.hour, 0).UTC(), bufs[j].String()}
	}
	slices.SortFunc(out, func(a, b RecordChunk) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), a.Hour.Compare(b.Hour))
	})
	return out
}

// recordLineSize is at least the length of r's chunk line when no field
// needs escaping (a line that does is longer, and its buffer grows).
func recordLineSize(r *Record) int {
	return len(r.ID) + len(r.Product) + len(r.SKU) + len(r.Unit) + len(r.Enterprise) + len(r.Organization) +
		len(r.Repository) + len(r.Username) + len(r.WorkflowPath) + len(r.Model) + 12 + 2*20 + 1
}

// RecordsOfHour calls fn, in timestamp then id order, with the records of
// one account-hour's chunks that are in q's range and match its filters.
func RecordsOfHour(chunks []string, q *Query, fn func(*Record) error) error {
	n := 0
	for _, c := range chunks {
		n += strings.Count(c, "\n") + 1
	}
	recs := make([]Record, 0, n)
	for _, c := range chunks {
		for rest := c; rest != ""; {
			var l string
			l, rest, _ = strings.Cut(rest, "\n")
			if l == "" {
				continue
			}
			var r Record
			if err := ParseRecordLine(l, &r); err != nil {
				return err
			}
			k := Row{SKU: r.SKU, Organization: r.Organization, Repository: r.Repository, Username: r.Username, Model: r.Model}
			if !r.Timestamp.Before(q.From) && r.Timestamp.Before(q.To) && q.matches(r.Product, &k) {
				recs = append(recs, r)
			}
		}
	}
	slices.SortFunc(recs, func(a, b Record) int { return cmp.Or(a.Timestamp.Compare(b.Timestamp), strings.Compare(a.ID, b.ID)) })
	for i := range recs {
		if err := fn(&recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// IDKey is the key both stores deduplicate record ids by: the id with its
// trailing run of ASCII digits taken apart,
//
//	hex2(len(prefix)) prefix hex2(len(digits)) digits
//
// (hex2 is two lower-case hex digits; ids are at most MaxIDLength bytes).
// It is one-to-one (the lengths say where each part ends), so
// deduplicating by key is deduplicating by id, and it orders the ids of a
// counter scheme ("usage-9", "usage-10", …) by number within their prefix:
// a batch of consecutive ids goes into the stores' key index as a run at
// its right edge instead of scattered over it (in text order "usage-10"
// sorts between "usage-1" and "usage-2"). Time-ordered ids (ULIDs, UUIDv7)
// keep their order within a prefix length. Migrations rebuild the key
// tables of older databases with the same rule in SQL (billing_id_key).
func IDKey(id string) string { return string(appendIDKey(make([]byte, 0, len(id)+4), id)) }

// appendIDKey appends id's IDKey to b.
func appendIDKey(b []byte, id string) []byte {
	n := len(id)
	for n > 0 && id[n-1] >= '0' && id[n-1] <= '9' {
		n--
	}
	const hex = "0123456789abcdef"
	b = append(b, hex[n>>4&15], hex[n&15])
	b = append(b, id[:n]...)
	d := len(id) - n
	b = append(b, hex[d>>4&15], hex[d&15])
	return append(b, id[n:]...)
}

// BatchKeys returns the records of a batch less the repeats of an id
// within it (the first is kept), in batch order, and their IDKeys in the
// same order: what stores deduplicate against the ledger.
func BatchKeys(recs []Record) (keys []string, fresh []Record) {
	keys, _, fresh = SortedBatchKeys(recs)
	return keys, fresh
}

// SortedBatchKeys is BatchKeys that also returns the keys in key order
// (bytewise), as stores insert them. The keys share one allocation.
func SortedBatchKeys(recs []Record) (keys, sorted []string, fresh []Record) {
	size := 0
	for i := range recs {
		size += len(recs[i].ID) + 4
	}
	var arena strings.Builder
	arena.Grow(size)
	ends := make([]int32, len(recs))
	var kb []byte
	for i := range recs {
		kb = appendIDKey(kb[:0], recs[i].ID)
		arena.Write(kb)
		ends[i] = int32(arena.Len())
	}
	all := arena.String()
	keys = make([]string, len(recs))
	order := make([]int32, len(recs))
	lo := int32(0)
	for i := range recs {
		keys[i], order[i], lo = all[lo:ends[i]], int32(i), ends[i]
	}
	if !slices.IsSortedFunc(order, func(a, b int32) int { return strings.Compare(keys[a], keys[b]) }) {
		slices.SortFunc(order, func(a, b int32) int { return cmp.Or(strings.Compare(keys[a], keys[b]), cmp.Compare(a, b)) })
	}
	var repeat []bool
	for j := 1; j < len(order); j++ {
		if keys[order[j]] == keys[order[j-1]] {
			if repeat == nil {
				repeat = make([]bool, len(recs))
			}
			repeat[order[j]] = true
		}
	}
	sorted = make([]string, 0, len(recs))
	for _, i := range order {
		if repeat == nil || !repeat[i] {
			sorted = append(sorted, keys[i])
		}
	}
	if repeat == nil {
		return keys, sorted, recs
	}
	out := keys[:0]
	for i := range recs {
		if !repeat[i] {
			out = append(out, keys[i])
			fresh = append(fresh, recs[i])
		}
	}
	return out, sorted, fresh
}
