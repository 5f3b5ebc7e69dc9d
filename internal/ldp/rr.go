package ldp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// RR is Warner's randomized response on one bit: report the true bit with
// probability p = e^ε/(1+e^ε), its complement otherwise. The ratio of the
// probabilities of any output under the two inputs is p/(1-p) = e^ε, so one
// report is ε-LDP. The count estimator's variance is
// n·p(1-p)/(2p-1)² = n·e^ε/(e^ε-1)², whatever the truth (CountVariance).
type RR struct {
	Epsilon float64
}

// ErrEpsilon reports an ε that is not a finite positive number.
var ErrEpsilon = errors.New("ldp: ε must be finite and > 0")

// NewRR returns binary randomized response with privacy parameter epsilon.
func NewRR(epsilon float64) (RR, error) {
	if !(epsilon > 0) || math.IsInf(epsilon, 0) {
		return RR{}, fmt.Errorf("%w (got %v)", ErrEpsilon, epsilon)
	}
	return RR{Epsilon: epsilon}, nil
}

// P is the probability of reporting the true bit.
func (m RR) P() float64 { return 1 / (1 + math.Exp(-m.Epsilon)) }

// Randomize returns the report for the true bit.
func (m RR) Randomize(bit bool, rng *rand.Rand) bool {
	if rng.Float64() < m.P() {
		return bit
	}
	return !bit
}

// EstimateCount estimates how many of n reporters hold bit 1 from the number
// of reported ones. With p the truth probability, E[ones] = t·p + (n-t)(1-p),
// so t̂ = (ones - n(1-p)) / (2p-1) is unbiased, and since every report is a
// Bernoulli with variance p(1-p) whatever its input,
// Var[t̂] = n·p(1-p) / (2p-1)², independent of the truth.
func (m RR) EstimateCount(n, ones int) Estimate {
	p := m.P()
	value := (float64(ones) - float64(n)*(1-p)) / (2*p - 1)
	return newEstimate(value, m.CountVariance(n))
}

// CountVariance is Var[t̂] for n reports.
func (m RR) CountVariance(n int) float64 {
	p := m.P()
	return float64(n) * p * (1 - p) / ((2*p - 1) * (2*p - 1))
}
