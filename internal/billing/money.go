package billing

import (
	"fmt"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// Scale is the number of decimal places of a Quantity and of a Price: both
// are integers counting billionths (of a unit, of a US dollar).
const Scale = 9

// nano is 10^Scale.
const nano = 1_000_000_000

// Quantity is an exact quantity of a unit (minutes, gigabyte-hours,
// requests…), in billionths of the unit. 1.5 minutes is Quantity(1_500_000_000).
type Quantity int64

// Price is an exact price per unit in billionths of a US dollar: $0.008 is
// Price(8_000_000).
type Price int64

// Units returns n whole units as a Quantity.
func Units(n int64) Quantity { return Quantity(n * nano) }

// Whole reports whether q is a whole number of units.
func (q Quantity) Whole() bool { return q%nano == 0 }

// String is q as a decimal, without trailing zeros.
func (q Quantity) String() string { return formatFixed(int64(q), Scale) }

// MarshalJSON writes q as an exact JSON number.
func (q Quantity) MarshalJSON() ([]byte, error) {
	return appendInt(make([]byte, 0, 24), int64(q), Scale), nil
}

// UnmarshalJSON reads a JSON number with at most Scale decimal places.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	v, err := ParseDecimal(string(b))
	if err != nil {
		return err
	}
	*q = Quantity(v)
	return nil
}

// String is p as a decimal, without trailing zeros.
func (p Price) String() string { return formatFixed(int64(p), Scale) }

// MarshalJSON writes p as an exact JSON number.
func (p Price) MarshalJSON() ([]byte, error) {
	return appendInt(make([]byte, 0, 24), int64(p), Scale), nil
}

// UnmarshalJSON reads a JSON number (or a string holding one) with at most
// Scale decimal places.
func (p *Price) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := ParseDecimal(s)
	if err != nil {
		return err
	}
	*p = Price(v)
	return nil
}

// ParseDecimal parses a plain decimal number ("12", "0.00033602", "-3.5",
// "1e3") into billionths. More than Scale decimal places, or a value
// beyond ±9.2 billion, is an error: nothing is rounded.
func ParseDecimal(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("is empty")
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || strings.ContainsAny(s, "/ \t") || strings.HasPrefix(s, "+") || strings.EqualFold(s, "inf") {
		return 0, fmt.Errorf("is not a decimal number")
	}
	r.Mul(r, big.NewRat(nano, 1))
	if !r.IsInt() {
		return 0, fmt.Errorf("has more than %d decimal places", Scale)
	}
	n := r.Num()
	if !n.IsInt64() {
		return 0, fmt.Errorf("is out of range")
	}
	return n.Int64(), nil
}

// formatFixed writes v / 10^scale as a decimal without trailing zeros.
func formatFixed(v int64, scale int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	return fixed(neg, s, scale)
}

func fixed(neg bool, digits string, scale int) string {
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	ip, fp := digits[:len(digits)-scale], strings.TrimRight(digits[len(digits)-scale:], "0")
	out := ip
	if fp != "" {
		out += "." + fp
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}

// AmountScale is the number of decimal places of an Amount: a quantity
// times a price is exact at 2*Scale places.
const AmountScale = 2 * Scale

// Amount is an exact amount of US dollars in units of 10^-18 (a Quantity
// times a Price), held in 128 bits so that sums over any realistic ledger
// cannot overflow. The zero value is $0.
type Amount struct {
	hi int64
	lo uint64
}

// Mul returns q × p exactly.
func Mul(q Quantity, p Price) Amount {
	neg := (q < 0) != (p < 0)
	a, b := uint64(q), uint64(p)
	if q < 0 {
		a = -a
	}
	if p < 0 {
		b = -b
	}
	hi, lo := bits.Mul64(a, b)
	r := Amount{int64(hi), lo}
	if neg {
		r = r.Neg()
	}
	return r
}

// Add returns a + b.
func (a Amount) Add(b Amount) Amount {
	lo, carry := bits.Add64(a.lo, b.lo, 0)
	return Amount{a.hi + b.hi + int64(carry), lo}
}

// Neg returns −a.
func (a Amount) Neg() Amount {
	lo, borrow := bits.Sub64(0, a.lo, 0)
	return Amount{-a.hi - int64(borrow), lo}
}

// Sub returns a − b.
func (a Amount) Sub(b Amount) Amount { return a.Add(b.Neg()) }

// Cmp compares a and b: -1, 0 or +1.
func (a Amount) Cmp(b Amount) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// IsZero reports whether a is $0.
func (a Amount) IsZero() bool { return a.hi == 0 && a.lo == 0 }

// Big returns a in units of 10^-18 dollars.
func (a Amount) Big() *big.Int {
	v := new(big.Int).SetInt64(a.hi)
	v.Lsh(v, 64)
	return v.Add(v, new(big.Int).SetUint64(a.lo))
}

// String is a as an exact decimal number of dollars without trailing zeros.
func (a Amount) String() string {
	switch {
	case a.hi == 0:
		return fixed(false, strconv.FormatUint(a.lo, 10), AmountScale)
	case a.hi == -1 && a.lo != 0:
		return fixed(true, strconv.FormatUint(-a.lo, 10), AmountScale)
	}
	v := a.Big()
	neg := v.Sign() < 0
	return fixed(neg, new(big.Int).Abs(v).String(), AmountScale)
}

// MarshalJSON writes a as an exact JSON number.
func (a Amount) MarshalJSON() ([]byte, error) { return appendAmount(make([]byte, 0, 40), a), nil }

// appendInt appends v / 10^scale as formatFixed writes it.
func appendInt(b []byte, v int64, scale int) []byte {
	if v < 0 {
		return appendFixed(b, true, -uint64(v), scale)
	}
	return appendFixed(b, false, uint64(v), scale)
}

// appendFixed appends u / 10^scale (negated when neg) as fixed writes
// it, without allocating: the integer part, then the fraction's digits
// without trailing zeros.
func appendFixed(b []byte, neg bool, u uint64, scale int) []byte {
	var d [20]byte
	digits := strconv.AppendUint(d[:0], u, 10)
	if u == 0 {
		return append(b, '0')
	}
	if neg {
		b = append(b, '-')
	}
	if len(digits) <= scale {
		b = append(b, '0')
	} else {
		b = append(b, digits[:len(digits)-scale]...)
		digits = digits[len(digits)-scale:]
	}
	frac := scale
	if len(digits) < scale {
		frac = len(digits)
	}
	end := len(digits)
	for end > 0 && digits[end-1] == '0' {
		end--
	}
	if end == 0 {
		return b
	}
	b = append(b, '.')
	for range scale - frac {
		b = append(b, '0')
	}
	return append(b, digits[:end]...)
}

// MulDiv returns floor(q × num / den) for non-negative q, num and den > 0,
// without overflow (the result must fit a Quantity, which holds when num ≤ den).
func MulDiv(q, num, den Quantity) Quantity {
	if q <= 0 || num <= 0 || den <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(q), uint64(num))
	if hi >= uint64(den) {
		return q // num > den: callers never ask; cap rather than overflow
	}
	quo, _ := bits.Div64(hi, lo, uint64(den))
	return Quantity(quo)
}
