// Package storetest is the storage conformance suite: the behaviour every
// ghusage backend (SQLite, PostgreSQL) must show, written once against the
// store interfaces of package usage and run by each backend's tests.
//
// A backend's test calls Run with a function that opens a fresh, empty
// backend for one test:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Backend {
//			s := openEmptyStore(t) // closed with t.Cleanup
//			return storetest.Backend{Store: s}
//		})
//	}
//
// Run covers accounts and tokens (Backend.Store) and job leases
// (Backend.Locker); RunInsights covers API insights for stores that also
// implement insights.Store. Each API family adds its own file here with the
// cases for its store interface; cases skip when the backend lacks it.
package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/jobs"
	"github.com/ghusage/ghusage/internal/usage"
)

// Backend is what a backend under test offers. Fields left nil are skipped.
type Backend struct {
	Store usage.Store
	// Locker is the backend's job lease table, for backends shared by
	// several replicas.
	Locker jobs.Locker
}

// Run runs every conformance case against backends returned by open. open
// is called once per case and must return a fresh, empty backend whose
// resources are released through t.Cleanup. Cases run in parallel, so open
// must be safe to call concurrently.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("Accounts", func(t *testing.T) { runAccounts(t, open) })
	t.Run("Tokens", func(t *testing.T) { runTokens(t, open) })
	t.Run("JobLeases", func(t *testing.T) { runLeases(t, open) })
}

// storeCase is one case that needs a usage.Store.
type storeCase struct {
	name string
	fn   func(t *testing.T, s usage.Store)
}

func runStoreCases(t *testing.T, open func(t *testing.T) Backend, cases []storeCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := open(t)
			if b.Store == nil {
				t.Skip("backend has no usage.Store")
			}
			c.fn(t, b.Store)
		})
	}
}

// wantKind fails t unless err is a *usage.Error of kind k.
func wantKind(t *testing.T, what string, err error, k usage.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %v", what, k)
	}
	var ue *usage.Error
	if !errors.As(err, &ue) {
		t.Fatalf("%s: got %T %v, want a *usage.Error of kind %v", what, err, err, k)
	}
	if ue.Kind != k {
		t.Fatalf("%s: got kind %v (%v), want %v", what, ue.Kind, err, k)
	}
}

// must fails t when err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sameTime compares instants; stores may return another location.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if got.IsZero() != want.IsZero() || !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// sameMap compares string maps, treating nil and empty alike.
func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// testTime is a fixed instant with second precision, which every backend
// keeps exactly.
var testTime = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
