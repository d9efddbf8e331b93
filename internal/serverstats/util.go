package serverstats

import "strconv"

func itoa(n int) string { return strconv.Itoa(n) }

// quote shows a caller's value in a message, shortened.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}
