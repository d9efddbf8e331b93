package sqlite

import (
	"testing"

	"github.com/ghusage/ghusage/internal/insights"
)

// TestMergeLists checks insights_merge adds the counts of refs in both
// lists and keeps the others, as decoding, summing and encoding would.
func TestMergeLists(t *testing.T) {
	const bucket = 1_700_000_000
	a := []entry{{Ref: 1, Counts: insights.Counts{Total: 2, Last: bucket + 5}}, {Ref: 4, Counts: insights.Counts{Total: 1, RateLimited: 1, Last: bucket + 9, LastRateLimited: bucket + 9}}}
	b := []entry{{Ref: 2, Counts: insights.Counts{Total: 7, Last: bucket + 1}}, {Ref: 4, Counts: insights.Counts{Total: 3, Last: bucket + 30}}, {Ref: 9, Counts: insights.Counts{Total: 1, Last: bucket}}}
	got, err := mergeLists(encodeEntries(nil, a, bucket), encodeEntries(nil, b, bucket), bucket)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]insights.Counts{
		1: {Total: 2, Last: bucket + 5},
		2: {Total: 7, Last: bucket + 1},
		4: {Total: 4, RateLimited: 1, Last: bucket + 30, LastRateLimited: bucket + 9},
		9: {Total: 1, Last: bucket},
	}
	n := 0
	if err := decodeEntries(got, bucket, func(ref int64, c insights.Counts) {
		n++
		if want[ref] != c {
			t.Errorf("ref %d: %+v, want %+v", ref, c, want[ref])
		}
	}); err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Errorf("%d entries, want %d", n, len(want))
	}
	if _, err := mergeLists([]byte{0x80}, nil, bucket); err == nil {
		t.Error("a corrupt list merged without error")
	}
}
