package ldp

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
)

// OUE is optimized unary encoding (Wang et al. 2017, §4.3): the true item's
// bit is reported as 1 with probability p = 1/2, every other bit as 1 with
// probability q = 1/(e^ε+1), independently. Two inputs differ in two bits,
// and the worst-case ratio is p(1−q)/((1−p)q) = e^ε: ε-LDP.
//
// With p* = 1/2 and q* = q, Var[ĉ(v)] = n·4e^ε/(e^ε−1)² + c·(1−p−q)/(p−q),
// independent of d — the optimum for unary encodings. Answer: the d-bit
// vector, item v at bit v%8 of byte v/8, ⌈d/8⌉ bytes (63 at d = 497).
type OUE struct {
	epsilon float64
	d, size int
	noise   *ByteSampler // immutable after construction
}

// NewOUE returns OUE over d items with privacy parameter epsilon.
func NewOUE(epsilon float64, d int) (OUE, error) {
	if err := checkEpsilon(epsilon); err != nil {
		return OUE{}, err
	}
	if err := checkDomain(d); err != nil {
		return OUE{}, err
	}
	m := OUE{epsilon: epsilon, d: d, size: (d + 7) / 8}
	_, q := m.Support()
	m.noise = NewByteSampler(q)
	return m, nil
}

// Params implements FrequencyOracle.
func (m OUE) Params() Params {
	return Params{Mechanism: MechanismOUE, Epsilon: m.epsilon, D: m.d, AnswerSize: m.size}
}

// Support implements FrequencyOracle.
func (m OUE) Support() (p, q float64) { return 0.5, 1 / (math.Exp(m.epsilon) + 1) }

// lastMask keeps the bits of the last byte that are items.
func (m OUE) lastMask() byte {
	if r := m.d % 8; r != 0 {
		return byte(1)<<r - 1
	}
	return 0xff
}

// AppendRandomized implements FrequencyOracle.
func (m OUE) AppendRandomized(dst []byte, v int, rng *rand.Rand) ([]byte, error) {
	if v < 0 || v >= m.d {
		return dst, fmt.Errorf("%w: %d not in [0, %d)", ErrValue, v, m.d)
	}
	start := len(dst)
	for range m.size {
		dst = append(dst, m.noise.Sample(rng))
	}
	out := dst[start:]
	out[m.size-1] &= m.lastMask()
	bit := byte(1) << (v % 8)
	if rng.Uint64()&1 == 1 {
		out[v/8] |= bit
	} else {
		out[v/8] &^= bit
	}
	return dst, nil
}

// NewAccumulator implements FrequencyOracle. Up to oueTableBytes answer
// bytes it counts byte values per position (⌈d/8⌉·264 counters) and
// expands them to bits once, so adding an answer costs ⌈d/8⌉ increments
// instead of one per set bit; for larger domains, where that table would
// be hundreds of megabytes, it counts set bits directly.
func (m OUE) NewAccumulator() Accumulator {
	if m.size > oueTableBytes {
		return &oueAccumulator{m: m, bits: make([]int64, m.size*8)}
	}
	return &oueAccumulator{m: m, count: make([]int64, m.size*oueStride)}
}

// oueStride spaces the per-position tables 2,112 bytes apart rather than
// 2,048: at high ε almost every byte is 0, and same-low-bits addresses
// (4K aliasing) made the counters' stores stall each other, decoding 10×
// slower.
const oueStride = 256 + 8

// oueTableBytes is the largest answer (d = 32,768) decoded through the
// byte-value table (at most 69 MiB of counters).
const oueTableBytes = 4096

type oueAccumulator struct {
	m     OUE
	n     int
	count []int64 // count[position·oueStride + byte value], or
	bits  []int64 // count of each set bit, for large d
}

func (a *oueAccumulator) Add(answer []byte) error {
	if len(answer) != a.m.size {
		return fmt.Errorf("%w: oue answer of %d bytes, want %d", ErrAnswer, len(answer), a.m.size)
	}
	if answer[a.m.size-1]&^a.m.lastMask() != 0 {
		return fmt.Errorf("%w: oue bits set beyond d = %d", ErrAnswer, a.m.d)
	}
	if a.bits != nil {
		for i, b := range answer {
			for x := b; x != 0; x &= x - 1 {
				a.bits[i*8+bits.TrailingZeros8(x)]++
			}
		}
	} else {
		for i, b := range answer {
			a.count[i*oueStride+int(b)]++
		}
	}
	a.n++
	return nil
}

func (a *oueAccumulator) N() int { return a.n }

func (a *oueAccumulator) Support() []float64 {
	s := make([]float64, a.m.size*8)
	if a.bits != nil {
		for i, c := range a.bits {
			s[i] = float64(c)
		}
		return s[:a.m.d]
	}
	for i := range a.m.size {
		for b, c := range a.count[i*oueStride : i*oueStride+256] {
			for x := uint8(b); x != 0; x &= x - 1 {
				s[i*8+bits.TrailingZeros8(x)] += float64(c)
			}
		}
	}
	return s[:a.m.d]
}
