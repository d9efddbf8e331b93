package billing

import (
	"strings"
	"testing"
)

// TestStateCache checks a value is returned only at the state it was kept
// at, a newer state replaces it, and the budget evicts the least recently
// used first and refuses a value over a quarter of it.
func TestStateCache(t *testing.T) {
	c := &StateCache[string]{Max: 400, Size: func(v string) int { return len(v) }}
	c.Put("a", "1", strings.Repeat("a", 50))
	if v, ok := c.Get("a", "1"); !ok || len(v) != 50 {
		t.Fatalf("a at 1: %q %v", v, ok)
	}
	if _, ok := c.Get("a", "2"); ok {
		t.Fatal("a kept at 1 returned at 2")
	}
	c.Put("a", "2", "new")
	if _, ok := c.Get("a", "1"); ok {
		t.Fatal("a at 1 survived a put at 2")
	}
	if v, ok := c.Get("a", "2"); !ok || v != "new" {
		t.Fatalf("a at 2: %q %v", v, ok)
	}
	c.Put("big", "1", strings.Repeat("b", 101))
	if _, ok := c.Get("big", "1"); ok {
		t.Fatal("a value over a quarter of the budget was kept")
	}
	for _, k := range []string{"b", "c", "d", "e"} {
		c.Put(k, "1", strings.Repeat(k, 90))
	}
	c.Get("a", "2") // a is used last, b is the oldest
	c.Put("f", "1", strings.Repeat("f", 90))
	if _, ok := c.Get("b", "1"); ok {
		t.Error("the least recently used value stayed over the budget")
	}
	if _, ok := c.Get("a", "2"); !ok {
		t.Error("a was evicted")
	}
	for _, k := range []string{"c", "d", "e", "f"} {
		if _, ok := c.Get(k, "1"); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
}
