// Package chart draws the small bar charts of the reseller's dashboard as
// SVG documents, on the server: no script, no library, every text escaped.
// A chart is sized for a phone (a 360 wide view box that scales down to
// any width) and carries a <title> and the figures as text, so that it
// reads without colour and screen readers announce it.
package chart

import (
	"bytes"
	"fmt"
	"html"
	"strconv"
)

// Bar is one horizontal bar: a label, its value and the value as text.
type Bar struct {
	Label string
	Value float64
	Text  string
}

// Series is one part of a stacked bar: its name in the legend and colour.
type Series struct {
	Name  string
	Color string
}

// Stack is one stacked bar: its label and one value per series.
type Stack struct {
	Label string
	Parts []float64
}

const (
	width     = 360
	barHeight = 22
	gap       = 8
)

// esc escapes text for an SVG text node or attribute.
func esc(s string) string { return html.EscapeString(s) }

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// HBars draws bars from left to right, scaled so that max fills the width
// (the largest value when max is 0); empty says what an empty chart shows.
func HBars(title string, bars []Bar, max float64, color, empty string) []byte {
	if max <= 0 {
		for _, b := range bars {
			max = maxf(max, b.Value)
		}
	}
	height := max0(len(bars))*(2*barHeight+gap) + gap
	var b bytes.Buffer
	open(&b, title, height)
	if len(bars) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty">%s</text>`, gap, height/2+4, esc(empty))
	}
	const inner = width - 2*gap
	for i, bar := range bars {
		y := gap + i*(2*barHeight+gap)
		w := 0.0
		if max > 0 {
			w = bar.Value / max * (inner - 60)
		}
		fmt.Fprintf(&b, `<g class="bar"><text x="%d" y="%d">%s</text>`, gap, y+barHeight-6, esc(bar.Label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%s" height="%d" rx="3" fill="%s"/>`, gap, y+barHeight, num(maxf(w, 1)), barHeight-4, esc(color))
		fmt.Fprintf(&b, `<text x="%s" y="%d" class="value">%s</text></g>`, num(float64(gap)+maxf(w, 1)+6), y+2*barHeight-8, esc(bar.Text))
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}

// Stacked draws one vertical bar per stack, its parts in series order from
// the bottom, with the total above it and a legend of the series below.
func Stacked(title string, series []Series, stacks []Stack, empty string) []byte {
	const top, plot = 20, 160
	legendRows := (len(series) + 1) / 2
	height := top + plot + 24 + legendRows*20 + gap
	var b bytes.Buffer
	open(&b, title, height)
	max := 0.0
	for _, s := range stacks {
		max = maxf(max, sum(s.Parts))
	}
	if len(stacks) == 0 || max == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty">%s</text>`, gap, top+plot/2, esc(empty))
	}
	slot := float64(width-2*gap) / float64(max0(len(stacks)))
	barW := minf(slot*0.7, 48)
	for i, s := range stacks {
		x := float64(gap) + slot*float64(i) + (slot-barW)/2
		y := float64(top + plot)
		total := sum(s.Parts)
		fmt.Fprintf(&b, `<g class="stack"><title>%s: %s</title>`, esc(s.Label), strconv.FormatFloat(total, 'f', -1, 64))
		for k, v := range s.Parts {
			if v <= 0 || max == 0 || k >= len(series) {
				continue
			}
			h := v / max * plot
			y -= h
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s: %s</title></rect>`,
				num(x), num(y), num(barW), num(h), esc(series[k].Color), esc(series[k].Name), strconv.FormatFloat(v, 'f', -1, 64))
		}
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="total" text-anchor="middle">%s</text>`, num(x+barW/2), num(y-4), strconv.FormatFloat(total, 'f', -1, 64))
		fmt.Fprintf(&b, `<text x="%s" y="%d" class="axis" text-anchor="middle">%s</text></g>`, num(x+barW/2), top+plot+16, esc(s.Label))
	}
	for k, s := range series {
		x := gap + (k%2)*(width/2)
		y := top + plot + 28 + (k/2)*20
		fmt.Fprintf(&b, `<g class="legend"><rect x="%d" y="%d" width="12" height="12" rx="2" fill="%s"/><text x="%d" y="%d">%s</text></g>`,
			x, y, esc(s.Color), x+18, y+11, esc(s.Name))
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}

// open writes the svg element, its title and the text style.
func open(b *bytes.Buffer, title string, height int) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		width, height, width, height, esc(title))
	fmt.Fprintf(b, `<title>%s</title>`, esc(title))
	b.WriteString(`<style>text{font:12px system-ui,sans-serif;fill:#222}.value,.total{font-weight:600}.axis{font-size:11px}.empty{fill:#666}</style>`)
}

func sum(xs []float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

func minf(a, b float64) float64 {
	if a < b {
		return a
	}
	return b
}

func max0(n int) int {
	if n < 1 {
		return 1
	}
	return n
}
