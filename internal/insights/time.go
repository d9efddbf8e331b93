package insights

import (
	"fmt"
	"strconv"
	"time"
)

// ParseTimestamp parses an ISO 8601 timestamp as the insights endpoints
// and the ingest format accept it: a calendar date (YYYY-MM-DD), optionally
// followed by T (or a space) and HH:MM, HH:MM:SS or HH:MM:SS.fraction, and
// an optional zone: Z, ±HH:MM, ±HHMM or ±HH. A timestamp without a zone is
// UTC. The result is in UTC.
func ParseTimestamp(s string) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("%q is not an ISO 8601 timestamp (YYYY-MM-DDTHH:MM:SSZ): %s", truncate(s, 40), why)
	}
	p := 0
	num := func(n int) (int, bool) {
		if p+n > len(s) {
			return 0, false
		}
		v := 0
		for i := 0; i < n; i++ {
			c := s[p+i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		p += n
		return v, true
	}
	lit := func(c byte) bool {
		if p < len(s) && s[p] == c {
			p++
			return true
		}
		return false
	}
	year, ok := num(4)
	if !ok || !lit('-') {
		return bad("expected a four-digit year and '-'")
	}
	month, ok := num(2)
	if !ok || !lit('-') {
		return bad("expected a two-digit month and '-'")
	}
	day, ok := num(2)
	if !ok {
		return bad("expected a two-digit day")
	}
	var hour, min, sec, nsec int
	if p < len(s) && (s[p] == 'T' || s[p] == 't' || s[p] == ' ') {
		p++
		if hour, ok = num(2); !ok || !lit(':') {
			return bad("expected HH:MM after the date")
		}
		if min, ok = num(2); !ok {
			return bad("expected HH:MM after the date")
		}
		if lit(':') {
			if sec, ok = num(2); !ok {
				return bad("expected two-digit seconds")
			}
			if lit('.') || lit(',') {
				start := p
				for p < len(s) && s[p] >= '0' && s[p] <= '9' {
					if p-start < 9 {
						nsec = nsec*10 + int(s[p]-'0')
					}
					p++
				}
				n := p - start
				if n == 0 {
					return bad("expected digits after the decimal point")
				}
				for ; n < 9; n++ {
					nsec *= 10
				}
			}
		}
	}
	offset := 0
	if p < len(s) {
		switch s[p] {
		case 'Z', 'z':
			p++
		case '+', '-':
			sign := 1
			if s[p] == '-' {
				sign = -1
			}
			p++
			oh, ok := num(2)
			if !ok {
				return bad("expected a zone offset ±HH:MM")
			}
			om := 0
			if lit(':') {
				if om, ok = num(2); !ok {
					return bad("expected a zone offset ±HH:MM")
				}
			} else if p < len(s) {
				if om, ok = num(2); !ok {
					return bad("expected a zone offset ±HH:MM")
				}
			}
			if oh > 23 || om > 59 {
				return bad("zone offset out of range")
			}
			offset = sign * (oh*3600 + om*60)
		default:
			return bad("unexpected character after the time")
		}
	}
	if p != len(s) {
		return bad("unexpected trailing characters")
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return bad("no such date")
	}
	if hour > 24 || min > 59 || sec > 60 || (hour == 24 && (min != 0 || sec != 0 || nsec != 0)) {
		return bad("time of day out of range")
	}
	if sec == 60 { // a leap second: the instant after HH:MM:59
		sec = 59
		nsec = 999999999
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// FormatTimestamp renders unix seconds as GitHub does: RFC 3339, UTC, Z.
func FormatTimestamp(unix int64) string {
	var b [TimestampLen]byte
	return string(AppendTimestamp(b[:0], unix))
}

// TimestampLen is the length of FormatTimestamp's answer for every time
// from 1970 to the end of 9999 (YYYY-MM-DDTHH:MM:SSZ).
const TimestampLen = 20

// maxFastTimestamp is 10000-01-01T00:00:00Z: AppendTimestamp formats the
// times in [0, maxFastTimestamp) itself and leaves others to the time
// package.
const maxFastTimestamp = 253402300800

// AppendTimestamp appends FormatTimestamp(unix) to b. The answer holds only
// digits, '-', ':', 'T', 'Z' (and '+' for years past 9999), so it needs no
// escaping in JSON. Between 1970 and 9999 it does not go through the time
// package: a time-stats series formats one timestamp per bucket.
func AppendTimestamp(b []byte, unix int64) []byte {
	if unix < 0 || unix >= maxFastTimestamp {
		return time.Unix(unix, 0).UTC().AppendFormat(b, time.RFC3339)
	}
	days, secs := unix/86400, unix%86400
	// The civil date of a day count (March-based years, eras of 400 years).
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	year := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	if month > 12 {
		month -= 12
		year++
	}
	h, m, sec := secs/3600, secs/60%60, secs%60
	return append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), 'Z')
}

// MaxIncrement bounds timestamp_increment (a year of days).
const MaxIncrement = 366 * 24 * time.Hour

// ParseIncrement parses timestamp_increment: a positive whole number of
// minutes, hours, days or weeks, written like 5m, 10m, 1h, 1d or 1w.
func ParseIncrement(s string) (time.Duration, error) {
	if len(s) < 2 || len(s) > 12 {
		return 0, fmt.Errorf("%q is not an increment such as 5m, 10m, 1h or 1d", truncate(s, 20))
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	case 'w':
		unit = 7 * 24 * time.Hour
	default:
		return 0, fmt.Errorf("%q has an unknown unit: use m (minutes), h (hours), d (days) or w (weeks), as in 5m, 1h, 1d", truncate(s, 20))
	}
	digits := s[:len(s)-1]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, fmt.Errorf("%q is not an increment such as 5m, 10m, 1h or 1d", truncate(s, 20))
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q must be a positive number of %s", truncate(s, 20), unitName(s[len(s)-1]))
	}
	if n > int64(MaxIncrement/unit) {
		return 0, fmt.Errorf("%q is larger than the maximum increment of 366d", truncate(s, 20))
	}
	return time.Duration(n) * unit, nil
}

func unitName(u byte) string {
	switch u {
	case 'm':
		return "minutes"
	case 'h':
		return "hours"
	case 'd':
		return "days"
	}
	return "weeks"
}
