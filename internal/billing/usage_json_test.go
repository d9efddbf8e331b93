package billing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestUsageReportJSON checks UsageReport.MarshalJSON against encoding/json's
// reflection over the same fields (plainReport has no methods): a field
// added to UsageReport or UsageItem and not to MarshalJSON fails here.
func TestUsageReportJSON(t *testing.T) {
	type plainReport UsageReport
	org, odd := "acme-web", "a<b>&\"c\\\u2028\x01é"
	var items []UsageItem
	for i := range 50 {
		it := UsageItem{Date: fmt.Sprintf("2026-01-%02d", i%28+1), Product: "Actions", SKU: "actions_linux",
			Quantity: Quantity(i * 1_234_567_891), UnitType: "minutes", PricePerUnit: Price(6_000_000 + i),
			RepositoryName: fmt.Sprintf("acme-web/repo%d", i)}
		it.GrossAmount = Mul(it.Quantity, it.PricePerUnit)
		it.DiscountAmount = Mul(it.Quantity/3, it.PricePerUnit)
		it.NetAmount = it.GrossAmount.Sub(it.DiscountAmount)
		switch i % 3 {
		case 0:
			it.OrganizationName = &org
		case 1:
			it.OrganizationName, it.RepositoryName = &odd, odd
		}
		if i == 7 {
			it.GrossAmount = Mul(Quantity(1<<62), Price(1<<62)) // beyond 64 bits
			it.NetAmount = it.GrossAmount.Neg()
		}
		items = append(items, it)
	}
	var many []UsageItem // many items sharing fields
	for len(many) < 3000 {
		many = append(many, items...)
	}
	for _, r := range []UsageReport{{}, {UsageItems: []UsageItem{}}, {UsageItems: items}, {UsageItems: many}} {
		want, err := json.Marshal(plainReport(r))
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("MarshalJSON differs from encoding/json:\n got %s\nwant %s", got, want)
		}
		if app := r.AppendJSON([]byte("x")); !bytes.Equal(app[1:], want) || app[0] != 'x' {
			t.Fatalf("AppendJSON differs from encoding/json:\n got %s\nwant %s", app, want)
		}
		if !json.Valid(want) {
			t.Fatal("invalid JSON")
		}
	}
}

// TestAppendAmount checks the JSON amounts against Amount.String (which
// formats through math/big beyond 64 bits).
func TestAppendAmount(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 20000 {
		q, p := Quantity(rng.Int64N(1<<(1+i%62))), Price(rng.Int64N(1<<(1+i%40)))
		a := Mul(q, p)
		if i%3 == 0 {
			a = a.Neg()
		}
		if i%7 == 0 {
			a = a.Sub(Mul(Quantity(rng.Int64N(1<<40)), Price(rng.Int64N(1<<40))))
		}
		if got, want := string(appendAmount(nil, a)), a.String(); got != want {
			t.Fatalf("appendAmount(%v) = %s, want %s", a.Big(), got, want)
		}
	}
	for _, a := range []Amount{{}, Mul(Quantity(1<<62), Price(1<<62)), Mul(Quantity(1<<62), Price(1<<62)).Neg(), Mul(1, 1), Mul(1, 1).Neg()} {
		if got, want := string(appendAmount(nil, a)), a.String(); got != want {
			t.Fatalf("appendAmount(%v) = %s, want %s", a.Big(), got, want)
		}
	}
}
