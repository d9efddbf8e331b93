package insights

import (
	"cmp"
	"slices"
)

// MinuteFolder turns the entries of folded five-minute rows (the actor and
// user tables keep one entry per group and minute in each five-minute row,
// the minute being that of the entry's last request) back into minute
// buckets. Add the entries of one row after another, in bucket order;
// Buckets returns the minute buckets with requests, appended to out.
type MinuteFolder struct {
	out  []BucketCounts
	row  int64
	mins [5]BucketCounts
}

// NewMinuteFolder returns a folder appending to out.
func NewMinuteFolder(out []BucketCounts) *MinuteFolder {
	return &MinuteFolder{out: out, row: -1 << 62}
}

// Add counts entry c of the five-minute row starting at bucket.
func (f *MinuteFolder) Add(bucket int64, c Counts) {
	if bucket != f.row {
		f.flush()
		f.row = bucket
	}
	m := Minute.Floor(c.Last)
	b := &f.mins[(m-bucket)/60%5]
	b.Level, b.Bucket = Minute, m
	b.Total += c.Total
	b.RateLimited += c.RateLimited
}

func (f *MinuteFolder) flush() {
	for i := range f.mins {
		if f.mins[i].Total != 0 || f.mins[i].RateLimited != 0 {
			f.out = append(f.out, f.mins[i])
		}
		f.mins[i] = BucketCounts{}
	}
}

// Buckets returns out with the minute buckets added.
func (f *MinuteFolder) Buckets() []BucketCounts {
	f.flush()
	return f.out
}

// SumBuckets sorts rows by bucket and sums the rows of one bucket, in
// place: a bucket may be stored at two levels (rows written before and
// after minutes were folded), and the segments of one answer are
// disjoint, so equal buckets are the same span.
func SumBuckets(rows []BucketCounts) []BucketCounts {
	slices.SortFunc(rows, func(a, b BucketCounts) int { return cmp.Compare(a.Bucket, b.Bucket) })
	out := rows[:0]
	for _, r := range rows {
		if k := len(out) - 1; k >= 0 && out[k].Bucket == r.Bucket {
			out[k].Total += r.Total
			out[k].RateLimited += r.RateLimited
			continue
		}
		out = append(out, r)
	}
	return out
}
