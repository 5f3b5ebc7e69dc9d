package ldpsim_test

import (
	"context"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp/ldpsim"
)

// TestRunSmall runs a small benchmark end to end and checks every row's
// MSE is within 5 standard errors of its theoretical variance — the
// Bloom baseline included, whose theory is the least-squares formula — and
// that the automatic choice is within noise of the best measured.
func TestRunSmall(t *testing.T) {
	cfg := ldpsim.DefaultConfig()
	cfg.N, cfg.D, cfg.Repeats, cfg.MeanGroups, cfg.Epsilons = 20000, 60, 6, 100, []float64{1, 4}
	rep, err := ldpsim.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rep.Results), 2*8; got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	for _, r := range rep.Results {
		t.Logf("%-14s ε=%v mse=%.4g theory=%.4g ratio=%.3f±%.3f", r.Mechanism, r.Epsilon, r.MSE, r.TheoryVariance, r.RatioToTheory, r.RatioSE)
		if r.RatioSE <= 0 || r.RatioToTheory-1 > 5*r.RatioSE || 1-r.RatioToTheory > 5*r.RatioSE {
			t.Errorf("%s ε=%v: MSE/theory = %.3f ± %.3f", r.Mechanism, r.Epsilon, r.RatioToTheory, r.RatioSE)
		}
	}
	for _, c := range rep.Choices {
		if !c.WithinNoise {
			t.Errorf("%s ε=%v: chose %s, best measured %s (%s)", c.Kind, c.Epsilon, c.Chosen, c.BestMeasured, c.Reason)
		}
	}
}
