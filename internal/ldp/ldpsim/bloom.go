package ldpsim

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"

	"github.com/wisp-project/wisp/internal/ldp"
)

// bloom is the RAPPOR-style baseline (Erlingsson, Pihur, Korolova, CCS
// 2014), one-time collection without the instantaneous step: a device in
// cohort c sets h bits of an m-bit Bloom filter with cohort-specific
// hashes, and reports every bit through binary randomized response. Two
// values differ in at most 2h bits, so each bit gets ε/(2h): ε-LDP for the
// report. The aggregator estimates per-cohort bit counts unbiasedly and
// solves least squares over the d candidate items (RAPPOR uses LASSO then
// least squares; with all d candidates known, plain least squares is
// unbiased). Given the devices' values the noisy bits are independent with
// variance n_c·p(1−p)/(2p−1)² each, so
//
//	Var[ĉ] = σ²·diag((AᵀA)⁻¹)
//
// exactly, with A the (cohorts·m) × d design matrix scaled by 1/cohorts.
type bloom struct {
	epsilon          float64
	d, m, h, cohorts int
	bytes            int
	pos              [][]int32 // pos[c*d+v] = the h bits item v sets in cohort c
	flip             *ldp.ByteSampler
}

func newBloom(epsilon float64, d, m, h, cohorts int) *bloom {
	b := &bloom{epsilon: epsilon, d: d, m: m, h: h, cohorts: cohorts, bytes: m / 8}
	b.pos = make([][]int32, cohorts*d)
	for c := range cohorts {
		for v := range d {
			var ps []int32
			for k := 0; len(ps) < h; k++ {
				x := int32(splitmix(uint64(c)<<40^uint64(v)<<8^uint64(k)) % uint64(m))
				dup := false
				for _, y := range ps {
					dup = dup || x == y
				}
				if !dup {
					ps = append(ps, x)
				}
			}
			b.pos[c*d+v] = ps
		}
	}
	b.flip = ldp.NewByteSampler(1 - b.p())
	return b
}

// p is the probability a bit is reported truthfully, at ε/(2h) per bit.
func (b *bloom) p() float64 { return 1 / (1 + math.Exp(-b.epsilon/float64(2*b.h))) }

func (b *bloom) answerSize() int { return 1 + b.bytes }

// appendRandomized appends cohort byte + noisy filter.
func (b *bloom) appendRandomized(dst []byte, v, cohort int, rng *rand.Rand) []byte {
	dst = append(dst, byte(cohort))
	start := len(dst)
	for range b.bytes {
		dst = append(dst, b.flip.Sample(rng))
	}
	for _, x := range b.pos[cohort*b.d+v] {
		dst[start+int(x/8)] ^= 1 << (x % 8)
	}
	return dst
}

// bloomDecoder holds per-cohort byte-value counts and the least-squares
// operator.
type bloomDecoder struct {
	b     *bloom
	n     []int   // devices per cohort
	count []int64 // [(cohort*bytes + i)*countStride + byte value]
}

func (b *bloom) newDecoder() *bloomDecoder {
	return &bloomDecoder{b: b, n: make([]int, b.cohorts), count: make([]int64, b.cohorts*b.bytes*countStride)}
}

// countStride avoids 4K aliasing between the per-byte tables (see ldp's OUE).
const countStride = 256 + 8

func (dec *bloomDecoder) add(answer []byte) error {
	b := dec.b
	if len(answer) != b.answerSize() || int(answer[0]) >= b.cohorts {
		return fmt.Errorf("bloom: malformed answer")
	}
	c := int(answer[0])
	dec.n[c]++
	for i, x := range answer[1:] {
		dec.count[(c*b.bytes+i)*countStride+int(x)]++
	}
	return nil
}

// estimate returns ĉ and Var[ĉ] per item. It assumes equal cohort sizes
// (the simulation assigns cohorts round-robin; real RAPPOR draws them).
func (dec *bloomDecoder) estimate() (est, variance []float64, err error) {
	b := dec.b
	p := b.p()
	// t̂[c,bit]: unbiased count of cohort-c devices whose true bit is set.
	t := make([]float64, b.cohorts*b.m)
	for c := range b.cohorts {
		for i := range b.bytes {
			row := (c*b.bytes + i) * countStride
			for x, k := range dec.count[row : row+256] {
				for y := uint8(x); y != 0; y &= y - 1 {
					t[c*b.m+i*8+bits.TrailingZeros8(y)] += float64(k)
				}
			}
		}
		for j := range b.m {
			t[c*b.m+j] = (t[c*b.m+j] - float64(dec.n[c])*(1-p)) / (2*p - 1)
		}
	}
	// Normal equations with A[c,bit][v] = 1/cohorts if v sets bit in c.
	d, inv := b.d, 1/float64(b.cohorts)
	ata := make([]float64, d*d)
	atb := make([]float64, d)
	byBit := make([][]int, b.m)
	for c := range b.cohorts {
		for j := range byBit {
			byBit[j] = byBit[j][:0]
		}
		for v := range d {
			for _, x := range b.pos[c*d+v] {
				byBit[x] = append(byBit[x], v)
				atb[v] += inv * t[c*b.m+int(x)]
			}
		}
		for _, vs := range byBit {
			for _, u := range vs {
				for _, v := range vs {
					ata[u*d+v] += inv * inv
				}
			}
		}
	}
	l, err := cholesky(ata, d)
	if err != nil {
		return nil, nil, err
	}
	est = cholSolve(l, d, atb)
	// diag((AᵀA)⁻¹) = column sums of squares of L⁻¹ (d³/6 flops).
	sigma2 := float64(dec.totalN()) / float64(b.cohorts) * p * (1 - p) / ((2*p - 1) * (2*p - 1))
	variance = make([]float64, d)
	for v, x := range diagInverse(l, d) {
		variance[v] = sigma2 * x
	}
	return est, variance, nil
}

func (dec *bloomDecoder) totalN() int {
	s := 0
	for _, n := range dec.n {
		s += n
	}
	return s
}

// cholesky factors the symmetric positive definite a (n×n) as L·Lᵀ.
func cholesky(a []float64, n int) ([]float64, error) {
	l := make([]float64, n*n)
	for i := range n {
		for j := 0; j <= i; j++ {
			s := a[i*n+j]
			for k := range j {
				s -= l[i*n+k] * l[j*n+k]
			}
			if i == j {
				if s <= 1e-12 {
					return nil, fmt.Errorf("bloom: design matrix is singular (item %d)", i)
				}
				l[i*n+i] = math.Sqrt(s)
			} else {
				l[i*n+j] = s / l[j*n+j]
			}
		}
	}
	return l, nil
}

// diagInverse returns diag((L·Lᵀ)⁻¹) = Σ_i (L⁻¹)_{i,v}², inverting the
// lower-triangular L column by column.
func diagInverse(l []float64, n int) []float64 {
	out := make([]float64, n)
	col := make([]float64, n)
	for j := range n {
		// Solve L·x = e_j; x is zero above j.
		for i := j; i < n; i++ {
			s := 0.0
			if i == j {
				s = 1
			}
			for k := j; k < i; k++ {
				s -= l[i*n+k] * col[k]
			}
			col[i] = s / l[i*n+i]
		}
		for i := j; i < n; i++ {
			out[j] += col[i] * col[i]
		}
	}
	return out
}

// cholSolve solves L·Lᵀ·x = b.
func cholSolve(l []float64, n int, b []float64) []float64 {
	y := make([]float64, n)
	for i := range n {
		s := b[i]
		for k := range i {
			s -= l[i*n+k] * y[k]
		}
		y[i] = s / l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		s := y[i]
		for k := i + 1; k < n; k++ {
			s -= l[k*n+i] * y[k]
		}
		y[i] = s / l[i*n+i]
	}
	return y
}
