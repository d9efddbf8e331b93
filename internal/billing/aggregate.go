package billing

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RowDelta is what a batch adds to one stored row of an account (by
// Account.Key) at one level; Row.Quantity is the amount to add.
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

// Aggregate sums records into the row and day-total deltas both stores
// add at ingest, each sorted by its key (so concurrent writers lock rows
// in the same order).
func Aggregate(recs []Record) ([]RowDelta, []DayDelta) {
	rows := map[RowDelta]Quantity{}
	days := map[DayDelta]Quantity{}
	for i := range recs {
		r := &recs[i]
		acct := AccountOf(r).Key()
		for _, l := range []Level{LevelHour, LevelDay} {
			k := RowDelta{Account: acct, Level: l, Row: RowOf(r, l)}
			k.Quantity = 0
			rows[k] += r.Quantity
		}
		days[DayDelta{acct, DayTotal{Day: DateOf(r.Timestamp).Time(), SKU: r.SKU, Public: r.Public}}] += r.Quantity
	}
	outR := make([]RowDelta, 0, len(rows))
	for k, q := range rows {
		k.Quantity = q
		outR = append(outR, k)
	}
	slices.SortFunc(outR, CompareRowDelta)
	outD := make([]DayDelta, 0, len(days))
	for k, q := range days {
		k.Quantity = q
		outD = append(outD, k)
	}
	slices.SortFunc(outD, func(a, b DayDelta) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), a.Day.Compare(b.Day), strings.Compare(a.SKU, b.SKU), cmpBool(a.Public, b.Public))
	})
	return outR, outD
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

// PackModel escapes a model name for a pack line.
func PackModel(m string) string {
	if !strings.ContainsAny(m, "\t\n\\") {
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

// MergePack returns pack with the deltas added (the deltas' Row fields
// other than Bucket, their Quantity the amount to add).
func MergePack(pack string, deltas []RowDelta) (string, error) {
	type line struct {
		key string
		qty int64
	}
	n := strings.Count(pack, "\n") + 1
	lines := make([]line, 0, n+len(deltas))
	idx := make(map[string]int, n+len(deltas))
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
		lines = append(lines, line{l[:t], q})
	}
	var kb []byte
	for i := range deltas {
		kb = appendPackKey(kb[:0], &deltas[i].Row)
		if j, ok := idx[string(kb)]; ok {
			lines[j].qty += int64(deltas[i].Quantity)
			continue
		}
		k := string(kb)
		idx[k] = len(lines)
		lines = append(lines, line{k, int64(deltas[i].Quantity)})
	}
	size := 0
	for _, l := range lines {
		size += len(l.key) + 21
	}
	out := make([]byte, 0, size)
	for i, l := range lines {
		if i > 0 {
			out = append(out, '\n')
		}
		out = append(out, l.key...)
		out = append(out, '\t')
		out = strconv.AppendInt(out, l.qty, 10)
	}
	return string(out), nil
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

// PackGroups splits deltas sorted by CompareRowDelta into runs of one
// account, level and bucket: the packs a batch changes, in key order.
func PackGroups(deltas []RowDelta) [][]RowDelta {
	var out [][]RowDelta
	for lo := 0; lo < len(deltas); {
		hi := lo + 1
		for hi < len(deltas) && deltas[hi].Account == deltas[lo].Account && deltas[hi].Level == deltas[lo].Level &&
			deltas[hi].Bucket.Equal(deltas[lo].Bucket) {
			hi++
		}
		out = append(out, deltas[lo:hi])
		lo = hi
	}
	return out
}
