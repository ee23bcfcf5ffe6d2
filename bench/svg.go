package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// throughputSVG draws grouped bars: one group per case, one bar per system.
func throughputSVG(m *measurements) string {
	const (
		width, height            = 960, 460
		left, right, top, bottom = 80, 20, 50, 90
		plotW, plotH             = width - left - right, height - top - bottom
	)
	colors := []string{"#1f77b4", "#6baed6", "#d62728", "#2ca02c", "#7f7f7f", "#9467bd", "#ff7f0e"}
	peak := 0.0
	for _, bc := range m.plan.cases {
		for _, s := range m.plan.systems {
			peak = max(peak, m.get(bc, s.name).throughput())
		}
	}
	step := niceStep(peak / 5)
	top10 := math.Max(step, math.Ceil(peak/step)*step)
	y := func(v float64) float64 { return top + plotH - v/top10*plotH }

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%d" y="24" font-size="16" font-weight="bold">Throughput (calls/s), higher is better</text>`+"\n", left)
	for v := 0.0; v <= top10+step/2; v += step {
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), width-right, y(v))
		p(`<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, rate(v))
	}
	groupW := float64(plotW) / float64(max(len(m.plan.cases), 1))
	barW := groupW * 0.8 / float64(max(len(m.plan.systems), 1))
	for gi, bc := range m.plan.cases {
		x0 := float64(left) + float64(gi)*groupW + groupW*0.1
		for si, s := range m.plan.systems {
			v := m.get(bc, s.name).throughput()
			x := x0 + float64(si)*barW
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s calls/s</title></rect>`+"\n",
				x, y(v), barW-2, float64(top+plotH)-y(v), colors[si%len(colors)], html.EscapeString(s.name), bc, rate(v))
		}
		p(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x0+groupW*0.4, top+plotH+18, html.EscapeString(bc.String()))
	}
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top+plotH, width-right, top+plotH)
	lx := float64(left)
	for si, s := range m.plan.systems {
		p(`<rect x="%.1f" y="%d" width="12" height="12" fill="%s"/>`+"\n", lx, height-40, colors[si%len(colors)])
		p(`<text x="%.1f" y="%d">%s</text>`+"\n", lx+16, height-30, html.EscapeString(s.name))
		lx += 24 + 8*float64(len(s.name))
	}
	p("</svg>\n")
	return b.String()
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(x)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*pow >= x {
			return f * pow
		}
	}
	return 10 * pow
}
