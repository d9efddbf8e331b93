package billing

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestIDKey(t *testing.T) {
	for id, want := range map[string]string{
		"":                               "0000",
		"7":                              "00017",
		"usage-10":                       "06usage-0210",
		"abc":                            "03abc00",
		"a1b22":                          "03a1b0222",
		"日本-12":                          fmt.Sprintf("%02x日本-0212", len("日本-")),
		strings.Repeat("9", MaxIDLength): "0080" + strings.Repeat("9", MaxIDLength),
	} {
		if got := IDKey(id); got != want {
			t.Errorf("IDKey(%q) = %q, want %q", id, got, want)
		}
	}
	// Consecutive counter ids are consecutive keys.
	var keys []string
	for i := 95; i < 1005; i++ {
		keys = append(keys, IDKey(fmt.Sprintf("usage-%d", i)))
	}
	if !slices.IsSorted(keys) {
		t.Error("keys of consecutive counter ids are not in order")
	}
}

// FuzzIDKey checks that IDKey is one-to-one: the key decodes back to the id.
func FuzzIDKey(f *testing.F) {
	for _, s := range []string{"", "1", "a", "bench-123", "0a0", "00", "x-00012"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if len(id) > MaxIDLength {
			return
		}
		if got, ok := decodeIDKey(IDKey(id)); !ok || got != id {
			t.Fatalf("IDKey(%q) = %q decodes to %q, %v", id, IDKey(id), got, ok)
		}
	})
}

func decodeIDKey(k string) (string, bool) {
	if len(k) < 2 {
		return "", false
	}
	n, err := strconv.ParseUint(k[:2], 16, 8)
	if err != nil || len(k) < 2+int(n)+2 {
		return "", false
	}
	p, rest := k[2:2+n], k[2+n:]
	d, err := strconv.ParseUint(rest[:2], 16, 8)
	if err != nil || len(rest)-2 != int(d) {
		return "", false
	}
	return p + rest[2:], true
}

func TestBatchKeys(t *testing.T) {
	recs := []Record{{ID: "b-2"}, {ID: "a"}, {ID: "b-2", Quantity: 5}, {ID: "b-10"}, {ID: "a"}}
	keys, fresh := BatchKeys(recs)
	if len(fresh) != 3 || fresh[0].ID != "b-2" || fresh[0].Quantity != 0 || fresh[1].ID != "a" || fresh[2].ID != "b-10" {
		t.Fatalf("fresh = %+v: want the first of each id, in batch order", fresh)
	}
	for i := range fresh {
		if keys[i] != IDKey(fresh[i].ID) {
			t.Fatalf("keys[%d] = %q, want IDKey(%q)", i, keys[i], fresh[i].ID)
		}
	}
	if _, f := BatchKeys(recs[:2]); &f[0] != &recs[0] {
		t.Fatal("a batch without repeats is not copied")
	}
}

func TestSortedBatchKeys(t *testing.T) {
	for _, ids := range [][]string{{"b-2", "a", "b-2", "b-10", "a"}, {"u-1", "u-2", "u-3", "u-10"}, {"z", "y", "x", "x"}, {}} {
		recs := make([]Record, len(ids))
		for i, id := range ids {
			recs[i].ID = id
		}
		keys, sorted, fresh := SortedBatchKeys(recs)
		wantKeys, wantFresh := BatchKeys(recs)
		if !slices.Equal(keys, wantKeys) || len(fresh) != len(wantFresh) || !slices.Equal(sorted, slices.Sorted(slices.Values(keys))) {
			t.Fatalf("%v: keys %q sorted %q fresh %d", ids, keys, sorted, len(fresh))
		}
	}
}
