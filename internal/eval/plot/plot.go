// Package plot draws an evaluation's detection/friction curve as a PNG:
// attacks contained against benign sessions with friction, one line per
// series, each point labelled with its tolerance. It is the only package
// that imports gonum.org/v1/plot.
package plot

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/vigil-auth/vigil/internal/eval"
)

// Series is one curve: a name for the legend and its points. A faint series
// is drawn thin and grey, behind the others, and faint series share one
// legend entry (the first one's name): many seeds stay readable as a spread
// around their total.
type Series struct {
	Name   string
	Points []eval.Point
	Faint  bool
}

var faintColor = color.RGBA{190, 190, 190, 255}

// Goal marks a target on the plot: at least Contained percent of attacks
// contained with at most Friction percent of benign sessions with friction.
type Goal struct {
	Contained, Friction float64
}

var palette = []color.RGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {148, 103, 189, 255},
	{255, 127, 14, 255}, {23, 190, 207, 255}, {140, 86, 75, 255}, {127, 127, 127, 255}}

// WritePNG draws the series (and the goal, when set) and writes a PNG.
func WritePNG(w io.Writer, title string, series []Series, goal *Goal) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "benign sessions with friction (%)"
	p.Y.Label.Text = "attacks contained, no harmful step allowed (%)"
	p.Y.Min, p.Y.Max = floorTen(series), 100
	p.X.Min = 0
	p.Legend.Top, p.Legend.Left = false, false
	p.Add(plotter.NewGrid())
	xmax := 5.0
	faintShown, bold, i := false, 0, 0
	for _, s := range series {
		if !s.Faint {
			bold++
		}
	}
	for _, s := range append(faintOnly(series, true), faintOnly(series, false)...) {
		xys := make(plotter.XYs, len(s.Points))
		labels := make([]string, len(s.Points))
		for k, pt := range s.Points {
			xys[k] = plotter.XY{X: pt.FrictionPct, Y: pt.ContainedPct}
			labels[k] = "t=" + strconv.FormatFloat(pt.Tolerance, 'g', 3, 64)
			xmax = max(xmax, pt.FrictionPct*1.1)
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		points.Shape = draw.CircleGlyph{}
		if s.Faint {
			line.Color, points.Color = faintColor, faintColor
			line.Width, points.Radius = vg.Points(0.75), vg.Points(1.5)
			p.Add(line, points)
			if !faintShown {
				p.Legend.Add(s.Name, line, points)
				faintShown = true
			}
			continue
		}
		c := palette[i%len(palette)]
		i++
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		p.Add(line, points)
		p.Legend.Add(s.Name, line, points)
		if i == 1 || bold == 1 {
			lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
			if err != nil {
				return fmt.Errorf("plot: %w", err)
			}
			for k := range lb.TextStyle {
				lb.TextStyle[k].XAlign = draw.XLeft
			}
			lb.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(-10)}
			p.Add(lb)
		}
	}
	if goal != nil {
		box, err := plotter.NewLine(plotter.XYs{{X: 0, Y: goal.Contained}, {X: goal.Friction, Y: goal.Contained}, {X: goal.Friction, Y: 100}})
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		box.Color = color.RGBA{0, 0, 0, 255}
		box.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(box)
		p.Legend.Add(fmt.Sprintf("goal: ≥%g%% contained, ≤%g%% friction", goal.Contained, goal.Friction), box)
	}
	p.X.Max = xmax
	wt, err := p.WriterTo(8*vg.Inch, 5.5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	_, err = wt.WriteTo(w)
	return err
}

// faintOnly returns the series whose Faint equals faint, in order.
func faintOnly(series []Series, faint bool) []Series {
	var out []Series
	for _, s := range series {
		if s.Faint == faint {
			out = append(out, s)
		}
	}
	return out
}

// floorTen is the y axis' lower end: the multiple of ten at least five
// points below the lowest point drawn (0 at the least), so curves near the
// top are not squeezed against it.
func floorTen(series []Series) float64 {
	low := 100.0
	for _, s := range series {
		for _, pt := range s.Points {
			low = min(low, pt.ContainedPct)
		}
	}
	return max(0, math.Floor((low-5)/10)*10)
}
