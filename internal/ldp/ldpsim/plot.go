package ldpsim

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/wisp-project/wisp/internal/pngplot"
)

// PlotPNG draws error vs ε per mechanism: for each frequency, baseline and
// set row the relative error sqrt(MSE)/n (a fraction of the population;
// for mean rows, the RMSE of the mean in [-1, 1] units), measured as
// squares and theory as lines, on log-log axes.
func PlotPNG(w io.Writer, rep Report) error {
	var series []pngplot.Series
	index := map[string]int{}
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
		i, ok := index[name]
		if !ok {
			i, index[name] = len(series), len(series)
			series = append(series, pngplot.Series{Name: name})
		}
		s := &series[i]
		s.Line = append(s.Line, pngplot.Point{X: r.Epsilon, Y: math.Sqrt(r.TheoryVariance) / scale})
		s.Marks = append(s.Marks, pngplot.Point{X: r.Epsilon, Y: math.Sqrt(r.MSE) / scale})
	}
	if len(series) == 0 {
		return fmt.Errorf("ldpsim: nothing to plot")
	}
	return pngplot.Chart{
		Title:  fmt.Sprintf("ERROR VS EPSILON, N=%d, D=%d: LINES THEORY, SQUARES MEASURED", rep.Config.N, rep.Config.D),
		XLabel: "EPSILON (LOG)", YLabel: "RMSE/N", Series: series,
	}.WritePNG(w)
}
