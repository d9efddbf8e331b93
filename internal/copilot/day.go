package copilot

import (
	"fmt"
	"time"
)

// Day is a UTC calendar day, counted from 1970-01-01.
type Day int32

// DayOf returns the UTC day of t.
func DayOf(t time.Time) Day {
	return Day(t.UTC().Unix() / 86400)
}

// ParseDay parses YYYY-MM-DD strictly: 2026-02-30 is an error.
func ParseDay(s string) (Day, error) {
	if len(s) != 10 {
		return 0, fmt.Errorf("%q is not a day in YYYY-MM-DD form", s)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a valid day in YYYY-MM-DD form", s)
	}
	return DayOf(t), nil
}

// Time is the start of the day, UTC.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String is YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format(time.DateOnly) }

// WindowDays is the length of the 28-day reports, inclusive of both ends.
const WindowDays = 28

// WindowStart is the first day of the 28-day window ending on d.
func WindowStart(d Day) Day { return d - WindowDays + 1 }
