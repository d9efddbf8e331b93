package insights

// Level is a roll-up granularity.
type Level int

// The roll-up levels, finest first. Five-minute buckets serve the common
// 5m, 10m, 15m and 30m series without reading every minute.
const (
	Minute Level = iota
	FiveMinutes
	Hour
	Day
)

// Levels lists every level, finest first.
var Levels = [...]Level{Minute, FiveMinutes, Hour, Day}

// Seconds is the length of one bucket of level l.
func (l Level) Seconds() int64 {
	switch l {
	case FiveMinutes:
		return 300
	case Hour:
		return 3600
	case Day:
		return 86400
	}
	return 60
}

func (l Level) String() string {
	switch l {
	case FiveMinutes:
		return "5 minutes"
	case Hour:
		return "hour"
	case Day:
		return "day"
	}
	return "minute"
}

// Floor returns the start of the level-l bucket holding unix second t.
func (l Level) Floor(t int64) int64 { return floorDiv(t, l.Seconds()) * l.Seconds() }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func ceilTo(t, size int64) int64 { return -floorDiv(-t, size) * size }

// Segment is a run of whole buckets of one level: those whose start is in
// [Start, End). Start and End are unix seconds aligned to the level.
type Segment struct {
	Level      Level
	Start, End int64
}

// Segments covers the minute-aligned range [a, b) with the fewest buckets
// of levels up to max: minutes up to the first whole five minutes, those
// up to the first whole hour, hours up to the first whole day, whole days,
// then hours, five minutes and minutes to b. The result has at most seven
// segments, in time order, and none is empty.
func Segments(a, b int64, max Level) []Segment {
	var out []Segment
	var cover func(a, b int64, l Level)
	cover = func(a, b int64, l Level) {
		if a >= b {
			return
		}
		if l == Minute {
			out = append(out, Segment{Minute, a, b})
			return
		}
		lo, hi := ceilTo(a, l.Seconds()), l.Floor(b)
		if lo >= hi {
			cover(a, b, l-1)
			return
		}
		cover(a, lo, l-1)
		out = append(out, Segment{l, lo, hi})
		cover(hi, b, l-1)
	}
	cover(a, b, max)
	return out
}

// CoarsestLevel returns the coarsest level whose bucket length divides
// seconds: the finest roll-up a series with that increment can be read from.
func CoarsestLevel(seconds int64) Level {
	for l := Day; l > Minute; l-- {
		if seconds%l.Seconds() == 0 {
			return l
		}
	}
	return Minute
}
