package ldp_test

import (
	"math"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

// TestSetSamplerUnbiasedScaledByL checks padding-and-sampling's L scaling:
// every device holds a set of 1…L items; the mean estimate must match the
// number of sets containing each item and the MSE the exact variance. An
// estimator scaled by the mean set size instead of L would fail the bias
// check by a factor of about 2.
func TestSetSamplerUnbiasedScaledByL(t *testing.T) {
	const n, d, l = 3000, 12, 3
	runs := 200
	if testing.Short() {
		runs = 80
	}
	sets := make([][]int, n)
	truth := make([]float64, d)
	for i := range sets {
		size := 1 + i%l
		for j := range size {
			v := (i*7 + j*5) % d
			sets[i] = append(sets[i], v)
			truth[v]++
		}
	}
	for _, m := range []ldp.Mechanism{ldp.MechanismOUE, ldp.MechanismOLH, ldp.MechanismGRR} {
		s, err := ldp.NewSetSampler(m, 1, d, l)
		if err != nil {
			t.Fatal(err)
		}
		sum := make([]float64, d)
		var sq float64
		for r := range runs {
			rng := ldp.NewSeededRand(uint64(r) + 99)
			acc := s.Oracle().NewAccumulator()
			var buf []byte
			for _, set := range sets {
				if buf, err = s.AppendRandomized(buf[:0], set, rng); err != nil {
					t.Fatal(err)
				}
				if err := acc.Add(buf); err != nil {
					t.Fatal(err)
				}
			}
			for v, e := range s.Estimate(acc) {
				sum[v] += e.Value
				sq += (e.Value - truth[v]) * (e.Value - truth[v])
			}
		}
		var theory float64
		for v := range d {
			vv := s.CountVariance(n, truth[v])
			theory += vv
			if mean := sum[v] / float64(runs); math.Abs(mean-truth[v]) > 4*math.Sqrt(vv/float64(runs)) {
				t.Errorf("%v: item %d mean %.1f, truth %v", m, v, mean, truth[v])
			}
		}
		if ratio := sq / float64(runs) / theory; math.Abs(ratio-1) > 0.15 {
			t.Errorf("%v: MSE/theory = %.3f", m, ratio)
		}
	}
}

func TestSetSamplerRejectsBadSets(t *testing.T) {
	s, _ := ldp.NewSetSampler(ldp.MechanismOUE, 1, 10, 3)
	for _, set := range [][]int{{1, 1}, {10}, {-1}} {
		if _, err := s.AppendRandomized(nil, set, ldp.NewSeededRand(1)); err == nil {
			t.Errorf("set %v accepted", set)
		}
	}
	if _, err := s.AppendRandomized(nil, []int{1, 2, 3, 4, 5}, ldp.NewSeededRand(1)); err != nil {
		t.Errorf("long set (truncated) rejected: %v", err)
	}
	if _, err := ldp.NewSetSampler(ldp.MechanismOUE, 1, 10, 0); err == nil {
		t.Error("L = 0 accepted")
	}
}

// TestSetSamplerVarianceAtHolderCount: the variance of a padding-and-
// sampling estimate is CountVariance evaluated at the estimated number of
// holders — not at the oracle's count, which is L times smaller and made
// the intervals about 25% too narrow for common items.
func TestSetSamplerVarianceAtHolderCount(t *testing.T) {
	s, err := ldp.NewSetSampler(ldp.MechanismGRR, 2, 7, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := ldp.NewSeededRand(5)
	acc := s.Oracle().NewAccumulator()
	const n = 3000
	for range n {
		a, err := s.AppendRandomized(nil, []int{0, 1, 2}, rng)
		if err != nil {
			t.Fatal(err)
		}
		if err := acc.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	for v, e := range s.Estimate(acc) {
		want := s.CountVariance(n, math.Min(math.Max(e.Value, 0), n))
		if math.Abs(e.Variance-want) > 1e-9*want {
			t.Errorf("item %d: variance %v, want CountVariance(n, %.0f) = %v", v, e.Variance, e.Value, want)
		}
	}
}
