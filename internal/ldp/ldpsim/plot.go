package ldpsim

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"sort"
	"strings"
)

// PlotPNG draws error vs ε per mechanism: for each frequency, baseline and
// set row the relative error sqrt(MSE)/n (a fraction of the population;
// for mean rows, the RMSE of the mean in [-1, 1] units), measured as
// squares and theory as lines, on log-log axes.
func PlotPNG(w io.Writer, rep Report) error {
	const W, H, left, right, top, bottom = 980, 600, 90, 250, 50, 60
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fill(img, img.Bounds(), color.RGBA{255, 255, 255, 255})

	type point struct{ eps, measured, theory float64 }
	series := map[string][]point{}
	var names []string
	for _, r := range rep.Results {
		name := strings.ToUpper(r.Mechanism)
		scale := float64(r.N)
		switch r.Kind {
		case "set":
			name = fmt.Sprintf("PS%d TOP-%d SETS", rep.Config.L, rep.Config.L)
		case "mean":
			name += " (MEAN)"
			scale = 1
		}
		if _, ok := series[name]; !ok {
			names = append(names, name)
		}
		series[name] = append(series[name], point{r.Epsilon, math.Sqrt(r.MSE) / scale, math.Sqrt(r.TheoryVariance) / scale})
	}
	if len(names) == 0 {
		return fmt.Errorf("ldpsim: nothing to plot")
	}
	minE, maxE, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, ps := range series {
		for _, p := range ps {
			minE, maxE = math.Min(minE, p.eps), math.Max(maxE, p.eps)
			for _, y := range []float64{p.measured, p.theory} {
				if y > 0 {
					minY, maxY = math.Min(minY, y), math.Max(maxY, y)
				}
			}
		}
	}
	if maxE == minE {
		minE, maxE = minE/2, maxE*2
	}
	lo, hi := math.Floor(math.Log10(minY)), math.Ceil(math.Log10(maxY))
	px := func(e float64) int {
		return left + int(float64(W-left-right)*(math.Log2(e)-math.Log2(minE))/(math.Log2(maxE)-math.Log2(minE)))
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
	var epsTicks []float64
	for _, ps := range series {
		for _, p := range ps {
			epsTicks = append(epsTicks, p.eps)
		}
	}
	sort.Float64s(epsTicks)
	for i, e := range epsTicks {
		if i > 0 && e == epsTicks[i-1] {
			continue
		}
		x := px(e)
		line(img, x, top, x, H-bottom, grey)
		text(img, x-8, H-bottom+10, fmt.Sprintf("%g", e), black)
	}
	line(img, left, top, left, H-bottom, black)
	line(img, left, H-bottom, W-right, H-bottom, black)
	text(img, left, 20, fmt.Sprintf("ERROR VS EPSILON, N=%d, D=%d: LINES THEORY, SQUARES MEASURED", rep.Config.N, rep.Config.D), black)
	text(img, (W-right)/2-40, H-25, "EPSILON (LOG)", black)
	text(img, 8, top-20, "RMSE/N", black)

	palette := []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
		{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {23, 190, 207, 255}, {127, 127, 127, 255}}
	for i, name := range names {
		c := palette[i%len(palette)]
		ps := series[name]
		sort.Slice(ps, func(a, b int) bool { return ps[a].eps < ps[b].eps })
		for j, p := range ps {
			if j > 0 {
				q := ps[j-1]
				thick(img, px(q.eps), py(q.theory), px(p.eps), py(p.theory), c)
			}
			x, y := px(p.eps), py(p.measured)
			fill(img, image.Rect(x-4, y-4, x+5, y+5), c)
		}
		ly := top + 10 + 22*i
		fill(img, image.Rect(W-right+20, ly, W-right+36, ly+8), c)
		text(img, W-right+44, ly, name, black)
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
