package insights_test

import (
	"bytes"
	"syscall"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/insights/insightsgen"
)

// BenchmarkDecodeTraffic decodes the traffic `ghusage bench insights`
// posts (batches of 100,000 events over 30 days), as its "decode only"
// figure does: insights.DecodeAll on one goroutine.
func BenchmarkDecodeTraffic(b *testing.B) {
	const n = 100_000
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// one batch of a 10M-event run: 100,000 events span about 7 hours
	g := insightsgen.New(1, 100*n, end.Add(-30*24*time.Hour), end, "acme-data")
	var body []byte
	for i := 50 * n; i < 51*n; i++ {
		body = g.AppendJSON(body, i)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		evs, err := insights.DecodeAll(bytes.NewReader(body), end, n)
		if err != nil || len(evs) != n {
			b.Fatal(len(evs), err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*n), "ns/event")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*n), "cpu-ns/event")
}

// cpuTime is the CPU time of the process so far (every thread: the
// collector's too), less sensitive than wall time to other processes on
// the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAppendJSON generates the same traffic, as the benchmark's
// client does for each batch it posts.
func BenchmarkAppendJSON(b *testing.B) {
	const n = 100_000
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	g := insightsgen.New(1, 100*n, end.Add(-30*24*time.Hour), end, "acme-data")
	var body []byte
	cpu0 := cpuTime()
	for b.Loop() {
		body = body[:0]
		for i := 50 * n; i < 51*n; i++ {
			body = g.AppendJSON(body, i)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*n), "ns/event")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*n), "cpu-ns/event")
}

// BenchmarkParseLines parses 1,000 lines of the traffic again and again
// (all in cache, the ids' strings the only allocation): the scanner alone.
func BenchmarkParseLines(b *testing.B) {
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	g := insightsgen.New(1, 10_000_000, end.Add(-30*24*time.Hour), end, "acme-data")
	var lines [][]byte
	for i := 5_000_000; i < 5_001_000; i++ {
		lines = append(lines, g.AppendJSON(nil, i))
	}
	var e insights.Event
	parse := insights.NewLineParser()
	cpu0 := cpuTime()
	for b.Loop() {
		for _, l := range lines {
			e = insights.Event{}
			if fe := parse(l[:len(l)-1], &e); fe != nil {
				b.Fatal(fe)
			}
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*len(lines)), "ns/event")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*len(lines)), "cpu-ns/event")
}
