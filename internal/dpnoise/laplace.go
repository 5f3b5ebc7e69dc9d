package dpnoise

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
)

// scaleDen is the denominator LaplaceScale rounds a scale to: the scale is
// at most 2⁻²⁰ larger than Δ/ε, and exactly Δ/ε whenever that is a
// multiple of 2⁻²⁰ (ε = 1, 2, 0.5, 0.25, … for any Δ).
const scaleDen = 1 << 20

// Bounds on a scale τ = t/s: t fits the uniform draw and U + t·V fits 128
// bits; τ ≤ 2⁴⁰ keeps Y = ⌊(U + t·V)/s⌋ below 2⁶³ unless V ≥ 2²³, an event
// of probability e^(−2²³) that Sample handles by redrawing.
const (
	maxScaleNum = 1 << 62
	maxScale    = 1 << 40
)

// LaplaceScale returns the discrete Laplace scale for a query of L1
// sensitivity Δ released with ε-DP: the smallest multiple of 2⁻²⁰ that is
// ≥ Δ/ε, computed exactly from the float's binary value, reduced. Rounding
// up only adds noise, so the release is ε-DP for the ε given.
func LaplaceScale(sensitivity uint64, epsilon float64) (Rat, error) {
	if sensitivity == 0 || !(epsilon > 0) || math.IsInf(epsilon, 0) {
		return Rat{}, fmt.Errorf("%w: sensitivity %d, ε %v", ErrParam, sensitivity, epsilon)
	}
	eps := new(big.Rat).SetFloat64(epsilon) // exact
	num := new(big.Int).Mul(new(big.Int).SetUint64(sensitivity), big.NewInt(scaleDen))
	num.Mul(num, eps.Denom())
	// ⌈Δ·2²⁰/ε⌉ = ⌈num / eps.Num⌉
	q, r := new(big.Int).QuoRem(num, eps.Num(), new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsUint64() || q.Uint64()/scaleDen >= maxScale {
		return Rat{}, fmt.Errorf("%w: scale Δ/ε = %d/%v too large", ErrParam, sensitivity, epsilon)
	}
	n, d := q.Uint64(), uint64(scaleDen)
	g := gcd(n, d)
	return Rat{Num: n / g, Den: d / g}, nil
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Laplace is the discrete Laplace distribution Lap_ℤ(τ) of scale τ = t/s:
// P[X = x] = (1−q)/(1+q) · q^|x| with q = exp(−1/τ). Its variance is
// 2q/(1−q)² ≈ 2τ². The zero value is not usable; build one with NewLaplace.
type Laplace struct {
	t, s uint64 // scale t/s
}

// NewLaplace returns the discrete Laplace of the given scale, 0 < τ < 2⁴⁰.
func NewLaplace(scale Rat) (Laplace, error) {
	if scale.Num == 0 || scale.Den == 0 || scale.Num > maxScaleNum || scale.Num/scale.Den >= maxScale {
		return Laplace{}, fmt.Errorf("%w: Laplace scale %d/%d", ErrParam, scale.Num, scale.Den)
	}
	g := gcd(scale.Num, scale.Den)
	return Laplace{t: scale.Num / g, s: scale.Den / g}, nil
}

// Scale is τ = t/s.
func (l Laplace) Scale() Rat { return Rat{Num: l.t, Den: l.s} }

// q is exp(−1/τ) as a float, for the pmf and variance.
func (l Laplace) q() float64 { return math.Exp(-float64(l.s) / float64(l.t)) }

// PMF is P[X = x].
func (l Laplace) PMF(x int64) float64 {
	q := l.q()
	a := math.Abs(float64(x))
	return (1 - q) / (1 + q) * math.Pow(q, a)
}

// Variance is 2q/(1−q)², q = exp(−1/τ).
func (l Laplace) Variance() float64 {
	q := l.q()
	return 2 * q / ((1 - q) * (1 - q))
}

// Sample draws one value (CKS 2020, Algorithm 2): U uniform on {0,…,t−1}
// accepted with probability exp(−U/t), V geometric with P[V ≥ v] = e^−v,
// X = U + t·V is then geometric with ratio exp(−1/t); Y = ⌊X/s⌋ is
// geometric with ratio exp(−s/t), and a random sign with −0 rejected makes
// it two-sided.
func (l Laplace) Sample(src Source) int64 {
	if l.t == 0 {
		panic("dpnoise: Laplace used without NewLaplace")
	}
	for {
		u := uniform(src, l.t)
		if !bernoulliExp01(src, u, l.t) {
			continue
		}
		var v uint64
		for bernoulliExp01(src, 1, 1) {
			v++
		}
		// X = u + t·v in 128 bits, Y = ⌊X/s⌋.
		hi, lo := bits.Mul64(l.t, v)
		lo, c := bits.Add64(lo, u, 0)
		hi += c
		if hi >= l.s {
			continue // Y ≥ 2⁶⁴: needs V ≥ 2²⁴ (τ ≤ 2⁴⁰), probability e^(−2²⁴)
		}
		y, _ := bits.Div64(hi, lo, l.s)
		if y > math.MaxInt64 {
			continue // Y ≥ 2⁶³: needs V ≥ 2²³, probability e^(−2²³)
		}
		neg := src.Uint64()&1 == 1
		if neg && y == 0 {
			continue
		}
		if neg {
			return -int64(y)
		}
		return int64(y)
	}
}
