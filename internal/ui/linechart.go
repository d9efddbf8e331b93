package ui

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// lineSeries is one line of a line chart: a value per x position, nil
// where the source had none (the line breaks there: missing is unknown,
// not zero).
type lineSeries struct {
	Name   string
	Color  string
	Values []*int64
}

var palette = []string{"#2f81f7", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#cf222e"}

// lineChart draws series over days (YYYY-MM-DD labels), one polyline
// each, with a point per value carrying data-day and data-value and a
// <title> for hover.
func lineChart(label string, days []string, series []lineSeries) template.HTML {
	const w, h, l, r, t, b = 640, 200, 56, 12, 10, 28
	pw, ph := float64(w-l-r), float64(h-t-b)
	lo, hi := int64(-1), int64(0)
	for _, s := range series {
		for _, v := range s.Values {
			if v != nil {
				if lo < 0 || *v < lo {
					lo = *v
				}
				hi = max(hi, *v)
			}
		}
	}
	if lo < 0 {
		lo = 0
	}
	// The axis starts at a round value below the lowest point, so growth
	// shows; four steps of a nice size cover the range.
	step := niceCeil(max(hi-lo, 4)) / 4
	base := lo / step * step
	top := base + 4*step
	for top < hi {
		step = niceCeil(step*4+1) / 4
		base = lo / step * step
		top = base + 4*step
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart line" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, w, h, template.HTMLEscapeString(label))
	for i := 0; i <= 4; i++ {
		y := float64(t) + ph - ph*float64(i)/4
		fmt.Fprintf(&sb, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, l, w-r, y, y)
		fmt.Fprintf(&sb, `<text class="ylab" x="%d" y="%.1f" text-anchor="end">%s</text>`, l-6, y+4, compact(base+step*int64(i)))
	}
	n := len(days)
	x := func(i int) float64 {
		if n <= 1 {
			return float64(l) + pw/2
		}
		return float64(l) + pw*float64(i)/float64(n-1)
	}
	y := func(v int64) float64 { return float64(t) + ph - ph*float64(v-base)/float64(top-base) }
	for si, s := range series {
		color := s.Color
		if color == "" {
			color = palette[si%len(palette)]
		}
		var path strings.Builder
		pen := false
		for i, v := range s.Values {
			if v == nil {
				pen = false
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(i), y(*v))
			pen = true
		}
		fmt.Fprintf(&sb, `<path fill="none" stroke="%s" stroke-width="2" d="%s"/>`, color, strings.TrimSpace(path.String()))
		for i, v := range s.Values {
			if v == nil {
				continue
			}
			fmt.Fprintf(&sb, `<g class="pt" data-series="%s" data-day="%s" data-value="%d"><title>%s, %s: %s</title><circle fill="%s" cx="%.1f" cy="%.1f" r="2.5"/></g>`,
				template.HTMLEscapeString(s.Name), days[i], *v, template.HTMLEscapeString(s.Name), days[i], grouped(*v), color, x(i), y(*v))
		}
	}
	if n > 0 {
		stepX := max(1, (n+4)/5)
		for i := 0; i < n; i += stepX {
			d, err := time.Parse("2006-01-02", days[i])
			lab := days[i]
			if err == nil {
				lab = d.Format("Jan 2")
			}
			fmt.Fprintf(&sb, `<text class="xlab" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(i), h-8, lab)
		}
	}
	fmt.Fprintf(&sb, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, l, w-r, h-b, h-b)
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}
