package ldp

import (
	"fmt"
	"math/rand/v2"
)

// RR is also a FrequencyOracle over d = 2 items (0 = no, 1 = yes) with a
// one-byte answer, so one-bit campaigns go through the same aggregator code
// as the others. p* = p and q* = 1−p, which makes CountVariance equal
// RR.CountVariance for either item.

// Params implements FrequencyOracle.
func (m RR) Params() Params {
	return Params{Mechanism: MechanismRR, Epsilon: m.Epsilon, D: 2, AnswerSize: 1}
}

// Support implements FrequencyOracle.
func (m RR) Support() (p, q float64) { p = m.P(); return p, 1 - p }

// AppendRandomized implements FrequencyOracle for v ∈ {0, 1}.
func (m RR) AppendRandomized(dst []byte, v int, rng *rand.Rand) ([]byte, error) {
	if v != 0 && v != 1 {
		return dst, fmt.Errorf("%w: %d not in {0, 1}", ErrValue, v)
	}
	if m.Randomize(v == 1, rng) {
		return append(dst, 1), nil
	}
	return append(dst, 0), nil
}

// NewAccumulator implements FrequencyOracle.
func (m RR) NewAccumulator() Accumulator { return &rrAccumulator{} }

type rrAccumulator struct{ n, ones int }

func (a *rrAccumulator) Add(answer []byte) error {
	if len(answer) != 1 || answer[0] > 1 {
		return fmt.Errorf("%w: rr answer %x", ErrAnswer, answer)
	}
	a.n++
	a.ones += int(answer[0])
	return nil
}

func (a *rrAccumulator) N() int { return a.n }

func (a *rrAccumulator) Support() []float64 {
	return []float64{float64(a.n - a.ones), float64(a.ones)}
}
