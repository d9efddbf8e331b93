package storetest

import (
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
)

// testBillingVersion checks the ledger versions cached answers are kept
// under: every write to a month changes its version (and the state of
// the answer keys of requests covering it), and only its own.
func testBillingVersion(t *testing.T, s billing.Store) {
	vs, ok := s.(billing.VersionStore)
	if !ok {
		t.Skip("store keeps no ledger versions")
	}
	ctx := t.Context()
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feb := jan.AddDate(0, 1, 0)
	mar := feb.AddDate(0, 1, 0)
	version := func(a billing.Account, from, to time.Time) int64 {
		t.Helper()
		vv, err := vs.BillingDayVersions(ctx, a, from, to)
		must(t, "BillingDayVersions", err)
		var sum int64
		for _, v := range vv {
			if v.Day.Before(from) || !v.Day.Before(to) || !v.Day.Equal(billing.DateOf(v.Day).Time()) {
				t.Fatalf("BillingDayVersions(%s, %s): day %s", from, to, v.Day)
			}
			sum += v.Version
		}
		return sum
	}
	svc := billing.NewService(s, billing.DefaultCatalog(), func() time.Time { return mar })
	p, err := billing.ParseParams(map[string][]string{"year": {"2026"}, "month": {"1"}, "day": {"20"}}, billing.EndpointUsage, svc.Catalog, mar)
	must(t, "ParseParams", err)
	sc := billing.Scope{Account: acme}
	state := func() string {
		t.Helper()
		_, st, ok, err := svc.AnswerKey(ctx, sc, p, billing.EndpointUsage)
		must(t, "AnswerKey", err)
		if !ok {
			t.Fatal("AnswerKey: not ok on a VersionStore")
		}
		return st
	}
	rec := func(id string, at time.Time, org string) billing.Record {
		r := billing.Record{ID: id, Timestamp: at, Product: "actions", SKU: "actions_linux", Quantity: 3 * 1_000_000_000,
			Unit: billing.UnitMinutes, Enterprise: "acme", Organization: org, Repository: org + "/app"}
		if org == "solo" {
			r.Enterprise = ""
		}
		return r
	}
	ingest := func(recs ...billing.Record) {
		t.Helper()
		_, err := s.BillingIngest(ctx, recs)
		must(t, "BillingIngest", err)
	}
	janV, febV, soloV, st0 := version(acme, jan, feb), version(acme, feb, mar), version(solo, jan, mar), state()

	// A new day, then a day that has usage already, then the first day of
	// the month (which changes the discounts of the day asked for).
	for i, at := range []time.Time{jan.AddDate(0, 0, 14).Add(time.Hour), jan.AddDate(0, 0, 14).Add(2 * time.Hour), jan.Add(time.Minute)} {
		ingest(rec("version-"+at.Format(time.RFC3339), at, "acme-web"))
		v, st := version(acme, jan, feb), state()
		if v <= janV {
			t.Fatalf("write %d: January's version %d, not above %d", i, v, janV)
		}
		if st == st0 {
			t.Fatalf("write %d: the answer key's state %q did not change", i, st)
		}
		janV, st0 = v, st
	}
	if v := version(acme, feb, mar); v != febV {
		t.Fatalf("February's version went from %d to %d with writes to January only", febV, v)
	}
	if v := version(solo, jan, mar); v != soloV {
		t.Fatalf("another account's version went from %d to %d", soloV, v)
	}
	// A write to the next month leaves January's answers valid.
	ingest(rec("version-feb", feb.AddDate(0, 0, 3), "acme-web"))
	if v, st := version(acme, jan, feb), state(); v != janV || st != st0 {
		t.Fatalf("a February write changed January's version (%d, was %d) or state", v, janV)
	}
	if v := version(acme, feb, mar); v <= febV {
		t.Fatalf("February's version %d, not above %d after a write", v, febV)
	}
}
