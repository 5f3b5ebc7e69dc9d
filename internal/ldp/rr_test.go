package ldp_test

import (
	"errors"
	"math"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

func TestNewRRRejectsBadEpsilon(t *testing.T) {
	for _, eps := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := ldp.NewRR(eps); !errors.Is(err, ldp.ErrEpsilon) {
			t.Errorf("NewRR(%v) error = %v, want ErrEpsilon", eps, err)
		}
	}
}

func TestRRProbabilityRatioIsExpEpsilon(t *testing.T) {
	for _, eps := range []float64{0.1, 0.5, 1, 2, 4, 8} {
		m, _ := ldp.NewRR(eps)
		p := m.P()
		if got := math.Log(p / (1 - p)); math.Abs(got-eps) > 1e-12 {
			t.Errorf("ε=%v: ln(p/(1-p)) = %v", eps, got)
		}
	}
}

// simulate runs one population of n devices of which truth hold bit 1 and
// returns the estimate.
func simulate(m ldp.RR, n, truth int, seed uint64) ldp.Estimate {
	rng := ldp.NewSeededRand(seed)
	ones := 0
	for i := range n {
		if m.Randomize(i < truth, rng) {
			ones++
		}
	}
	return m.EstimateCount(n, ones)
}

// TestRREstimatorUnbiasedWithTheoreticalVariance checks, over many seeded
// populations, that the mean estimate is within a few standard errors of the
// truth, that the empirical variance matches n·p(1-p)/(2p-1)², and that the
// 95% interval covers the truth at about the nominal rate.
func TestRREstimatorUnbiasedWithTheoreticalVariance(t *testing.T) {
	const n, truth, runs = 2000, 700, 2000
	for _, eps := range []float64{0.5, 1, 2} {
		m, _ := ldp.NewRR(eps)
		var sum, sumSq float64
		covered := 0
		for r := range runs {
			e := simulate(m, n, truth, uint64(r)+1)
			sum += e.Value
			sumSq += (e.Value - truth) * (e.Value - truth)
			if e.Low <= truth && truth <= e.High {
				covered++
			}
		}
		theory := m.CountVariance(n)
		mean := sum / runs
		if se := math.Sqrt(theory / runs); math.Abs(mean-truth) > 4*se {
			t.Errorf("ε=%v: mean estimate %.1f, truth %d, more than 4 standard errors (%.2f) apart", eps, mean, truth, se)
		}
		// The sample variance of runs draws has relative sd ≈ sqrt(2/runs) ≈ 3%.
		if ratio := sumSq / runs / theory; ratio < 0.9 || ratio > 1.1 {
			t.Errorf("ε=%v: empirical MSE / theoretical variance = %.3f, want ≈ 1", eps, ratio)
		}
		// Coverage of runs intervals has sd ≈ sqrt(.95·.05/runs) ≈ 0.5%.
		if rate := float64(covered) / runs; rate < 0.93 || rate > 0.97 {
			t.Errorf("ε=%v: 95%% interval covered truth in %.3f of runs", eps, rate)
		}
	}
}

func TestRRVarianceIndependentOfTruth(t *testing.T) {
	m, _ := ldp.NewRR(1)
	a, b := m.EstimateCount(1000, 0), m.EstimateCount(1000, 1000)
	if a.Variance != b.Variance || a.Variance != m.CountVariance(1000) {
		t.Fatalf("variance depends on the reports: %v vs %v", a.Variance, b.Variance)
	}
	if a.High-a.Value != a.Value-a.Low {
		t.Fatal("interval not symmetric")
	}
}

// TestRRAudit samples the randomizer on the two neighbouring inputs and checks
// that the empirical privacy loss, with a conservative confidence margin, does
// not exceed ε — and that an RR whose p was computed for 2ε fails the same
// check, so the audit is shown to be able to fail.
func TestRRAudit(t *testing.T) {
	const eps, samples = 1.0, 400000
	honest, _ := ldp.NewRR(eps)
	if lb := auditLowerBound(honest.Randomize, samples); lb > eps {
		t.Errorf("honest RR: privacy-loss lower bound %.3f exceeds ε=%v", lb, eps)
	}
	broken, _ := ldp.NewRR(2 * eps) // claims ε but spends 2ε
	if lb := auditLowerBound(broken.Randomize, samples); lb <= eps {
		t.Errorf("broken RR: lower bound %.3f does not exceed claimed ε=%v; the audit cannot fail", lb, eps)
	}
}
