package serverstats

import (
	"net/url"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Day is a UTC calendar day written YYYY-MM-DD; days compare as strings.
type Day string

const dayLayout = "2006-01-02"

// DayOf is the UTC day of t.
func DayOf(t time.Time) Day { return Day(t.UTC().Format(dayLayout)) }

// Time is the start of the day (UTC midnight).
func (d Day) Time() time.Time {
	t, _ := time.Parse(dayLayout, string(d))
	return t
}

// AddDays is the day n days after d (before, when n < 0).
func (d Day) AddDays(n int) Day { return DayOf(d.Time().AddDate(0, 0, n)) }

// MaxWindowDays is the longest window one server-statistics request may
// cover, inclusive of both ends (seed 001: "up to 365 days").
const MaxWindowDays = 365

// Window is an inclusive range of collection days.
type Window struct {
	Start, End Day
}

// Days is the number of days in the window, both ends included.
func (w Window) Days() int {
	return int(w.End.Time().Sub(w.Start.Time())/(24*time.Hour)) + 1
}

// ParseWindow reads date_start and date_end of a server-statistics request.
// Each is a date (YYYY-MM-DD) or an RFC 3339 timestamp, whose UTC day is
// taken; both bounds are inclusive. Without either the window is the 365
// days ending today; with only one, it is the 365 days starting (or
// ending) there. A reversed or wider-than-365-day window is a 422 naming
// date_end; a malformed value a 422 naming its parameter.
func ParseWindow(q url.Values, now time.Time) (Window, error) {
	start, hasStart, err := parseDayParam(q, "date_start")
	if err != nil {
		return Window{}, err
	}
	end, hasEnd, err := parseDayParam(q, "date_end")
	if err != nil {
		return Window{}, err
	}
	switch {
	case !hasStart && !hasEnd:
		end = DayOf(now)
		start = end.AddDays(-(MaxWindowDays - 1))
	case !hasEnd:
		end = start.AddDays(MaxWindowDays - 1)
	case !hasStart:
		start = end.AddDays(-(MaxWindowDays - 1))
	}
	w := Window{Start: start, End: end}
	if end < start {
		return Window{}, usage.Invalid("ServerStatistics", "date_end", "date_end ("+string(end)+") is before date_start ("+string(start)+")")
	}
	if n := w.Days(); n > MaxWindowDays {
		return Window{}, usage.Invalid("ServerStatistics", "date_end",
			"the window from date_start to date_end covers "+itoa(n)+" days; at most 365 are allowed per request")
	}
	return w, nil
}

func parseDayParam(q url.Values, name string) (Day, bool, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return "", false, nil
	}
	if t, err := time.Parse(dayLayout, v); err == nil {
		return DayOf(t), true, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return DayOf(t), true, nil
	}
	return "", false, usage.Invalid("ServerStatistics", name, name+" must be a date (YYYY-MM-DD) or an RFC 3339 timestamp, not "+quote(v))
}
