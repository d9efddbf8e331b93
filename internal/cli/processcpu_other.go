//go:build !unix

package cli

import "time"

// processCPU is 0 where the process's CPU time is not read; the benchmark
// then leaves out its CPU-per-request figures.
func processCPU() time.Duration { return 0 }
