//go:build !linux

package cli

func resetPeakRSS() {}

// peakRSS is unknown outside Linux.
func peakRSS() int64 { return 0 }
