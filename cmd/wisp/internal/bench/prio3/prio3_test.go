package prio3

import (
	"bytes"
	"context"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRun: at ε = 1 the prio3 count's interval is ±4 devices whatever n
// (the goal is ≤ 10), its simulated sd and coverage match the
// exact figures, and the simulated randomized response matches its exact
// sd; every LDP row is wider than its question's prio3 row.
func TestRun(t *testing.T) {
	o := DefaultOptions()
	o.N, o.D, o.Releases, o.Populations, o.CostTime = 20_000, 20, 4_000, 200, 0
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 11 {
		t.Fatalf("%d rows, want 11", len(rep.Results))
	}
	prio3 := map[string]Result{}
	for _, r := range rep.Results {
		if r.N != o.N || r.Epsilon != 1 || r.CIHalfWidth <= 0 || r.Name == "" || (r.Mode != "prio3" && r.Mode != "ldp") {
			t.Errorf("row %+v", r)
		}
		if r.Mode == "prio3" {
			prio3[r.Name] = r
		}
	}
	for _, r := range rep.Results {
		switch {
		case r.Mode == "prio3" && r.Unit == "devices":
			if r.Trials == 0 || math.Abs(r.SimulatedSD/math.Sqrt(r.Variance)-1) > 0.05 || r.Coverage < 0.94 {
				t.Errorf("%s (prio3): simulated sd %.4g vs exact %.4g, coverage %.3f", r.Name, r.SimulatedSD, math.Sqrt(r.Variance), r.Coverage)
			}
		case r.Mode == "ldp" && r.Trials > 0:
			// 200 populations: the sd's relative standard error is 1/√400 = 5%.
			if math.Abs(r.SimulatedSD/math.Sqrt(r.Variance)-1) > 0.2 || r.Coverage < 0.88 {
				t.Errorf("%s (%s): simulated sd %.4g vs exact %.4g, coverage %.3f", r.Name, r.Mechanism, r.SimulatedSD, math.Sqrt(r.Variance), r.Coverage)
			}
		case r.Mode == "ldp" && r.CIHalfWidth <= prio3[r.Name].CIHalfWidth:
			t.Errorf("%s: LDP ±%.4g is not wider than prio3 ±%.4g", r.Name, r.CIHalfWidth, prio3[r.Name].CIHalfWidth)
		}
	}
	if c := rep.Results[0]; c.Mode != "prio3" || c.CIHalfWidth != 4 {
		t.Errorf("the prio3 segment count's interval is ±%v, want ±4", c.CIHalfWidth)
	}
	var text bytes.Buffer
	WriteText(&text, rep)
	if !strings.Contains(text.String(), "segment count (threshold): prio3 ±4 vs best LDP") {
		t.Errorf("text output:\n%s", text.String())
	}
}

// TestCostRows: one row per instance and one LDP row, each with a CPU
// time, a wall time and the size of a report that was really made.
func TestCostRows(t *testing.T) {
	o := DefaultOptions()
	o.CostTime = 20 * time.Millisecond
	rows, err := costRows(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 {
		t.Fatalf("%d cost rows, want 6", len(rows))
	}
	for _, r := range rows {
		if r.SecondsPerReport <= 0 || r.WallSecondsPerReport <= 0 || r.ReportBytes < 100 || r.Trials < 10 {
			t.Errorf("cost row %+v", r)
		}
	}
	// A Histogram's report carries a longer leader share than a Count's.
	if rows[1].ReportBytes <= rows[0].ReportBytes {
		t.Errorf("Histogram(10) report %d B, Count %d B", rows[1].ReportBytes, rows[0].ReportBytes)
	}
}

// TestPlot: the prio3 count's half-width is ±4 at every n (ε = 1), the
// best LDP one grows as √n (×1000 from 10² to 10⁸ devices) and the
// deployed two-layer one is wider still; Run writes them as a PNG.
func TestPlot(t *testing.T) {
	o := DefaultOptions()
	series, err := plotSeries(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 3 {
		t.Fatalf("%d series", len(series))
	}
	p3, one, two := series[0].Line, series[1].Line, series[2].Line
	if len(p3) != len(PlotNs) || PlotNs[0] != 100 || PlotNs[len(PlotNs)-1] != 100_000_000 {
		t.Fatalf("%d points over %v", len(p3), PlotNs)
	}
	for i := range p3 {
		if p3[i].Y != 4 || p3[i].X != float64(PlotNs[i]) {
			t.Errorf("prio3 at n = %v: ±%v, want ±4", p3[i].X, p3[i].Y)
		}
		if !(two[i].Y > one[i].Y && one[i].Y > p3[i].Y) {
			t.Errorf("n = %v: prio3 ±%v, best LDP ±%v, deployed LDP ±%v: want them in that order", p3[i].X, p3[i].Y, one[i].Y, two[i].Y)
		}
	}
	if r := one[len(one)-1].Y / one[0].Y; math.Abs(r/1000-1) > 0.01 {
		t.Errorf("best LDP grows %v× from 10² to 10⁸ devices, want √(10⁶) = 1000×", r)
	}
	if len(series[0].Marks) != 7 {
		t.Errorf("%d squares, want one per decade", len(series[0].Marks))
	}
	o.N, o.D, o.Releases, o.Populations, o.CostTime = 1000, 20, 0, 0, 0
	o.Plot = filepath.Join(t.TempDir(), "ci.png")
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(o.Plot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width != 980 {
		t.Errorf("plot: %+v, %v", cfg, err)
	}
}
