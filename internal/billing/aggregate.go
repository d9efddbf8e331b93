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
// Each record adds to its hour's and its day's pack, at RowOf's key, and
// to its day's item pack (LevelItems: the same key without the user).
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
	var last [3]*acc
	var kb, ib []byte
	for i := range recs {
		r := &recs[i]
		if a := AccountOf(r); a != lastAcct || acctKey == "" {
			lastAcct, acctKey = a, a.Key()
			last = [3]*acc{}
		}
		row := Row{SKU: r.SKU, Organization: r.Organization, Repository: r.Repository, Public: r.Public}
		perUser := PerUser(r.Unit)
		if perUser {
			row.Username, row.Model = r.Username, r.Model
		}
		kb = appendPackKey(kb[:0], &row)
		key, ikey := "", ""
		if perUser { // the item line: the same without the user
			row.Username = ""
			ib = appendPackKey(ib[:0], &row)
		}
		sec := r.Timestamp.Unix()
		hour := sec - ((sec%3600)+3600)%3600
		day := sec - ((sec%86400)+86400)%86400
		for l, bucket := range [3]int64{hour, day, day} {
			a := last[l]
			if a == nil || a.d.Bucket.Unix() != bucket {
				k := packKey{acctKey, Level(l), bucket}
				if a = packs[k]; a == nil {
					a = &acc{d: PackDelta{Account: acctKey, Level: Level(l), Bucket: time.Unix(bucket, 0).UTC()}, idx: map[string]int{}}
					packs[k] = a
				}
				last[l] = a
			}
			b, ks := kb, &key
			if Level(l) == LevelItems && perUser {
				b, ks = ib, &ikey
			}
			if j, ok := a.idx[string(b)]; ok {
				a.d.Lines[j].Quantity += r.Quantity
				continue
			}
			if *ks == "" {
				*ks = string(b)
			}
			a.idx[*ks] = len(a.d.Lines)
			a.d.Lines = append(a.d.Lines, LineDelta{*ks, r.Quantity})
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

// MergePack returns the pack of d's level with d's lines added. Item
// packs (LevelItems) keep their lines sorted by key (bytewise), so readers
// meet an item's rows together and in the usage endpoint's order; the
// lines of other levels are in no particular order.
func MergePack(pack string, d *PackDelta) (string, error) {
	if d.Level == LevelItems {
		return mergeSorted(pack, d.Lines)
	}
	add := d.Lines
	if pack == "" {
		return encodePack(add), nil
	}
	lines, _, err := packLines(make([]LineDelta, 0, strings.Count(pack, "\n")+1+len(add)), pack)
	if err != nil {
		return "", err
	}
	idx := make(map[string]int, len(lines)+len(add))
	for i, l := range lines {
		idx[l.Key] = i
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

// packLines appends the lines of pack to dst; sorted reports whether
// their keys strictly increase.
func packLines(dst []LineDelta, pack string) (lines []LineDelta, sorted bool, err error) {
	sorted = true
	for rest := pack; rest != ""; {
		var l string
		l, rest, _ = strings.Cut(rest, "\n")
		if l == "" {
			continue
		}
		k, q, err := packLine(l)
		if err != nil {
			return nil, false, err
		}
		if n := len(dst); n > 0 && k <= dst[n-1].Key {
			sorted = false
		}
		dst = append(dst, LineDelta{k, q})
	}
	return dst, sorted, nil
}

// packLine splits a pack line into its key and quantity.
func packLine(l string) (string, Quantity, error) {
	t := strings.LastIndexByte(l, '\t')
	if t < 0 {
		return "", 0, fmt.Errorf("billing: corrupt row pack line %q", l)
	}
	q, err := strconv.ParseInt(l[t+1:], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("billing: corrupt row pack line %q", l)
	}
	return l[:t], Quantity(q), nil
}

// mergeSorted merges the lines add into a sorted pack (a pack whose lines
// are not in order, or hold a key twice, is sorted and summed first) and
// returns it sorted.
func mergeSorted(pack string, add []LineDelta) (string, error) {
	add = slices.Clone(add)
	slices.SortFunc(add, func(a, b LineDelta) int { return strings.Compare(a.Key, b.Key) })
	out := make([]byte, 0, len(pack)+len(add)*64)
	old, sorted, err := packLines(nil, pack)
	if err != nil {
		return "", err
	}
	if !sorted {
		slices.SortStableFunc(old, func(a, b LineDelta) int { return strings.Compare(a.Key, b.Key) })
	}
	line := func(k string, q Quantity) {
		if len(out) > 0 {
			out = append(out, '\n')
		}
		out = append(out, k...)
		out = append(out, '\t')
		out = strconv.AppendInt(out, int64(q), 10)
	}
	i, j := 0, 0
	for i < len(old) || j < len(add) {
		var k string
		switch {
		case j == len(add) || (i < len(old) && old[i].Key <= add[j].Key):
			k = old[i].Key
		default:
			k = add[j].Key
		}
		var q Quantity
		for ; i < len(old) && old[i].Key == k; i++ {
			q += old[i].Quantity
		}
		for ; j < len(add) && add[j].Key == k; j++ {
			q += add[j].Quantity
		}
		line(k, q)
	}
	return string(out), nil
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
	lastSKU, lastKept := "", false // the verdict on the previous line's SKU (lines of a SKU mostly come together)
	for rest := pack; rest != ""; {
		var l string
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
			l, rest = rest[:nl], rest[nl+1:]
		} else {
			l, rest = rest, ""
		}
		if l == "" {
			continue
		}
		// The SKU first: most filters select by it, and a line it rejects
		// is not split further.
		t := strings.IndexByte(l, '\t')
		if t < 0 {
			return nil, fmt.Errorf("billing: corrupt row pack line in bucket %s", bucket.Format(time.RFC3339))
		}
		f[0], l = l[:t], l[t+1:]
		if q.SKU != "" || len(q.SKUs) > 0 {
			if f[0] != lastSKU || lastSKU == "" {
				lastSKU, lastKept = f[0], (q.SKU == "" || q.SKU == f[0]) && (len(q.SKUs) == 0 || slices.Contains(q.SKUs, f[0]))
			}
			if !lastKept {
				continue
			}
		}
		n, skip := 1, false
		for n < 6 {
			t := strings.IndexByte(l, '\t')
			if t < 0 {
				break
			}
			f[n], l = l[:t], l[t+1:]
			// Organization, repository and user filters as soon as their field is split.
			if (n == 1 && q.Organization != "" && q.Organization != f[1]) || (n == 2 && q.Repository != "" && q.Repository != f[2]) ||
				(n == 3 && q.Username != "" && q.Username != f[3]) {
				skip = true
				break
			}
			n++
		}
		if skip {
			continue
		}
		if n != 6 {
			return nil, fmt.Errorf("billing: corrupt row pack line in bucket %s", bucket.Format(time.RFC3339))
		}
		f[6] = l
		r := Row{Bucket: bucket, SKU: f[0], Organization: f[1], Repository: f[2], Username: f[3], Model: unpackModel(f[4]), Public: f[5] == "1"}
		if q.Model != "" && !strings.EqualFold(q.Model, r.Model) {
			continue
		}
		qty, err := parseQty(f[6])
		if err != nil {
			return nil, err
		}
		r.Quantity = qty
		out = append(out, r)
	}
	return out, nil
}

// parseQty parses a pack line's quantity (a decimal int64).
func parseQty(s string) (Quantity, error) {
	if len(s) > 0 && len(s) < 19 {
		var n int64
		neg := s[0] == '-'
		i := 0
		if neg {
			i = 1
		}
		ok := i < len(s)
		for ; i < len(s); i++ {
			c := s[i] - '0'
			if c > 9 {
				ok = false
				break
			}
			n = n*10 + int64(c)
		}
		if ok {
			if neg {
				n = -n
			}
			return Quantity(n), nil
		}
	}
	qty, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("billing: corrupt row pack quantity %q", s)
	}
	return Quantity(qty), nil
}

// ItemPack returns the item pack (LevelItems) of a day pack: its lines
// with the user left out and summed, sorted by key. Migrations build item
// packs from the day packs with it.
func ItemPack(day string) (string, error) {
	lines, _, err := packLines(nil, day)
	if err != nil {
		return "", err
	}
	for i := range lines {
		k := lines[i].Key
		// sku \t org \t repo \t user \t model \t public: empty the user.
		t := 0
		for n := 0; n < 3 && t >= 0; n++ {
			if i := strings.IndexByte(k[t:], '\t'); i >= 0 {
				t += i + 1
			} else {
				t = -1
			}
		}
		if t < 0 {
			return "", fmt.Errorf("billing: corrupt row pack line %q", k)
		}
		if u := strings.IndexByte(k[t:], '\t'); u > 0 {
			lines[i].Key = k[:t] + k[t+u:]
		}
	}
	return mergeSorted("", lines)
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
	if q.Organization != "" || q.Repository != "" || q.Username != "" || q.SKU != "" || len(q.SKUs) > 0 || q.Model != "" {
		n /= 8 // a filter keeps some of the lines
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
