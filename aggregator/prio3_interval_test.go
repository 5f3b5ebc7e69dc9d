package aggregator_test

import (
	"math"
	"testing"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/internal/dpnoise"
)

// TestNoiseHalfWidth checks the closed-form quantile of the sum of two
// discrete Laplace draws against the convolution of their exact pmfs: the
// interval ±h covers at least 95%, ±(h−1) less.
func TestNoiseHalfWidth(t *testing.T) {
	for _, c := range []struct {
		sensitivity uint64
		epsilon     float64
	}{{1, 1}, {1, 2}, {1, 0.5}, {3, 1}, {1, 0.1}} {
		scale, err := dpnoise.LaplaceScale(c.sensitivity, c.epsilon)
		if err != nil {
			t.Fatal(err)
		}
		lap, err := dpnoise.NewLaplace(scale)
		if err != nil {
			t.Fatal(err)
		}
		h := aggregator.NoiseHalfWidth(scale, 0.95)
		// P(|X+Y| ≤ m) by convolution, X and Y truncated where their pmf
		// is below 1e-15.
		bound := int64(1)
		for lap.PMF(bound) > 1e-15 {
			bound++
		}
		covered := func(m int64) float64 {
			var p float64
			for x := -bound; x <= bound; x++ {
				for y := max(-bound, -m-x); y <= min(bound, m-x); y++ {
					p += lap.PMF(x) * lap.PMF(y)
				}
			}
			return p
		}
		in, below := covered(int64(h)), covered(int64(h)-1)
		t.Logf("Δ = %d, ε = %v: h = %v, P(|S| ≤ h) = %.5f, P(|S| ≤ h−1) = %.5f, 1.96·sd = %.2f",
			c.sensitivity, c.epsilon, h, in, below, 1.96*math.Sqrt(2*lap.Variance()))
		if in < 0.95-1e-9 || below >= 0.95 {
			t.Errorf("Δ = %d, ε = %v: half-width %v covers %.5f, one less %.5f; want the smallest covering 95%%", c.sensitivity, c.epsilon, h, in, below)
		}
	}
}
