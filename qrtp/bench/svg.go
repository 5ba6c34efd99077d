package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// Chart is a line chart: one line per series over a shared x axis.
type Chart struct {
	Title          string
	XLabel, YLabel string
	// XMax and YMax fix the axes' upper ends; 0 means from the data.
	XMax, YMax float64
	Series     []Series
	// Guides are horizontal reference lines (targets).
	Guides []Guide
}

// Series is one line.
type Series struct {
	Name   string
	Points []Point
	Dashed bool
}

// Point is one (x, y) pair.
type Point struct{ X, Y float64 }

// Guide is a labelled horizontal line.
type Guide struct {
	Y     float64
	Label string
}

// palette gives series distinct colours that survive greyscale printing
// reasonably (dark to light).
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"}

const (
	svgW, svgH               = 640, 400
	padL, padR, padT, padB   = 60, 170, 40, 50
	plotW, plotH             = svgW - padL - padR, svgH - padT - padB
	ticksX, ticksY           = 5, 5
	legendRowH, legendMarker = 18, 24
)

// WriteSVG renders the chart as a standalone SVG document.
func (c *Chart) WriteSVG(w io.Writer) error {
	xmax, ymax := c.XMax, c.YMax
	for _, s := range c.Series {
		for _, p := range s.Points {
			xmax = math.Max(xmax, p.X)
			ymax = math.Max(ymax, p.Y)
		}
	}
	if xmax <= 0 {
		xmax = 1
	}
	if ymax <= 0 {
		ymax = 1
	}
	px := func(x float64) float64 { return padL + x/xmax*plotW }
	py := func(y float64) float64 { return padT + plotH - y/ymax*plotH }

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	text(&b, svgW/2, 22, "middle", 14, c.Title)
	// Grid and ticks.
	for i := 0; i <= ticksY; i++ {
		v := ymax * float64(i) / ticksY
		y := py(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", padL, y, padL+plotW, y)
		text(&b, padL-6, int(y)+4, "end", 11, trimFloat(v))
	}
	for i := 0; i <= ticksX; i++ {
		v := xmax * float64(i) / ticksX
		x := px(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x, padT, x, padT+plotH)
		text(&b, int(x), padT+plotH+16, "middle", 11, trimFloat(v))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>`+"\n", padL, padT, plotW, plotH)
	text(&b, padL+plotW/2, svgH-10, "middle", 12, c.XLabel)
	fmt.Fprintf(&b, `<text x="16" y="%d" text-anchor="middle" transform="rotate(-90 16 %d)">%s</text>`+"\n", padT+plotH/2, padT+plotH/2, esc(c.YLabel))
	for _, g := range c.Guides {
		y := py(g.Y)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#888" stroke-dasharray="2,3"/>`+"\n", padL, y, padL+plotW, y)
		text(&b, padL+plotW-4, int(y)-3, "end", 10, g.Label)
	}
	// Lines, markers and legend.
	for i, s := range c.Series {
		col := palette[i%len(palette)]
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6,4"`
		}
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p.X), py(p.Y)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", col, dash, strings.Join(pts, " "))
		for _, p := range s.Points {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(p.X), py(p.Y), col)
		}
		ly := padT + 10 + i*legendRowH
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", padL+plotW+12, ly, padL+plotW+12+legendMarker, ly, col, dash)
		text(&b, padL+plotW+12+legendMarker+6, ly+4, "start", 11, s.Name)
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func text(b *bytes.Buffer, x, y int, anchor string, size int, s string) {
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="%s" font-size="%d">%s</text>`+"\n", x, y, anchor, size, esc(s))
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-0" {
		return "0"
	}
	return s
}
