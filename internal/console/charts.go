package console

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// Charts are drawn here as inline SVG: no script, no fetch, and every
// chart carries a title and a description for screen readers, plus a
// <title> on each mark for a pointer's tooltip. Colours come from the
// style sheet through class names (the CSP allows no inline style).

// esc escapes text for SVG.
func esc(s string) string { return template.HTMLEscapeString(s) }

// svgOpen starts an accessible SVG of the given view box.
func svgOpen(b *strings.Builder, id string, w, h int, title, desc string) {
	fmt.Fprintf(b, `<svg class="chart" id="%s" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" preserveAspectRatio="xMinYMin meet">`,
		esc(id), w, h, w, h, esc(id), esc(id))
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
}

// thresholds returns the ladder's thresholds in force.
func (c *Console) thresholds() risk.Thresholds {
	if c.d.Policy != nil {
		return c.d.Policy.Policy().Thresholds
	}
	return risk.DefaultPolicy().Thresholds
}

// scoreChart draws a session's score over time, with the ladder's
// thresholds as labelled horizontal lines and one point per judged event,
// coloured by its level.
func scoreChart(evs []storage.Event, th risk.Thresholds) template.HTML {
	const w, h, left, right, top, bottom = 720, 260, 44, 90, 12, 30
	var pts []storage.Event
	for _, ev := range evs {
		if judged(ev) {
			pts = append(pts, ev)
		}
	}
	maxY := max(100, th.Critical+10)
	for _, p := range pts {
		maxY = max(maxY, p.Score+5)
	}
	var t0, t1 time.Time
	if len(pts) > 0 {
		t0, t1 = pts[0].At, pts[len(pts)-1].At
	}
	span := t1.Sub(t0).Seconds()
	x := func(t time.Time) float64 {
		if span <= 0 {
			return left + float64(w-left-right)/2
		}
		return left + t.Sub(t0).Seconds()/span*float64(w-left-right)
	}
	y := func(v int) float64 { return top + float64(h-top-bottom)*(1-float64(v)/float64(maxY)) }
	var b strings.Builder
	desc := fmt.Sprintf("%d judged events. Thresholds: low %d, medium %d, high %d, critical %d.", len(pts), th.Low, th.Medium, th.High, th.Critical)
	if len(pts) > 0 {
		last := pts[len(pts)-1]
		desc += fmt.Sprintf(" Latest score %d (%s).", last.Score, last.Level)
	}
	svgOpen(&b, "score-chart", w, h, "Risk score (suspicion) over time", desc)
	fmt.Fprintf(&b, `<rect class="plot" x="%d" y="%d" width="%d" height="%d"/>`, left, top, w-left-right, h-top-bottom)
	lines := []struct {
		name string
		v    int
	}{{"critical", th.Critical}, {"high", th.High}, {"medium", th.Medium}, {"low", th.Low}}
	ys := make([]float64, len(lines))
	for i, tl := range lines {
		ys[i] = y(tl.v)
	}
	labelY := thresholdLabels(ys)
	for i, tl := range lines {
		yy := y(tl.v)
		fmt.Fprintf(&b, `<line class="threshold th-%s" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, tl.name, left, w-right, yy, yy)
		fmt.Fprintf(&b, `<text class="th-label" x="%d" y="%.1f">%s ≥ %d</text>`, w-right+4, labelY[i]+4, tl.name, tl.v)
	}
	for _, v := range []int{0, maxY / 2, maxY} {
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%d</text>`, left-6, y(v)+4, v)
	}
	if len(pts) > 0 {
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d">%s</text>`, left, h-8, t0.UTC().Format("15:04:05"))
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">%s</text>`, w-right, h-8, t1.UTC().Format("15:04:05 UTC"))
		var path strings.Builder
		for i, p := range pts {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(p.At), y(p.Score))
		}
		fmt.Fprintf(&b, `<path class="score-line" d="%s"/>`, strings.TrimSpace(path.String()))
		for _, p := range pts {
			fmt.Fprintf(&b, `<circle class="score-point %s" cx="%.1f" cy="%.1f" r="5"><title>%s %s: score %d, %s, %s</title></circle>`,
				levelClassOf(p.Level), x(p.At), y(p.Score), esc(p.At.UTC().Format("15:04:05")), esc(p.Type), p.Score, esc(p.Level), esc(p.Action))
		}
	} else {
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d">No judged events yet.</text>`, left+10, h/2)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text above is escaped
}

// labelGap is the least vertical distance, in pixels, between two
// threshold labels of the score chart.
const labelGap = 11

// thresholdLabels places the labels of lines at ys (top to bottom, each y
// at or below the one before): each at its line, pushed down just enough
// to keep labelGap below the label above it, so that close thresholds
// (high 99, critical 100) stay readable.
func thresholdLabels(ys []float64) []float64 {
	out := make([]float64, 0, len(ys))
	for _, v := range ys {
		if n := len(out); n > 0 && v < out[n-1]+labelGap {
			v = out[n-1] + labelGap
		}
		out = append(out, v)
	}
	return out
}

func levelClassOf(l string) string {
	switch l {
	case "low", "medium", "high", "critical":
		return "lvl-" + l
	}
	return "lvl-none"
}

// bar is one bar of a bar chart.
type bar struct {
	Label string
	Value int
	Class string
	Href  string
}

// barChart draws horizontal bars with their labels and values.
func barChart(id, title string, bars []bar) template.HTML {
	const w, rowH, labelW, valueW = 420, 26, 180, 40
	h := max(1, len(bars))*rowH + 8
	maxV := 1
	for _, br := range bars {
		maxV = max(maxV, br.Value)
	}
	var parts []string
	for _, br := range bars {
		parts = append(parts, fmt.Sprintf("%s %d", br.Label, br.Value))
	}
	var b strings.Builder
	desc := strings.Join(parts, ", ")
	if desc == "" {
		desc = "No data."
	}
	svgOpen(&b, id, w, h, title, desc)
	for i, br := range bars {
		yy := 4 + i*rowH
		bw := int(math.Round(float64(br.Value) / float64(maxV) * float64(w-labelW-valueW)))
		fmt.Fprintf(&b, `<text class="bar-label" x="%d" y="%d" text-anchor="end">%s</text>`, labelW-8, yy+17, esc(br.Label))
		fmt.Fprintf(&b, `<rect class="bar %s" x="%d" y="%d" width="%d" height="%d"><title>%s: %d</title></rect>`,
			esc(br.Class), labelW, yy+3, max(bw, 1), rowH-8, esc(br.Label), br.Value)
		fmt.Fprintf(&b, `<text class="bar-value" x="%d" y="%d">%d</text>`, labelW+max(bw, 1)+6, yy+17, br.Value)
	}
	if len(bars) == 0 {
		fmt.Fprintf(&b, `<text class="axis" x="10" y="20">No data yet.</text>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text above is escaped
}

// series is one stacked series of a column chart.
type series struct {
	Name   string
	Class  string
	Values []int
}

// columnChart draws stacked columns, one per slot, with a legend.
func columnChart(id, title string, slots []string, ss []series) template.HTML {
	const w, h, left, bottom, top, legendH = 720, 220, 40, 26, 8, 22
	n := max(1, len(slots))
	totals := make([]int, n)
	maxV := 1
	for i := range n {
		for _, s := range ss {
			if i < len(s.Values) {
				totals[i] += s.Values[i]
			}
		}
		maxV = max(maxV, totals[i])
	}
	plotH := float64(h - bottom - top - legendH)
	colW := float64(w-left-10) / float64(n)
	var b strings.Builder
	var parts []string
	for _, s := range ss {
		sum := 0
		for _, v := range s.Values {
			sum += v
		}
		parts = append(parts, fmt.Sprintf("%s %d", s.Name, sum))
	}
	svgOpen(&b, id, w, h, title, "Totals over the window: "+strings.Join(parts, ", ")+".")
	for i := range n {
		yy := float64(top+legendH) + plotH
		for _, s := range ss {
			if i >= len(s.Values) || s.Values[i] == 0 {
				continue
			}
			hh := float64(s.Values[i]) / float64(maxV) * plotH
			yy -= hh
			fmt.Fprintf(&b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %d</title></rect>`,
				esc(s.Class), float64(left)+float64(i)*colW+1, yy, math.Max(colW-2, 1), hh, esc(slots[i]), esc(s.Name), s.Values[i])
		}
	}
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">%d</text>`, left-6, top+legendH+10, maxV)
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">0</text>`, left-6, h-bottom)
	if len(slots) > 0 {
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d">%s</text>`, left, h-8, esc(slots[0]))
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">%s</text>`, w-10, h-8, esc(slots[len(slots)-1]))
	}
	lx := left
	for _, s := range ss {
		fmt.Fprintf(&b, `<rect class="bar %s" x="%d" y="%d" width="12" height="12"/><text class="legend" x="%d" y="%d">%s</text>`,
			esc(s.Class), lx, top, lx+16, top+11, esc(s.Name))
		lx += 24 + 9*len(s.Name)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text above is escaped
}

// heatmap draws a client's hour-of-week histogram: 7 rows (Monday first)
// of 24 cells, darker for more sessions.
func heatmap(id string, hours [168]float32) template.HTML {
	const cell, left, top = 22, 40, 20
	days := []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	var maxV float32
	for _, v := range hours {
		maxV = max(maxV, v)
	}
	var b strings.Builder
	svgOpen(&b, id, left+24*cell+4, top+7*cell+4, "Sessions opened by hour of week (UTC)",
		fmt.Sprintf("Learned from the client's clean sessions; the busiest hour holds %.1f sessions.", maxV))
	for hr := 0; hr < 24; hr += 3 {
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d">%02d</text>`, left+hr*cell+2, top-6, hr)
	}
	for d := range 7 {
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">%s</text>`, left-6, top+d*cell+15, days[d])
		for hr := range 24 {
			v := hours[hourIndex(d, hr)]
			shade := 0
			if maxV > 0 && v > 0 {
				shade = 1 + int(math.Min(4, math.Floor(float64(v/maxV)*5)))
			}
			fmt.Fprintf(&b, `<rect class="heat heat-%d" x="%d" y="%d" width="%d" height="%d"><title>%s %02d:00: %.1f</title></rect>`,
				min(shade, 5), left+hr*cell, top+d*cell, cell-2, cell-2, days[d], hr, v)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text above is escaped
}

// hourIndex maps a Monday-first day row and an hour to the risk engine's
// hour-of-week bucket (0 = Sunday 00:00 UTC).
func hourIndex(day, hour int) int { return ((day+1)%7)*24 + hour }
