package dpnoise

import (
	"errors"
	"math/big"
)

// Rat is a non-negative rational number Num/Den (Den ≥ 1). Scales and
// variances are rationals so that sampling never rounds.
type Rat struct {
	Num, Den uint64
}

// Float64 is Num/Den, for display and tests.
func (r Rat) Float64() float64 { return float64(r.Num) / float64(r.Den) }

// ErrParam reports a sampler parameter that is zero, not finite, or too
// large for the integer arithmetic.
var ErrParam = errors.New("dpnoise: invalid parameter")

// BernoulliExp returns true with probability exp(−γ), γ = g.Num/g.Den ≥ 0
// (CKS 2020, Algorithm 1): ⌊γ⌋ draws of Bernoulli(exp(−1)), all of which
// must succeed, then one Bernoulli(exp(−(γ−⌊γ⌋))).
func BernoulliExp(src Source, g Rat) bool {
	if g.Den == 0 {
		panic("dpnoise: BernoulliExp with a zero denominator")
	}
	for q := g.Num / g.Den; q > 0; q-- {
		if !bernoulliExp01(src, 1, 1) {
			return false
		}
	}
	return bernoulliExp01(src, g.Num%g.Den, g.Den)
}

// bernoulliExp01 returns true with probability exp(−num/den) for
// num ≤ den: draw A_K ~ Bernoulli(γ/K) for K = 1, 2, … until one fails and
// answer whether the failing K is odd. Bernoulli(γ/K) is drawn as
// Bernoulli(γ) ∧ Bernoulli(1/K), two independent draws, so den·K never has
// to be formed and nothing overflows.
func bernoulliExp01(src Source, num, den uint64) bool {
	k := uint64(1)
	for bernoulli(src, num, den) && bernoulli(src, 1, k) {
		k++
	}
	return k%2 == 1
}

// uniformBig returns a uniform integer in [0, n), n ≥ 1, by rejection on
// n.BitLen() random bits.
func uniformBig(src Source, n *big.Int, buf []byte) *big.Int {
	nbits := n.BitLen()
	nbytes := (nbits + 7) / 8
	if cap(buf) < nbytes+8 {
		buf = make([]byte, nbytes+8)
	}
	buf = buf[:nbytes]
	x := new(big.Int)
	for {
		for i := 0; i < nbytes; i += 8 {
			w := src.Uint64()
			for j := 0; j < 8 && i+j < nbytes; j++ {
				buf[i+j] = byte(w >> (8 * j))
			}
		}
		if extra := uint(nbytes*8 - nbits); extra > 0 {
			buf[0] &= 0xff >> extra
		}
		x.SetBytes(buf)
		if x.Cmp(n) < 0 {
			return x
		}
	}
}

// bernoulliExpBig is BernoulliExp for γ = num/den with big integers.
func bernoulliExpBig(src Source, num, den *big.Int) bool {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	one := big.NewInt(1)
	for ; q.Sign() > 0; q.Sub(q, one) {
		if !bernoulliExp01(src, 1, 1) {
			return false
		}
	}
	var buf []byte
	k := uint64(1)
	for uniformBig(src, den, buf).Cmp(r) < 0 && bernoulli(src, 1, k) {
		k++
	}
	return k%2 == 1
}
