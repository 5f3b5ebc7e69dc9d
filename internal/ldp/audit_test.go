package ldp_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

// auditZ is the normal quantile of the audit's confidence bounds: 4σ, so a
// single bound is wrong with probability about 3·10⁻⁵.
const auditZ = 4

// wilson returns the Wilson score interval for k successes in n trials.
func wilson(k, n int) (lo, hi float64) {
	p, nf, z2 := float64(k)/float64(n), float64(n), float64(auditZ*auditZ)
	center := (p + z2/(2*nf)) / (1 + z2/nf)
	half := auditZ * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / (1 + z2/nf)
	return math.Max(center-half, 0), math.Min(center+half, 1)
}

// auditLoss returns a high-confidence lower bound on the privacy loss of a
// randomizer on two neighbouring inputs. sample(in, rng) runs the
// randomizer on input in ∈ {0, 1} and maps its output to one of k
// categories — any function of the output, since post-processing cannot
// raise the loss, chosen to contain the event where the ratio is largest.
// For every category and both directions, it bounds ln(P[o|a]/P[o|b])
// below by ln(lower(P[o|a]) / upper(P[o|b])) and returns the largest.
func auditLoss(sample func(in int, rng *rand.Rand) int, k, samples int) float64 {
	rng := ldp.NewSeededRand(42)
	var counts [2][]int
	for in := range 2 {
		counts[in] = make([]int, k)
		for range samples {
			counts[in][sample(in, rng)]++
		}
	}
	loss := math.Inf(-1)
	for o := range k {
		for a := range 2 {
			lo, _ := wilson(counts[a][o], samples)
			_, hi := wilson(counts[1-a][o], samples)
			if lo > 0 {
				loss = math.Max(loss, math.Log(lo/hi))
			}
		}
	}
	return loss
}

// auditLowerBound is auditLoss for a one-bit randomizer.
func auditLowerBound(randomize func(bool, *rand.Rand) bool, samples int) float64 {
	return auditLoss(func(in int, rng *rand.Rand) int {
		if randomize(in == 1, rng) {
			return 1
		}
		return 0
	}, 2, samples)
}

// supportCategory maps an oracle's answer to which of items 0 and 1 it
// supports (4 categories), by feeding it to a fresh accumulator: the
// worst-case event for every pure oracle is "supports the true item and not
// the neighbour's".
func supportCategory(fo ldp.FrequencyOracle, answer []byte) int {
	acc := fo.NewAccumulator()
	if err := acc.Add(answer); err != nil {
		panic(err)
	}
	s := acc.Support()
	return int(s[0]) + 2*int(s[1])
}

// auditCase is one randomizer, built for a given ε, with its audit sampler.
type auditCase struct {
	name  string
	build func(eps float64) (sample func(in int, rng *rand.Rand) int, k int)
	// conservative: the claimed ε is a bound the mechanism does not reach
	// (two-layer OLH and Hadamard, whose reports are a mixture of ε1-LDP
	// distributions), so only a gross mis-scaling must be caught.
	conservative bool
}

func oracleCase(m ldp.Mechanism, d int) auditCase {
	return auditCase{name: fmt.Sprintf("%v/d=%d", m, d), build: func(eps float64) (func(int, *rand.Rand) int, int) {
		fo, err := ldp.NewOracle(m, eps, d)
		if err != nil {
			panic(err)
		}
		return func(in int, rng *rand.Rand) int {
			a, err := fo.AppendRandomized(nil, in, rng)
			if err != nil {
				panic(err)
			}
			return supportCategory(fo, a)
		}, 4
	}}
}

func auditCases() []auditCase {
	return append([]auditCase{
		oracleCase(ldp.MechanismRR, 2),
		oracleCase(ldp.MechanismGRR, 6),
		oracleCase(ldp.MechanismOUE, 6),
		oracleCase(ldp.MechanismOLH, 6),
		oracleCase(ldp.MechanismHadamard, 6),
		{name: "set-sampler/oue/L=1", build: func(eps float64) (func(int, *rand.Rand) int, int) {
			s, err := ldp.NewSetSampler(ldp.MechanismOUE, eps, 6, 1)
			if err != nil {
				panic(err)
			}
			return func(in int, rng *rand.Rand) int {
				a, _ := s.AppendRandomized(nil, []int{in}, rng)
				return supportCategory(s.Oracle(), a)
			}, 4
		}},
		{name: "duchi", build: func(eps float64) (func(int, *rand.Rand) int, int) {
			m, _ := ldp.NewDuchi(eps)
			return func(in int, rng *rand.Rand) int {
				a, _ := m.AppendRandomized(nil, float64(2*in-1), rng)
				return int(a[0])
			}, 2
		}},
		{name: "piecewise", build: func(eps float64) (func(int, *rand.Rand) int, int) {
			m, _ := ldp.NewPiecewise(eps)
			return func(in int, rng *rand.Rand) int {
				a, _ := m.AppendRandomized(nil, float64(2*in-1), rng)
				y, _ := m.Decode(a)
				switch {
				case y < -1:
					return 0
				case y > 1:
					return 2
				}
				return 1
			}, 3
		}},
	}, longitudinalAuditCases()...)
}

// TestAudit runs every randomizer on worst-case neighbouring inputs and
// checks that the privacy-loss lower bound does not exceed the claimed ε;
// the same randomizer built for 2ε while claiming ε (a mis-scaled ε) must
// fail the same check, so the audit is shown to be able to fail. Without
// -short it also catches a subtler 1.3ε.
func TestAudit(t *testing.T) {
	const eps = 1.0
	samples, factors := 200000, []float64{2, 1.3}
	if testing.Short() {
		samples, factors = 60000, []float64{2}
	}
	for _, c := range auditCases() {
		t.Run(c.name, func(t *testing.T) {
			sample, k := c.build(eps)
			if lb := auditLoss(sample, k, samples); lb > eps {
				t.Errorf("honest: privacy-loss lower bound %.3f exceeds ε=%v", lb, eps)
			} else {
				t.Logf("honest: lower bound %.3f ≤ ε=%v", lb, eps)
			}
			for _, f := range factors {
				if c.conservative && f < 2 {
					continue
				}
				broken, k := c.build(f * eps)
				if lb := auditLoss(broken, k, samples); lb <= eps {
					t.Errorf("mis-scaled (%vε): lower bound %.3f does not exceed claimed ε=%v; the audit cannot fail", f, lb, eps)
				} else {
					t.Logf("mis-scaled (%vε): lower bound %.3f > ε=%v (caught)", f, lb, eps)
				}
			}
		})
	}
}
