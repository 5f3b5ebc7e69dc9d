package prio3

import (
	"fmt"
	"io"
	"math"
	"os"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/pngplot"
	"github.com/wisp-project/wisp/internal/prio"
)

// PlotNs are the population sizes the plot draws: half-decades from 10² to 10⁸.
var PlotNs = func() []int {
	var ns []int
	for e := 2.0; e <= 8; e += 0.5 {
		ns = append(ns, int(math.Round(math.Pow(10, e))))
	}
	return ns
}()

// PlotPNG draws the 95% interval half-width of a segment count against n
// on log–log axes at o's ε and share: prio3 (flat: the central noise does
// not grow with n), the best one-layer LDP mechanism (randomized response,
// growing with √n) and the two-layer LDP Wisp's campaigns send. The
// figures are the rows' own (prio3Row, rrRow, rrTwoLayerRow), exact.
func PlotPNG(w io.Writer, o Options) error {
	series, err := plotSeries(o)
	if err != nil {
		return err
	}
	var ticks []pngplot.Tick
	for e := 2; e <= 8; e++ {
		ticks = append(ticks, pngplot.Tick{X: math.Pow(10, float64(e)), Label: fmt.Sprintf("1E%d", e)})
	}
	return pngplot.Chart{
		Title:  fmt.Sprintf("95 PERCENT CI HALF-WIDTH OF A SEGMENT COUNT VS N, EPSILON=%g, SEGMENT SHARE %g", o.Epsilon, o.Share),
		XLabel: "DEVICES N (LOG)", YLabel: "CI +/- DEVICES", XTicks: ticks, Series: series,
	}.WritePNG(w)
}

// plotSeries are PlotPNG's three curves over PlotNs (squares at the decades).
func plotSeries(o Options) ([]pngplot.Series, error) {
	name := "segment count"
	series := []pngplot.Series{{Name: "PRIO3, CENTRAL LAPLACE"}, {Name: "LDP RR, ONE LAYER (BEST)"}, {Name: "LDP RR, TWO LAYERS (DEPLOYED)"}}
	eps1 := o.Epsilon * ldp.DefaultReportShare
	for k, n := range PlotNs {
		at := o
		at.N, at.Releases, at.Populations = n, 0, 0
		p, err := at.prio3Row(name, prio.ForThreshold(), 1)
		if err != nil {
			return nil, err
		}
		one, err := at.rrRow(name, 0)
		if err != nil {
			return nil, err
		}
		two, err := rrTwoLayerRow(name, float64(n), math.Round(o.Share*float64(n)), o.Epsilon, eps1)
		if err != nil {
			return nil, err
		}
		x := float64(n)
		for i, hw := range []float64{p.CIHalfWidth, z95 * math.Sqrt(one.Variance), z95 * math.Sqrt(two.Variance)} {
			series[i].Line = append(series[i].Line, pngplot.Point{X: x, Y: hw})
			if k%2 == 0 { // the decades, as squares
				series[i].Marks = append(series[i].Marks, pngplot.Point{X: x, Y: hw})
			}
		}
	}
	return series, nil
}

// writePlot writes PlotPNG to path.
func writePlot(path string, o Options) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := PlotPNG(f, o); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
