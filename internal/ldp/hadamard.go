package ldp

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
)

// Hadamard is Hadamard randomized response (the binary-hash variant used by
// Apple's HCMS without the sketch; Acharya, Sun, Zhang, AISTATS 2019): with
// D the power of two ≥ d, the device draws a row j ∈ [D] uniformly, takes
// the entry H[j][v] = (−1)^popcount(j∧v) of the Hadamard matrix, and
// reports it truthfully with probability p = e^ε/(1+e^ε), flipped
// otherwise. The output ratio between two inputs is at most p/(1−p) = e^ε.
//
// An answer supports v when its bit equals H[j][v]: p* = p, and because
// distinct columns are orthogonal, q* = 1/2 exactly. So
// Var[ĉ(v)] = n·(e^ε+1)²/(e^ε−1)² − c — never below OUE's, but the answer
// is only ⌈(log₂D+1)/8⌉ bytes (2 at d = 497) and the aggregator decodes with
// one fast Walsh–Hadamard transform, O(n + D·log D).
type Hadamard struct {
	epsilon       float64
	d, logD, size int
}

// NewHadamard returns Hadamard response over d items.
func NewHadamard(epsilon float64, d int) (Hadamard, error) {
	if err := checkEpsilon(epsilon); err != nil {
		return Hadamard{}, err
	}
	if err := checkDomain(d); err != nil {
		return Hadamard{}, err
	}
	logD := bits.Len(uint(d - 1))
	return Hadamard{epsilon: epsilon, d: d, logD: logD, size: bytesFor(1 << (logD + 1))}, nil
}

// Params implements FrequencyOracle.
func (m Hadamard) Params() Params {
	return Params{Mechanism: MechanismHadamard, Epsilon: m.epsilon, D: m.d, AnswerSize: m.size}
}

// Support implements FrequencyOracle.
func (m Hadamard) Support() (p, q float64) { return 1 / (1 + math.Exp(-m.epsilon)), 0.5 }

// AppendRandomized implements FrequencyOracle. The answer packs the row j in
// the low logD bits and the reported bit (1 for +1) above it.
func (m Hadamard) AppendRandomized(dst []byte, v int, rng *rand.Rand) ([]byte, error) {
	if v < 0 || v >= m.d {
		return dst, fmt.Errorf("%w: %d not in [0, %d)", ErrValue, v, m.d)
	}
	j := rng.IntN(1 << m.logD)
	plus := bits.OnesCount(uint(j&v))%2 == 0
	p, _ := m.Support()
	if rng.Float64() >= p {
		plus = !plus
	}
	word := uint64(j)
	if plus {
		word |= 1 << m.logD
	}
	return appendUint(dst, word, m.size), nil
}

// NewAccumulator implements FrequencyOracle.
func (m Hadamard) NewAccumulator() Accumulator {
	return &hadamardAccumulator{m: m, sum: make([]int64, 1<<m.logD)}
}

type hadamardAccumulator struct {
	m   Hadamard
	n   int
	sum []int64 // Σ reported ±1 per row
}

func (a *hadamardAccumulator) Add(answer []byte) error {
	if len(answer) != a.m.size {
		return fmt.Errorf("%w: hadamard answer of %d bytes, want %d", ErrAnswer, len(answer), a.m.size)
	}
	word := readUint(answer)
	if word>>(a.m.logD+1) != 0 {
		return fmt.Errorf("%w: hadamard answer %x has high bits set", ErrAnswer, answer)
	}
	j := word & (1<<a.m.logD - 1)
	if word>>a.m.logD == 1 {
		a.sum[j]++
	} else {
		a.sum[j]--
	}
	a.n++
	return nil
}

func (a *hadamardAccumulator) N() int { return a.n }

// Support returns S(v) = (n + Σ_j sum[j]·H[j][v]) / 2, the inner sums
// computed for all v at once by a fast Walsh–Hadamard transform.
func (a *hadamardAccumulator) Support() []float64 {
	w := make([]float64, len(a.sum))
	for j, x := range a.sum {
		w[j] = float64(x)
	}
	for h := 1; h < len(w); h *= 2 {
		for i := 0; i < len(w); i += 2 * h {
			for k := i; k < i+h; k++ {
				x, y := w[k], w[k+h]
				w[k], w[k+h] = x+y, x-y
			}
		}
	}
	s := make([]float64, a.m.d)
	for v := range s {
		s[v] = (float64(a.n) + w[v]) / 2
	}
	return s
}
