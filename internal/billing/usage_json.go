package billing

import (
	"encoding/json"
	"slices"
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
	for i := range r.UsageItems {
		it := &r.UsageItems[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"date":`...)
		b = appendJSONString(b, it.Date)
		b = append(b, `,"product":`...)
		b = appendJSONString(b, it.Product)
		b = append(b, `,"sku":`...)
		b = appendJSONString(b, it.SKU)
		b = append(b, `,"quantity":`...)
		b = appendInt(b, int64(it.Quantity), Scale)
		b = append(b, `,"unitType":`...)
		b = appendJSONString(b, it.UnitType)
		b = append(b, `,"pricePerUnit":`...)
		b = appendInt(b, int64(it.PricePerUnit), Scale)
		b = append(b, `,"grossAmount":`...)
		b = appendAmount(b, it.GrossAmount)
		b = append(b, `,"discountAmount":`...)
		b = appendAmount(b, it.DiscountAmount)
		b = append(b, `,"netAmount":`...)
		b = appendAmount(b, it.NetAmount)
		if it.OrganizationName != nil {
			b = append(b, `,"organizationName":`...)
			b = appendJSONString(b, *it.OrganizationName)
		}
		b = append(b, `,"repositoryName":`...)
		b = appendJSONString(b, it.RepositoryName)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func appendAmount(b []byte, a Amount) []byte {
	switch {
	case a.hi == 0:
		return appendFixed(b, false, a.lo, AmountScale)
	case a.hi == -1 && a.lo != 0:
		return appendFixed(b, true, -a.lo, AmountScale)
	}
	return append(b, a.String()...)
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
