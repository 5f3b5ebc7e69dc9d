package ldp_test

import (
	"math"
	"math/rand/v2"

	"github.com/wisp-project/wisp/internal/ldp"
)

// auditLowerBound estimates a high-confidence lower bound on the privacy loss
// of a one-bit randomizer: for each output o it bounds ln(P[o|1]/P[o|0]) from
// below using Clopper–Pearson-style normal bounds at 4σ (numerator at its
// lower bound, denominator at its upper bound), and returns the largest.
func auditLowerBound(randomize func(bool, *rand.Rand) bool, samples int) float64 {
	rng := ldp.NewSeededRand(42)
	count := func(in bool) float64 {
		ones := 0
		for range samples {
			if randomize(in, rng) {
				ones++
			}
		}
		return float64(ones) / float64(samples)
	}
	p1, p0 := count(true), count(false)
	lower := func(p float64) float64 { return p - 4*math.Sqrt(p*(1-p)/float64(samples)) }
	upper := func(p float64) float64 { return p + 4*math.Sqrt(p*(1-p)/float64(samples)) }
	loss := math.Max(
		math.Log(lower(p1)/upper(p0)),     // output 1
		math.Log(lower(1-p0)/upper(1-p1)), // output 0
	)
	return loss
}
