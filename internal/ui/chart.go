package ui

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/insights"
)

// Chart geometry, in SVG user units (the SVG scales to its container).
const (
	chartW, chartH           = 960, 260
	padL, padR, padT, padB   = 56, 12, 10, 30
	plotW, plotH             = chartW - padL - padR, chartH - padT - padB
	xLabels                  = 6
	colorTotal, colorLimited = "#2f81f7", "#d1242f"
)

// Chart is a rendered requests-over-time chart and its totals.
type Chart struct {
	SVG                template.HTML
	Buckets            int
	Partial            int // buckets only partly inside the range, drawn lighter
	Total, RateLimited int64
	// Rows are the buckets for the table under the chart (for screen
	// readers and keyboards), when there are at most maxTableRows.
	Rows []ChartRow
}

// ChartRow is one bucket in the chart's table.
type ChartRow struct {
	Start              string // RFC 3339
	Total, RateLimited int64
}

const maxTableRows = 400

// seriesChart draws a time-stats series as bars: all requests, and the
// rate-limited ones over them. Each bucket is a <g class="pt"> carrying
// its start and counts (data-ts, data-total, data-rate-limited) and a
// <title> shown on hover, so the chart needs no script. Buckets that the
// range [start, end) (unix seconds) covers only in part are drawn lighter
// and say so, as their counts cover less than an interval.
func seriesChart(s *insights.Series, label string, start, end int64) Chart {
	n := len(s.Counts)
	c := Chart{Buckets: n}
	var peak int64
	for _, b := range s.Counts {
		c.Total += b.Total
		c.RateLimited += b.RateLimited
		peak = max(peak, b.Total)
	}
	top := niceCeil(peak)
	if n <= maxTableRows {
		for i, b := range s.Counts {
			c.Rows = append(c.Rows, ChartRow{time.Unix(s.Timestamp(i), 0).UTC().Format(time.RFC3339), b.Total, b.RateLimited})
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, template.HTMLEscapeString(label))
	// Horizontal grid lines and y labels.
	for i := 0; i <= 4; i++ {
		v := top * int64(i) / 4
		y := padT + plotH - float64(plotH)*float64(i)/4
		fmt.Fprintf(&sb, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, y, y)
		fmt.Fprintf(&sb, `<text class="ylab" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y+4, compact(v))
	}
	if n > 0 {
		bw := float64(plotW) / float64(n)
		gap := 0.0
		if bw >= 4 {
			gap = max(1, bw*0.15)
		}
		for i, b := range s.Counts {
			x := padL + float64(i)*bw
			ts := s.Timestamp(i)
			partial, opacity := "", ""
			if ts < start || ts+s.Increment > end {
				c.Partial++
				partial, opacity = " (partial bucket)", ` fill-opacity="0.45"`
			}
			fmt.Fprintf(&sb, `<g class="pt" data-ts="%d" data-total="%d" data-rate-limited="%d">`, ts, b.Total, b.RateLimited)
			fmt.Fprintf(&sb, `<title>%s: %s requests, %s rate-limited%s</title>`,
				time.Unix(ts, 0).UTC().Format("2006-01-02 15:04 UTC"), grouped(b.Total), grouped(b.RateLimited), partial)
			fmt.Fprintf(&sb, `<rect class="hit" x="%.2f" y="%d" width="%.2f" height="%d"/>`, x, padT, bw, plotH)
			if b.Total > 0 {
				h := float64(plotH) * float64(b.Total) / float64(top)
				fmt.Fprintf(&sb, `<rect fill="%s"%s x="%.2f" y="%.2f" width="%.2f" height="%.2f"/>`, colorTotal, opacity, x+gap/2, padT+plotH-h, bw-gap, h)
			}
			if b.RateLimited > 0 {
				h := max(1, float64(plotH)*float64(b.RateLimited)/float64(top))
				fmt.Fprintf(&sb, `<rect fill="%s"%s x="%.2f" y="%.2f" width="%.2f" height="%.2f"/>`, colorLimited, opacity, x+gap/2, padT+plotH-h, bw-gap, h)
			}
			sb.WriteString(`</g>`)
		}
		// X labels: about six, at bucket starts.
		step := max(1, (n+xLabels-1)/xLabels)
		span := s.Increment * int64(n)
		for i := 0; i < n; i += step {
			ts := s.Timestamp(i)
			x := padL + float64(i)*bw + bw/2
			fmt.Fprintf(&sb, `<line class="tick" x1="%.1f" x2="%.1f" y1="%d" y2="%d"/>`, x, x, padT+plotH, padT+plotH+4)
			fmt.Fprintf(&sb, `<text class="xlab" x="%.1f" y="%d" text-anchor="middle" data-ts="%d" data-fmt="%s">%s</text>`,
				x, chartH-10, ts, axisFormat(span, s.Increment), axisLabel(ts, span, s.Increment))
		}
	}
	fmt.Fprintf(&sb, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, padL, chartW-padR, padT+plotH, padT+plotH)
	sb.WriteString(`</svg>`)
	c.SVG = template.HTML(sb.String())
	return c
}

// axisFormat names the label format for the browser's local-time rewrite.
func axisFormat(span, inc int64) string {
	switch {
	case inc >= 86400:
		return "date"
	case span > 86400:
		return "datetime"
	}
	return "time"
}

func axisLabel(ts, span, inc int64) string {
	t := time.Unix(ts, 0).UTC()
	switch axisFormat(span, inc) {
	case "date":
		return t.Format("Jan 2")
	case "datetime":
		return t.Format("Jan 2 15:04")
	}
	return t.Format("15:04")
}

// niceCeil is the top of the y axis: four equal whole steps, each step
// 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k, reaching at least v.
func niceCeil(v int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m10 := range []int64{10, 15, 20, 25, 30, 40, 50, 60, 80} {
			if m10*p%10 != 0 {
				continue
			}
			if step := m10 * p / 10; 4*step >= v {
				return 4 * step
			}
		}
	}
}

// compact writes 1234 as 1.2k, 5600000 as 5.6M.
func compact(v int64) string {
	switch {
	case v >= 1_000_000_000:
		return trimZero(float64(v)/1e9) + "G"
	case v >= 1_000_000:
		return trimZero(float64(v)/1e6) + "M"
	case v >= 10_000:
		return trimZero(float64(v)/1e3) + "k"
	}
	return strconv.FormatInt(v, 10)
}

func trimZero(f float64) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

// grouped writes 1234567 as 1,234,567.
func grouped(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// sparkline draws a series as small bars without axes, for a card.
func sparkline(s *insights.Series) template.HTML {
	const w, h = 240, 40
	var peak int64
	for _, b := range s.Counts {
		peak = max(peak, b.Total)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="spark" viewBox="0 0 %d %d" aria-hidden="true" xmlns="http://www.w3.org/2000/svg">`, w, h)
	if n := len(s.Counts); n > 0 && peak > 0 {
		bw := float64(w) / float64(n)
		for i, b := range s.Counts {
			x := float64(i) * bw
			if b.Total > 0 {
				bh := max(1, float64(h)*float64(b.Total)/float64(peak))
				fmt.Fprintf(&sb, `<rect fill="%s" x="%.2f" y="%.2f" width="%.2f" height="%.2f"/>`, colorTotal, x, h-bh, max(bw-1, 0.5), bh)
			}
			if b.RateLimited > 0 {
				bh := max(1, float64(h)*float64(b.RateLimited)/float64(peak))
				fmt.Fprintf(&sb, `<rect fill="%s" x="%.2f" y="%.2f" width="%.2f" height="%.2f"/>`, colorLimited, x, h-bh, max(bw-1, 0.5), bh)
			}
		}
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}
