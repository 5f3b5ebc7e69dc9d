package ldp

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// GRR is generalized (k-ary) randomized response over d items: report the
// true item with probability p = e^ε/(e^ε+d−1), otherwise one of the other
// d−1 items uniformly, each with probability q = 1/(e^ε+d−1). Any output's
// probability ratio between two inputs is at most p/q = e^ε: ε-LDP.
//
// With p* = p and q* = q, Var[ĉ(v)] = n·(e^ε+d−2)/(e^ε−1)² + c·(1−p−q)/(p−q)
// (Wang et al. 2017, §4.1): best for small d, linear in d.
// Answer: the item, little-endian in ⌈log₂₅₆ d⌉ bytes.
type GRR struct {
	epsilon float64
	d, size int
}

// NewGRR returns GRR over d items with privacy parameter epsilon.
func NewGRR(epsilon float64, d int) (GRR, error) {
	if err := checkEpsilon(epsilon); err != nil {
		return GRR{}, err
	}
	if err := checkDomain(d); err != nil {
		return GRR{}, err
	}
	return GRR{epsilon: epsilon, d: d, size: bytesFor(d)}, nil
}

// Params implements FrequencyOracle.
func (m GRR) Params() Params {
	return Params{Mechanism: MechanismGRR, Epsilon: m.epsilon, D: m.d, AnswerSize: m.size}
}

// Support implements FrequencyOracle.
func (m GRR) Support() (p, q float64) {
	e := math.Exp(m.epsilon)
	return e / (e + float64(m.d) - 1), 1 / (e + float64(m.d) - 1)
}

// AppendRandomized implements FrequencyOracle.
func (m GRR) AppendRandomized(dst []byte, v int, rng *rand.Rand) ([]byte, error) {
	if v < 0 || v >= m.d {
		return dst, fmt.Errorf("%w: %d not in [0, %d)", ErrValue, v, m.d)
	}
	p, _ := m.Support()
	out := v
	if rng.Float64() >= p {
		out = rng.IntN(m.d - 1)
		if out >= v {
			out++
		}
	}
	return appendUint(dst, uint64(out), m.size), nil
}

// NewAccumulator implements FrequencyOracle.
func (m GRR) NewAccumulator() Accumulator {
	return &grrAccumulator{m: m, count: make([]float64, m.d)}
}

type grrAccumulator struct {
	m     GRR
	n     int
	count []float64
}

func (a *grrAccumulator) Add(answer []byte) error {
	if len(answer) != a.m.size {
		return fmt.Errorf("%w: grr answer of %d bytes, want %d", ErrAnswer, len(answer), a.m.size)
	}
	v := readUint(answer)
	if v >= uint64(a.m.d) {
		return fmt.Errorf("%w: grr item %d ≥ d = %d", ErrAnswer, v, a.m.d)
	}
	a.count[v]++
	a.n++
	return nil
}

func (a *grrAccumulator) N() int { return a.n }

func (a *grrAccumulator) Support() []float64 { return append([]float64(nil), a.count...) }
