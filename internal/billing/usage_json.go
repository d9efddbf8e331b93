package billing

import (
	"encoding/json"
	"math/bits"
	"slices"
	"strconv"
)

// MarshalJSON writes the usage report as encoding/json would (the same
// bytes, TestUsageReportJSON checks it) without reflection: a month of an
// enterprise's usage is tens of thousands of items, and reflecting over
// them was a third of the endpoint's time (doc/billing.md, Performance).
func (r UsageReport) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// AppendJSON appends MarshalJSON's bytes to b (httpapi writes bodies that
// have it without encoding/json's validation pass over them).
func (r UsageReport) AppendJSON(b []byte) []byte {
	if r.UsageItems == nil {
		return append(b, `{"usageItems":null}`...)
	}
	b = slices.Grow(b, 64+len(r.UsageItems)*260)
	b = append(b, `{"usageItems":[`...)
	var e itemEncoder
	for i := range r.UsageItems {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.append(b, &r.UsageItems[i])
	}
	return append(b, "]}"...)
}

// itemEncoder appends usage items, reusing the encoded text of the fields
// an item shares with the one before (date, product and SKU; unit and
// price; organization): consecutive items mostly differ only in
// repository and amounts.
type itemEncoder struct {
	date, product, sku string
	head               []byte // {"date":…,"product":…,"sku":…,"quantity":
	unit               string
	price              Price
	mid                []byte // ,"unitType":…,"pricePerUnit":…,"grossAmount":
	org                *string
	orgText            []byte // ,"organizationName":…,"repositoryName":
	started            bool
}

func (e *itemEncoder) append(b []byte, it *UsageItem) []byte {
	if !e.started || it.Date != e.date || it.Product != e.product || it.SKU != e.sku {
		e.date, e.product, e.sku = it.Date, it.Product, it.SKU
		h := append(e.head[:0], `{"date":`...)
		h = appendJSONString(h, it.Date)
		h = append(h, `,"product":`...)
		h = appendJSONString(h, it.Product)
		h = append(h, `,"sku":`...)
		h = appendJSONString(h, it.SKU)
		e.head = append(h, `,"quantity":`...)
	}
	if !e.started || it.UnitType != e.unit || it.PricePerUnit != e.price {
		e.unit, e.price = it.UnitType, it.PricePerUnit
		m := append(e.mid[:0], `,"unitType":`...)
		m = appendJSONString(m, it.UnitType)
		m = append(m, `,"pricePerUnit":`...)
		m = appendInt(m, int64(it.PricePerUnit), Scale)
		e.mid = append(m, `,"grossAmount":`...)
	}
	if !e.started || (it.OrganizationName == nil) != (e.org == nil) || (e.org != nil && *it.OrganizationName != *e.org) {
		e.org = it.OrganizationName
		o := e.orgText[:0]
		if it.OrganizationName != nil {
			o = append(o, `,"organizationName":`...)
			o = appendJSONString(o, *it.OrganizationName)
		}
		e.orgText = append(o, `,"repositoryName":`...)
	}
	e.started = true
	b = append(b, e.head...)
	b = appendInt(b, int64(it.Quantity), Scale)
	b = append(b, e.mid...)
	b = appendAmount(b, it.GrossAmount)
	b = append(b, `,"discountAmount":`...)
	b = appendAmount(b, it.DiscountAmount)
	b = append(b, `,"netAmount":`...)
	b = appendAmount(b, it.NetAmount)
	b = append(b, e.orgText...)
	b = appendJSONString(b, it.RepositoryName)
	return append(b, '}')
}

func appendAmount(b []byte, a Amount) []byte {
	neg := a.hi < 0
	hi, lo := uint64(a.hi), a.lo
	if neg {
		var borrow uint64
		lo, borrow = bits.Sub64(0, lo, 0)
		hi = -hi - borrow
	}
	const e18 = 1_000_000_000_000_000_000 // 10^AmountScale
	if hi >= e18 {
		return append(b, a.String()...) // beyond 10^19 dollars
	}
	dollars, frac := bits.Div64(hi, lo, e18)
	if dollars == 0 && frac == 0 {
		return append(b, '0')
	}
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, dollars, 10)
	if frac == 0 {
		return b
	}
	var d [AmountScale]byte
	end := 0
	for i := AmountScale - 1; i >= 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
		if end == 0 && d[i] != '0' {
			end = i + 1
		}
	}
	b = append(b, '.')
	return append(b, d[:end]...)
}

// AppendJSONString appends s as a JSON string, as encoding/json quotes
// it: plain printable ASCII as is, anything else through encoding/json.
func AppendJSONString(b []byte, s string) []byte { return appendJSONString(b, s) }

func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
