package billing

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// TestParseRecordFastAgrees checks that the fast path either declines a
// line or decodes it exactly as ParseRecordJSON does.
func TestParseRecordFastAgrees(t *testing.T) {
	base := Record{ID: "r-1", Timestamp: time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC), Product: "actions", SKU: "actions_linux",
		Quantity: Units(3), Unit: "minutes", Enterprise: "acme", Organization: "acme-web", Repository: "acme-web/api",
		Username: "mona", WorkflowPath: ".github/workflows/ci.yml", Model: "GPT-5", Public: true}
	good, _ := json.Marshal(base)
	lines := []string{string(good),
		`{"id":"a","timestamp":"2026-01-15T10:00:00.5+02:00","product":"copilot","sku":"copilot_premium_request","quantity":1.25,"unit":"requests","organization":"o"}`,
		`  { "id" : "a" , "quantity" : 0 , "public" : false }  `,
		`{"id":"a","quantity":-0}`, `{"id":"a","quantity":-3.5}`, `{"id":"a","quantity":1e3}`, `{"id":"a","quantity":01}`,
		`{"id":"a","quantity":1.}`, `{"id":"a","quantity":.5}`, `{"id":"a","quantity":"1"}`, `{"id":"a","quantity":null}`,
		`{"id":"a","quantity":0.0000000001}`, `{"id":"a","quantity":9223372036.854775807}`, `{"id":"a","quantity":9223372036.854775808}`,
		`{"id":"a","quantity":99999999999}`, `{"id":"a"}`, `{}`, `{"ID":"a","quantity":1}`, `{"id":"a","quantity":1,"extra":1}`,
		`{"id":"a\"b","quantity":1}`, `{"id":"é","quantity":1}`, "{\"id\":\"\xff\",\"quantity\":1}", `{"id":5,"quantity":1}`,
		`{"id":"a","quantity":1,"public":"true"}`, `{"id":"a","quantity":1,"public":null}`, `{"id":"a","quantity":1} {}`,
		`{"id":"a","quantity":1,}`, `{"id":"a","quantity":1`, `{"id":"a","timestamp":"yesterday","quantity":1}`,
		`{"id":"a","timestamp":"2026-01-15","quantity":1}`, `{"id":"a","quantity":1,"id":"b"}`, `[]`, `null`, ``,
		`{"id":"a","quantity":1,"public":true,"public":false}`, `{"id":"a","quantity":2,"quantity":3}`,
	}
	for i := range 200 {
		r := base
		r.ID = fmt.Sprintf("gen-%d", i)
		r.Quantity = Quantity(int64(i) * 123_456_789)
		b, _ := json.Marshal(r)
		lines = append(lines, string(b))
	}
	fast := 0
	for _, l := range lines {
		if checkFastAgrees(t, l) {
			fast++
		}
	}
	if fast < 200 {
		t.Fatalf("the fast path took only %d of the lines", fast)
	}
}

// FuzzParseRecordFast checks on any line that the fast path either
// declines it or decodes it exactly as ParseRecordJSON does (DecodeAll
// then gives the same records and the same error messages either way).
func FuzzParseRecordFast(f *testing.F) {
	for _, l := range []string{`{"id":"a","quantity":1}`, `{"id":"abcdefgh\"ijklmnop","quantity":1}`,
		`{"id":"abcdefghijklmnopqrstuvwxyz","sku":"actions_linux","quantity":12.5,"public":true}`,
		"{\"id\":\"abcdefg\x7f\x80hijklmn\",\"quantity\":1}", "{\"id\":\"abcdefg\x1fhijklmn\",\"quantity\":1}",
		`{"id":"abcdefg\\hijklmnop","quantity":1}`, `{"timestamp":"2026-01-15T10:00:00Z","quantity":3,"id":"12345678"}`} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, l string) { checkFastAgrees(t, l) })
}

func checkFastAgrees(t *testing.T, l string) bool {
	t.Helper()
	var got Record
	if !parseRecordFast([]byte(l), &got) {
		return false
	}
	var want Record
	if fe := ParseRecordJSON([]byte(l), &want); fe != nil {
		t.Fatalf("%s: fast path accepted what ParseRecordJSON rejects (%v)", l, fe)
	}
	if !got.Timestamp.Equal(want.Timestamp) {
		t.Fatalf("%s: timestamp %v, want %v", l, got.Timestamp, want.Timestamp)
	}
	got.Timestamp = want.Timestamp
	if got != want {
		t.Fatalf("%s:\n got %+v\nwant %+v", l, got, want)
	}
	return true
}
