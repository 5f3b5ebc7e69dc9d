// Package pngplot draws the benchmarks' charts — lines and squares on
// log–log axes, a legend, a title — as PNG with the standard library only
// (wisp bench privacy --plot, wisp bench prio3 --plot): a plotting module
// would be a dependency of the whole module for two images in docs/.
package pngplot

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"sort"
)

// Point is one (x, y) of a series; both axes are logarithmic, so a point
// with y ≤ 0 sets no bound.
type Point struct{ X, Y float64 }

// Series is one named curve: Line drawn as a thick line through its points
// (sorted by x), Marks as squares — e.g. theory and measurement.
type Series struct {
	Name  string
	Line  []Point
	Marks []Point
}

// Tick is a vertical grid line at X with its label.
type Tick struct {
	X     float64
	Label string
}

// Chart is what WritePNG draws. Labels are drawn in a 5×7 font of
// uppercase letters, digits and a little punctuation: other runes are
// left out.
type Chart struct {
	Title, XLabel, YLabel string
	// XTicks are the vertical grid lines; nil means one at every distinct
	// x of the series, labelled with %g. Horizontal lines are at the
	// decades of y, labelled 1E<d>.
	XTicks []Tick
	Series []Series
}

// WritePNG draws c as a 980×600 PNG.
func (c Chart) WritePNG(w io.Writer) error {
	const W, H, left, right, top, bottom = 980, 600, 90, 250, 50, 60
	if len(c.Series) == 0 {
		return fmt.Errorf("pngplot: nothing to plot")
	}
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fill(img, img.Bounds(), color.RGBA{255, 255, 255, 255})

	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	var xs []float64
	for _, s := range c.Series {
		for _, ps := range [][]Point{s.Line, s.Marks} {
			for _, p := range ps {
				minX, maxX = math.Min(minX, p.X), math.Max(maxX, p.X)
				xs = append(xs, p.X)
				if p.Y > 0 {
					minY, maxY = math.Min(minY, p.Y), math.Max(maxY, p.Y)
				}
			}
		}
	}
	if math.IsInf(minY, 1) {
		return fmt.Errorf("pngplot: no positive y to plot")
	}
	if maxX == minX {
		minX, maxX = minX/2, maxX*2
	}
	lo, hi := math.Floor(math.Log10(minY)), math.Ceil(math.Log10(maxY))
	if hi == lo {
		hi++
	}
	px := func(x float64) int {
		return left + int(float64(W-left-right)*(math.Log2(x)-math.Log2(minX))/(math.Log2(maxX)-math.Log2(minX)))
	}
	py := func(y float64) int {
		return H - bottom - int(float64(H-top-bottom)*(math.Log10(y)-lo)/(hi-lo))
	}
	grey, black := color.RGBA{220, 220, 220, 255}, color.RGBA{0, 0, 0, 255}
	for d := lo; d <= hi; d++ {
		y := py(math.Pow(10, d))
		line(img, left, y, W-right, y, grey)
		text(img, left-60, y-3, fmt.Sprintf("1E%d", int(d)), black)
	}
	ticks := c.XTicks
	if ticks == nil {
		sort.Float64s(xs)
		for i, x := range xs {
			if i == 0 || x != xs[i-1] {
				ticks = append(ticks, Tick{x, fmt.Sprintf("%g", x)})
			}
		}
	}
	for _, t := range ticks {
		x := px(t.X)
		line(img, x, top, x, H-bottom, grey)
		text(img, x-8, H-bottom+10, t.Label, black)
	}
	line(img, left, top, left, H-bottom, black)
	line(img, left, H-bottom, W-right, H-bottom, black)
	text(img, left, 20, c.Title, black)
	text(img, (W-right)/2-40, H-25, c.XLabel, black)
	text(img, 8, top-20, c.YLabel, black)

	palette := []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
		{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {23, 190, 207, 255}, {127, 127, 127, 255}}
	for i, s := range c.Series {
		col := palette[i%len(palette)]
		ps := append([]Point(nil), s.Line...)
		sort.SliceStable(ps, func(a, b int) bool { return ps[a].X < ps[b].X })
		for j := 1; j < len(ps); j++ {
			thick(img, px(ps[j-1].X), py(ps[j-1].Y), px(ps[j].X), py(ps[j].Y), col)
		}
		for _, p := range s.Marks {
			x, y := px(p.X), py(p.Y)
			fill(img, image.Rect(x-4, y-4, x+5, y+5), col)
		}
		ly := top + 10 + 22*i
		fill(img, image.Rect(W-right+20, ly, W-right+36, ly+8), col)
		text(img, W-right+44, ly, s.Name, black)
	}
	return png.Encode(w, img)
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// line draws with Bresenham's algorithm.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		if (image.Point{x0, y0}).In(img.Bounds()) {
			img.SetRGBA(x0, y0, c)
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func thick(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	for _, o := range [][2]int{{0, 0}, {0, 1}, {1, 0}, {0, -1}} {
		line(img, x0+o[0], y0+o[1], x1+o[0], y1+o[1], c)
	}
}

// text draws s in the 5×7 font at scale 1 (6 px per character).
func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range s {
		if g, ok := glyphs[r]; ok {
			for row, bits := range g {
				for col, b := range bits {
					if b == '#' {
						img.SetRGBA(x+col, y+row, c)
					}
				}
			}
		}
		x += 6
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func sign(x int) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}
