package prio3

import (
	"bytes"
	"context"
	"math"
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
