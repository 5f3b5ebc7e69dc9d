package ldp_test

import (
	"math"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

func TestMeanMechanismsUnbiasedWithTheoreticalVariance(t *testing.T) {
	n, runs := 2000, 300
	if testing.Short() {
		runs = 120
	}
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = math.Sin(float64(i)) // spread over [-1, 1], mean ≈ 0
	}
	var truth float64
	for _, x := range xs {
		truth += x
	}
	truth /= float64(n)
	for _, eps := range []float64{0.5, 1, 4} {
		for _, id := range []ldp.Mechanism{ldp.MechanismDuchi, ldp.MechanismPiecewise} {
			m, err := ldp.NewMeanMechanism(id, eps)
			if err != nil {
				t.Fatal(err)
			}
			var theory float64
			for _, x := range xs {
				theory += m.Variance(x)
			}
			theory /= float64(n) * float64(n)
			var sum, sq, reported float64
			for r := range runs {
				rng := ldp.NewSeededRand(uint64(r) + 5)
				acc := ldp.NewMeanAccumulator(m)
				var buf []byte
				for _, x := range xs {
					if buf, err = m.AppendRandomized(buf[:0], x, rng); err != nil {
						t.Fatal(err)
					}
					if err := acc.Add(buf); err != nil {
						t.Fatal(err)
					}
				}
				e := acc.Estimate()
				sum += e.Value
				sq += (e.Value - truth) * (e.Value - truth)
				reported += e.Variance
			}
			if mean := sum / float64(runs); math.Abs(mean-truth) > 4*math.Sqrt(theory/float64(runs)) {
				t.Errorf("%v ε=%v: mean %.4f, truth %.4f", id, eps, mean, truth)
			}
			if ratio := sq / float64(runs) / theory; math.Abs(ratio-1) > 0.25 {
				t.Errorf("%v ε=%v: MSE/theory = %.3f", id, eps, ratio)
			}
			// The reported variance is the closed-form worst case over the
			// true value (not the outputs' sample variance, which misses at
			// small n and high ε): never below the exact variance for these
			// devices, and what WorstVariance says.
			if worst := ldp.WorstVariance(m, ldp.Grid{}) / float64(n); reported/float64(runs) < theory || math.Abs(reported/float64(runs)/worst-1) > 1e-9 {
				t.Errorf("%v ε=%v: reported variance %.4g, exact %.4g, worst case %.4g", id, eps, reported/float64(runs), theory, worst)
			}
		}
	}
}

func TestChooseMean(t *testing.T) {
	for _, tt := range []struct {
		eps  float64
		want ldp.Mechanism
	}{{0.5, ldp.MechanismDuchi}, {1, ldp.MechanismDuchi}, {2, ldp.MechanismPiecewise}, {4, ldp.MechanismPiecewise}} {
		m, reason, err := ldp.ChooseMean(tt.eps)
		if err != nil || m.Params().Mechanism != tt.want {
			t.Errorf("ChooseMean(%v) = %v (%s), %v; want %v", tt.eps, m.Params().Mechanism, reason, err, tt.want)
		}
	}
}

func TestBounds(t *testing.T) {
	b := ldp.Bounds{Lo: 0, Hi: 600}
	for _, tt := range []struct{ in, want float64 }{{0, -1}, {300, 0}, {600, 1}, {900, 1}, {-5, -1}} {
		if got, err := b.Normalize(tt.in); err != nil || got != tt.want {
			t.Errorf("Normalize(%v) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	got := b.Denormalize(ldp.Estimate{Value: 0, Variance: 0.01})
	if got.Value != 300 || math.Abs(got.Variance-900) > 1e-9 {
		t.Errorf("Denormalize = %+v", got)
	}
	for _, x := range []float64{-1.01, 1.01, math.NaN()} {
		if _, err := (ldp.Duchi{}).AppendRandomized(nil, x, ldp.NewSeededRand(1)); err == nil {
			t.Errorf("Duchi accepted %v", x)
		}
	}
}
