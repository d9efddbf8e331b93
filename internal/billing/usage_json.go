package billing

import (
	"encoding/json"
	"io"
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
		if i > 0 {
			b = append(b, ',')
		}
		b = appendUsageItem(b, &r.UsageItems[i])
	}
	return append(b, "]}"...)
}

// WriteJSON writes MarshalJSON's bytes and a newline to w, a few tens of
// kilobytes at a time (a month's answer is megabytes: it is never held
// whole in one more buffer).
func (r UsageReport) WriteJSON(w io.Writer) error {
	if r.UsageItems == nil {
		_, err := w.Write([]byte(`{"usageItems":null}` + "\n"))
		return err
	}
	b := make([]byte, 0, 64<<10)
	b = append(b, `{"usageItems":[`...)
	for i := range r.UsageItems {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendUsageItem(b, &r.UsageItems[i])
		if len(b) > 60<<10 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	b = append(b, "]}\n"...)
	_, err := w.Write(b)
	return err
}

func appendUsageItem(b []byte, it *UsageItem) []byte {
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
	return append(b, '}')
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
