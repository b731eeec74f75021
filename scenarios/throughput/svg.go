package throughput

import (
	"bytes"
	"cmp"
	"fmt"
	"html"
	"math"
	"slices"
)

// chart is a line chart with a logarithmic y axis, rendered as SVG by hand.
type chart struct {
	Title, XLabel, YLabel string
	// YMin is the bottom of the y axis, a power of ten; smaller values
	// are drawn at it.
	YMin   float64
	Series []series
}

type series struct {
	Name   string
	Points []Point
}

// palette is Okabe and Ito's colour-blind safe palette, grey first.
var palette = []string{"#999999", "#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7"}

const (
	chartW, chartH           = 900, 420
	marginL, marginR         = 70, 170
	marginT, marginB         = 40, 50
	plotW, plotH     float64 = chartW - marginL - marginR, chartH - marginT - marginB
)

// SVG renders the chart.
func (c chart) SVG() []byte {
	xmax, ymax := 0.0, c.YMin*10
	for _, s := range c.Series {
		for _, p := range s.Points {
			xmax, ymax = math.Max(xmax, p.Hours), math.Max(ymax, p.Value)
		}
	}
	xstep := niceStep(xmax / 8)
	xmax = math.Ceil(xmax/xstep) * xstep
	lo, hi := math.Round(math.Log10(c.YMin)), math.Ceil(math.Log10(ymax)-1e-9)
	x := func(v float64) float64 { return marginL + plotW*v/xmax }
	y := func(v float64) float64 {
		return marginT + plotH*(1-(math.Log10(math.Max(v, c.YMin))-lo)/(hi-lo))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">%s</text>`+"\n", marginL, html.EscapeString(c.Title))
	for v := 0.0; v <= xmax+1e-9; v += xstep {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", x(v), marginT, x(v), marginT+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%g</text>`+"\n", x(v), marginT+plotH+16, v)
	}
	for e := int(lo); e <= int(hi); e++ {
		v := math.Pow10(e)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", marginL, y(v), marginL+plotW, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n", marginL-6, y(v)+4, v)
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#666"/>`+"\n", marginL, marginT, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", marginL+plotW/2, chartH-10, html.EscapeString(c.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", marginT+plotH/2, html.EscapeString(c.YLabel))
	for i, s := range c.Series {
		color := palette[i%len(palette)]
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.Hours), y(p.Value)))
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", color, join(pts))
		}
		ly := float64(marginT + 10 + 18*i)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", marginL+plotW+12, ly, marginL+plotW+36, ly, color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", marginL+plotW+42, ly+4, html.EscapeString(s.Name))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func join(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x)
	}
	return b.String()
}

// niceStep rounds a step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// hourly averages points per hour of their x.
func hourly(points []Point) []Point {
	sums := map[int]*[2]float64{}
	for _, p := range points {
		h := int(p.Hours)
		if sums[h] == nil {
			sums[h] = &[2]float64{}
		}
		sums[h][0] += p.Value
		sums[h][1]++
	}
	var out []Point
	for h, s := range sums {
		out = append(out, Point{Hours: float64(h) + 0.5, Value: s[0] / s[1]})
	}
	slices.SortFunc(out, func(a, b Point) int { return cmp.Compare(a.Hours, b.Hours) })
	return out
}

// Plots returns the SVG plots of the comparison's first seed, by file name:
// the queue length over time, and the latency by hour of approval.
func (c *Comparison) Plots() map[string][]byte {
	queue := chart{
		Title:  fmt.Sprintf("%s: items in the gate (seed %d)", c.Case.Name, c.Seeds[0]),
		XLabel: "hours", YLabel: "items (log scale; 0 drawn as 1)", YMin: 1,
	}
	latency := chart{
		Title:  fmt.Sprintf("%s: approval-to-merge latency by hour of approval, mean per hour (seed %d)", c.Case.Name, c.Seeds[0]),
		XLabel: "hour of first approval", YLabel: "hours (log scale)", YMin: 0.1,
	}
	for i, s := range c.Strategies {
		r := c.Runs[i][0]
		queue.Series = append(queue.Series, series{Name: s.Name, Points: r.QueueLength})
		latency.Series = append(latency.Series, series{Name: s.Name, Points: hourly(r.Latency)})
	}
	return map[string][]byte{
		c.Case.Name + "-queue.svg":   queue.SVG(),
		c.Case.Name + "-latency.svg": latency.SVG(),
	}
}
