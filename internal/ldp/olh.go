package ldp

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// OLH is optimized local hashing (Wang et al. 2017, §4.4): the device draws a
// hash function H from a family, hashes its item into g buckets and reports
// (H, GRR_g(H(v))) — it keeps H(v) with probability p = e^ε/(e^ε+g−1) and
// otherwise reports one of the other g−1 buckets. Whatever H is, the output
// ratio between two inputs is at most e^ε: ε-LDP.
//
// Hash family. Wang et al. assume a universal family with collision
// probability exactly 1/g. Wisp uses one that has it exactly and makes
// decoding cheap: g is prime, an item v is its vector x(v) of m base-g
// digits (g^m ≥ d), and the seed is a vector a ∈ Z_g^m with
// H_a(v) = ⟨a, x(v)⟩ mod g. For v ≠ v', x(v) − x(v') ≠ 0, so exactly a 1/g
// fraction of the g^m seeds collide v and v'. With p* = p and q* = 1/g,
//
//	Var[ĉ(v)] = n·q*(1−q*)/(p−q*)² + c·(1−p−q*)/(p−q*)
//
// which is Wang et al.'s 4e^ε/(e^ε−1)² per report when g = e^ε+1; g is the
// prime that minimizes it (within a few percent of OUE). The family has
// only g^m seeds (729 for ε ≤ 1, d = 497), so the aggregator groups answers
// by seed and decodes in O(n + g^m·d·m), not O(n·d).
// Answer: the seed in ⌈log₂₅₆ g^m⌉ bytes, then the bucket in ⌈log₂₅₆ g⌉
// bytes (3 bytes at d = 497, ε ≤ 4).
type OLH struct {
	epsilon                float64
	d, g, m, seeds         int
	seedBytes, bucketBytes int
}

// maxSeeds bounds the seed family and maxTable the aggregator's g^m·g
// count table (2²⁴ counters = 128 MiB). Only large ε with large d exceed
// them, where GRR or OUE has the lower variance anyway.
const (
	maxSeeds = 1 << 24
	maxTable = 1 << 24
)

// NewOLH returns OLH over d items with privacy parameter epsilon.
func NewOLH(epsilon float64, d int) (OLH, error) {
	if err := checkEpsilon(epsilon); err != nil {
		return OLH{}, err
	}
	if err := checkDomain(d); err != nil {
		return OLH{}, err
	}
	g := bestPrimeBuckets(epsilon)
	m, seeds := 1, g
	for seeds < d {
		m++
		seeds *= g
	}
	if seeds > maxSeeds || seeds*g > maxTable {
		return OLH{}, fmt.Errorf("%w: olh seed family of %d × %d buckets too large at ε=%v, d=%d (GRR or OUE fit better)",
			ErrDomain, seeds, g, epsilon, d)
	}
	return OLH{epsilon: epsilon, d: d, g: g, m: m, seeds: seeds,
		seedBytes: bytesFor(seeds), bucketBytes: bytesFor(g)}, nil
}

// olhVariance is the per-report variance term q(1−q)/(p−q)² for g buckets.
func olhVariance(epsilon float64, g int) float64 {
	e, gf := math.Exp(epsilon), float64(g)
	p, q := e/(e+gf-1), 1/gf
	return q * (1 - q) / ((p - q) * (p - q))
}

// bestPrimeBuckets returns the prime g ≥ 2 minimizing olhVariance; the
// variance is convex in g around e^ε+1, so primes up to 2e^ε+4 suffice.
func bestPrimeBuckets(epsilon float64) int {
	limit := int(math.Min(2*math.Exp(epsilon)+4, 65521))
	best, bestVar := 2, olhVariance(epsilon, 2)
	for g := 3; g <= limit; g += 2 {
		if isPrime(g) {
			if v := olhVariance(epsilon, g); v < bestVar {
				best, bestVar = g, v
			}
		}
	}
	return best
}

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for f := 2; f*f <= n; f++ {
		if n%f == 0 {
			return false
		}
	}
	return true
}

// Buckets is g, the prime number of hash buckets.
func (m OLH) Buckets() int { return m.g }

// Params implements FrequencyOracle.
func (m OLH) Params() Params {
	return Params{Mechanism: MechanismOLH, Epsilon: m.epsilon, D: m.d, AnswerSize: m.seedBytes + m.bucketBytes}
}

// Support implements FrequencyOracle.
func (m OLH) Support() (p, q float64) {
	e := math.Exp(m.epsilon)
	return e / (e + float64(m.g) - 1), 1 / float64(m.g)
}

// hash is H_seed(v) = ⟨digits(seed), digits(v)⟩ mod g.
func (m OLH) hash(seed, v int) int {
	h := 0
	for range m.m {
		h += (seed % m.g) * (v % m.g)
		seed /= m.g
		v /= m.g
	}
	return h % m.g
}

// AppendRandomized implements FrequencyOracle.
func (m OLH) AppendRandomized(dst []byte, v int, rng *rand.Rand) ([]byte, error) {
	if v < 0 || v >= m.d {
		return dst, fmt.Errorf("%w: %d not in [0, %d)", ErrValue, v, m.d)
	}
	seed := rng.IntN(m.seeds)
	h := m.hash(seed, v)
	p, _ := m.Support()
	if rng.Float64() >= p {
		y := rng.IntN(m.g - 1)
		if y >= h {
			y++
		}
		h = y
	}
	dst = appendUint(dst, uint64(seed), m.seedBytes)
	return appendUint(dst, uint64(h), m.bucketBytes), nil
}

// NewAccumulator implements FrequencyOracle.
func (m OLH) NewAccumulator() Accumulator {
	return &olhAccumulator{m: m, count: make([]int64, m.seeds*m.g)}
}

type olhAccumulator struct {
	m     OLH
	n     int
	count []int64 // count[seed·g + bucket]
}

func (a *olhAccumulator) Add(answer []byte) error {
	m := a.m
	if len(answer) != m.seedBytes+m.bucketBytes {
		return fmt.Errorf("%w: olh answer of %d bytes, want %d", ErrAnswer, len(answer), m.seedBytes+m.bucketBytes)
	}
	seed, y := readUint(answer[:m.seedBytes]), readUint(answer[m.seedBytes:])
	if seed >= uint64(m.seeds) || y >= uint64(m.g) {
		return fmt.Errorf("%w: olh seed %d or bucket %d out of range", ErrAnswer, seed, y)
	}
	a.count[int(seed)*m.g+int(y)]++
	a.n++
	return nil
}

func (a *olhAccumulator) N() int { return a.n }

// Support sums, for every seed that occurs, the count of its answers in the
// bucket each item hashes to. Hashes are built digit by digit: with
// digits[v] precomputed, H_seed(v) costs m multiply-adds.
func (a *olhAccumulator) Support() []float64 {
	m := a.m
	digits := make([]int32, m.d*m.m)
	for v := range m.d {
		x := v
		for i := range m.m {
			digits[v*m.m+i] = int32(x % m.g)
			x /= m.g
		}
	}
	s := make([]float64, m.d)
	a32 := make([]int32, m.m)
	for seed := range m.seeds {
		row := a.count[seed*m.g : (seed+1)*m.g]
		total := int64(0)
		for _, c := range row {
			total += c
		}
		if total == 0 {
			continue
		}
		x := seed
		for i := range m.m {
			a32[i] = int32(x % m.g)
			x /= m.g
		}
		for v := range m.d {
			h := int64(0)
			for i, ai := range a32 {
				h += int64(ai) * int64(digits[v*m.m+i])
			}
			s[v] += float64(row[int(h)%m.g])
		}
	}
	return s
}
