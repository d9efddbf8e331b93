package billing

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RowDelta is a row of an account (by Account.Key) at one level: the key
// CompareRowDelta orders rows by.
type RowDelta struct {
	Account string
	Level   Level
	Row
}

// DayDelta is what a batch adds to an account's total of one SKU, day and
// public flag.
type DayDelta struct {
	Account string
	DayTotal
}

// CompareRowDelta orders deltas by their stored key.
func CompareRowDelta(a, b RowDelta) int {
	return cmp.Or(strings.Compare(a.Account, b.Account), cmp.Compare(a.Level, b.Level), a.Bucket.Compare(b.Bucket),
		strings.Compare(a.SKU, b.SKU), strings.Compare(a.Organization, b.Organization), strings.Compare(a.Repository, b.Repository),
		strings.Compare(a.Username, b.Username), strings.Compare(a.Model, b.Model), cmpBool(a.Public, b.Public))
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// Row packs: stores keep the rows of one account, level and bucket as one
// text value, a line per row of tab-separated fields
//
//	sku \t organization \t repository \t username \t model \t public (0|1) \t quantity
//
// so a month of day rows is some thirty values to read, whatever the
// number of rows. Only the model may hold a tab, newline or backslash (the
// other fields are logins, owner/name and SKU ids); PackModel escapes them
// as \t, \n and \\. The lines are in no particular order. Both stores'
// migrations build packs from their former row tables with SQL string
// functions, so the format stays this plain.

// PackModel escapes a model name (or any field) for a pack line.
func PackModel(m string) string {
	i := 0
	for i < len(m) && m[i] != '\t' && m[i] != '\n' && m[i] != '\\' {
		i++
	}
	if i == len(m) {
		return m
	}
	return strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`).Replace(m)
}

func unpackModel(m string) string {
	if !strings.Contains(m, `\`) {
		return m
	}
	var b strings.Builder
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c == '\\' && i+1 < len(m) {
			i++
			switch m[i] {
			case 't':
				c = '\t'
			case 'n':
				c = '\n'
			default:
				c = m[i]
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// appendPackKey appends a row's key fields (all but the quantity) as a
// pack line holds them, without the trailing tab.
func appendPackKey(b []byte, r *Row) []byte {
	b = append(b, r.SKU...)
	b = append(b, '\t')
	b = append(b, r.Organization...)
	b = append(b, '\t')
	b = append(b, r.Repository...)
	b = append(b, '\t')
	b = append(b, r.Username...)
	b = append(b, '\t')
	b = append(b, PackModel(r.Model)...)
	if r.Public {
		return append(b, "\t1"...)
	}
	return append(b, "\t0"...)
}

// LineDelta is what a batch adds to one line of a pack: Key is the line
// without its quantity (see appendPackKey).
type LineDelta struct {
	Key      string
	Quantity Quantity
}

// PackDelta is what a batch adds to the pack of one account (by
// Account.Key), level and bucket.
type PackDelta struct {
	Account string
	Level   Level
	Bucket  time.Time
	Lines   []LineDelta
}

// AggregatePacks sums records into the pack deltas (sorted by account,
// level and bucket, so concurrent writers lock packs in the same order)
// and the day-total deltas (sorted by key) both stores add at ingest.
// Each record adds to its hour's and its day's pack, at RowOf's key.
func AggregatePacks(recs []Record) ([]PackDelta, []DayDelta) {
	type packKey struct {
		acct   string
		lvl    Level
		bucket int64
	}
	type acc struct {
		d   PackDelta
		idx map[string]int
	}
	packs := map[packKey]*acc{}
	type dayKey struct {
		acct   string
		day    int64
		sku    string
		public bool
	}
	days := map[dayKey]Quantity{}
	var lastAcct Account
	var acctKey string
	var last [2]*acc
	var kb []byte
	for i := range recs {
		r := &recs[i]
		if a := AccountOf(r); a != lastAcct || acctKey == "" {
			lastAcct, acctKey = a, a.Key()
			last = [2]*acc{}
		}
		row := Row{SKU: r.SKU, Organization: r.Organization, Repository: r.Repository, Public: r.Public}
		if PerUser(r.Unit) {
			row.Username, row.Model = r.Username, r.Model
		}
		kb = appendPackKey(kb[:0], &row)
		key := ""
		sec := r.Timestamp.Unix()
		hour := sec - ((sec%3600)+3600)%3600
		day := sec - ((sec%86400)+86400)%86400
		for l, bucket := range [2]int64{hour, day} {
			a := last[l]
			if a == nil || a.d.Bucket.Unix() != bucket {
				k := packKey{acctKey, Level(l), bucket}
				if a = packs[k]; a == nil {
					a = &acc{d: PackDelta{Account: acctKey, Level: Level(l), Bucket: time.Unix(bucket, 0).UTC()}, idx: map[string]int{}}
					packs[k] = a
				}
				last[l] = a
			}
			if j, ok := a.idx[string(kb)]; ok {
				a.d.Lines[j].Quantity += r.Quantity
				continue
			}
			if key == "" {
				key = string(kb)
			}
			a.idx[key] = len(a.d.Lines)
			a.d.Lines = append(a.d.Lines, LineDelta{key, r.Quantity})
		}
		days[dayKey{acctKey, day, r.SKU, r.Public}] += r.Quantity
	}
	outP := make([]PackDelta, 0, len(packs))
	for _, a := range packs {
		outP = append(outP, a.d)
	}
	slices.SortFunc(outP, func(a, b PackDelta) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), cmp.Compare(a.Level, b.Level), a.Bucket.Compare(b.Bucket))
	})
	outD := make([]DayDelta, 0, len(days))
	for k, q := range days {
		outD = append(outD, DayDelta{k.acct, DayTotal{Day: time.Unix(k.day, 0).UTC(), SKU: k.sku, Public: k.public, Quantity: q}})
	}
	slices.SortFunc(outD, func(a, b DayDelta) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), a.Day.Compare(b.Day), strings.Compare(a.SKU, b.SKU), cmpBool(a.Public, b.Public))
	})
	return outP, outD
}

// MergePack returns pack with the lines added.
func MergePack(pack string, add []LineDelta) (string, error) {
	if pack == "" {
		return encodePack(add), nil
	}
	n := strings.Count(pack, "\n") + 1
	lines := make([]LineDelta, 0, n+len(add))
	idx := make(map[string]int, n+len(add))
	for rest := pack; rest != ""; {
		var l string
		l, rest, _ = strings.Cut(rest, "\n")
		if l == "" {
			continue
		}
		t := strings.LastIndexByte(l, '\t')
		if t < 0 {
			return "", fmt.Errorf("billing: corrupt row pack line %q", l)
		}
		q, err := strconv.ParseInt(l[t+1:], 10, 64)
		if err != nil {
			return "", fmt.Errorf("billing: corrupt row pack line %q", l)
		}
		idx[l[:t]] = len(lines)
		lines = append(lines, LineDelta{l[:t], Quantity(q)})
	}
	for _, d := range add {
		if j, ok := idx[d.Key]; ok {
			lines[j].Quantity += d.Quantity
			continue
		}
		idx[d.Key] = len(lines)
		lines = append(lines, d)
	}
	return encodePack(lines), nil
}

func encodePack(lines []LineDelta) string {
	size := 0
	for _, l := range lines {
		size += len(l.Key) + 21
	}
	out := make([]byte, 0, size)
	for i, l := range lines {
		if i > 0 {
			out = append(out, '\n')
		}
		out = append(out, l.Key...)
		out = append(out, '\t')
		out = strconv.AppendInt(out, int64(l.Quantity), 10)
	}
	return string(out)
}

// UnpackRows appends the rows of a pack of bucket that q's filters select
// (organization, repository, user, SKU or SKUs, model; not the account,
// level or time range, which select packs) to out. The rows' strings share
// the pack's memory.
func UnpackRows(out []Row, bucket time.Time, pack string, q *Query) ([]Row, error) {
	var f [7]string
	for rest := pack; rest != ""; {
		var l string
		l, rest, _ = strings.Cut(rest, "\n")
		if l == "" {
			continue
		}
		n := 0
		for n < 6 {
			t := strings.IndexByte(l, '\t')
			if t < 0 {
				break
			}
			f[n], l = l[:t], l[t+1:]
			n++
		}
		if n != 6 {
			return nil, fmt.Errorf("billing: corrupt row pack line in bucket %s", bucket.Format(time.RFC3339))
		}
		f[6] = l
		r := Row{Bucket: bucket, SKU: f[0], Organization: f[1], Repository: f[2], Username: f[3], Model: f[4], Public: f[5] == "1"}
		if (q.Organization != "" && q.Organization != r.Organization) || (q.Repository != "" && q.Repository != r.Repository) ||
			(q.Username != "" && q.Username != r.Username) || (q.SKU != "" && q.SKU != r.SKU) ||
			(len(q.SKUs) > 0 && !slices.Contains(q.SKUs, r.SKU)) {
			continue
		}
		r.Model = unpackModel(r.Model)
		if q.Model != "" && !strings.EqualFold(q.Model, r.Model) {
			continue
		}
		qty, err := strconv.ParseInt(f[6], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("billing: corrupt row pack quantity %q", f[6])
		}
		r.Quantity = Quantity(qty)
		out = append(out, r)
	}
	return out, nil
}

// Pack is one stored pack: the rows of one bucket.
type Pack struct {
	Bucket time.Time
	Data   string
}

// UnpackAll unpacks the rows of packs that q's filters select (see
// UnpackRows) into one slice sized for them.
func UnpackAll(packs []Pack, q *Query) ([]Row, error) {
	n := 0
	for i := range packs {
		n += strings.Count(packs[i].Data, "\n") + 1
	}
	out := make([]Row, 0, n)
	var err error
	for i := range packs {
		if out, err = UnpackRows(out, packs[i].Bucket, packs[i].Data, q); err != nil {
			return nil, err
		}
	}
	return out, nil
}
