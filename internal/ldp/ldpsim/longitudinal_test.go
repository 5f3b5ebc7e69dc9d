package ldpsim_test

import (
	"context"
	"os"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/ldp/ldpsim"
)

// TestLongitudinalMatchesTheory (issue 14, item 3): on fixed seeds, the
// MSE of every two-layer estimator (and of the α-rounded means) is within
// 0.95–1.05 of its composed closed-form variance.
func TestLongitudinalMatchesTheory(t *testing.T) {
	cfg := ldpsim.DefaultConfig()
	cfg.N, cfg.D, cfg.Repeats, cfg.MeanGroups, cfg.Epsilons = 10000, 200, 30, 1000, []float64{1, 4}
	rep, err := ldpsim.RunLongitudinal(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rep.Results), 2*8; got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	for _, r := range rep.Results {
		t.Logf("%-16s ε∞=%v mse=%.4g theory=%.4g ratio=%.3f±%.3f", r.Mechanism, r.Epsilon, r.MSE, r.TheoryVariance, r.RatioToTheory, r.RatioSE)
		if r.RatioToTheory < 0.95 || r.RatioToTheory > 1.05 {
			t.Errorf("%s ε=%v: MSE/theory = %.3f ± %.3f, want 0.95–1.05", r.Mechanism, r.Epsilon, r.RatioToTheory, r.RatioSE)
		}
	}
}

// TestCoverageCells checks a few cells of the coverage grid, the small-n
// high-ε corners where ±1.96·sd of the sample variance covered 2–54%.
func TestCoverageCells(t *testing.T) {
	for i, c := range []struct {
		m   ldp.Mechanism
		eps float64
		n   int
		v   float64
	}{
		{ldp.MechanismDuchi, 8, 50, 0.5}, {ldp.MechanismPiecewise, 8, 50, 1}, {ldp.MechanismPiecewise, 8, 50, 0},
		{ldp.MechanismRR, 8, 50, 0}, {ldp.MechanismOUE, 8, 50, 1}, {ldp.MechanismGRR, 4, 50, 0},
		{ldp.MechanismOLH, 1, 100, 0.5}, {ldp.MechanismHadamard, 0.5, 50, 1},
	} {
		got, err := ldpsim.Coverage(c.m, c.eps, c.n, c.v, 400, uint64(i)+1)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v ε=%v n=%d value=%v: coverage %.3f", c.m, c.eps, c.n, c.v, got)
		if got < 0.92 {
			t.Errorf("%v ε=%v n=%d value=%v: coverage %.3f", c.m, c.eps, c.n, c.v, got)
		}
	}
}

// TestCoverageGrid runs the whole grid of issue 14 (n ∈ {50, 100, 1000,
// 10⁴} × ε ∈ {0.5, 1, 2, 4, 8} × every mechanism × {0, 0.5, 1}) when
// WISP_COVERAGE_GRID is set; it takes minutes.
func TestCoverageGrid(t *testing.T) {
	if os.Getenv("WISP_COVERAGE_GRID") == "" {
		t.Skip("set WISP_COVERAGE_GRID=1 to run the full coverage grid")
	}
	trials := func(n int) int {
		if n >= 10000 {
			return 300
		}
		return 1000
	}
	cells, err := ldpsim.CoverageGrid(context.Background(), []int{50, 100, 1000, 10000}, []float64{0.5, 1, 2, 4, 8}, trials, 14)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		t.Logf("%-9s ε=%-3v n=%-5d value=%-3v coverage %.3f (%d trials)", c.Mechanism, c.Epsilon, c.N, c.TrueValue, c.Coverage, c.Trials)
	}
	t.Logf("worst cell: %+v", cells[0])
}
