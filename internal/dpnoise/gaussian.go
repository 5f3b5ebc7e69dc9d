package dpnoise

import (
	"fmt"
	"math"
	"math/big"
)

// Gaussian is the discrete Gaussian N_ℤ(0, σ²): P[X = x] ∝ exp(−x²/2σ²),
// σ² = n/d rational. Its variance is slightly below σ². Build one with
// NewGaussian.
type Gaussian struct {
	n, d uint64  // σ² = n/d
	t    uint64  // ⌊σ⌋ + 1
	lap  Laplace // Lap_ℤ(t)
}

// NewGaussian returns the discrete Gaussian with variance parameter σ² > 0.
func NewGaussian(sigma2 Rat) (Gaussian, error) {
	if sigma2.Num == 0 || sigma2.Den == 0 {
		return Gaussian{}, fmt.Errorf("%w: Gaussian σ² %d/%d", ErrParam, sigma2.Num, sigma2.Den)
	}
	g := gcd(sigma2.Num, sigma2.Den)
	n, d := sigma2.Num/g, sigma2.Den/g
	// ⌊σ⌋ = ⌊√⌊n/d⌋⌋.
	fl := new(big.Int).SetUint64(n / d)
	t := fl.Sqrt(fl).Uint64() + 1
	if t >= maxScale {
		return Gaussian{}, fmt.Errorf("%w: Gaussian σ² %d/%d too large", ErrParam, n, d)
	}
	lap, err := NewLaplace(Rat{Num: t, Den: 1})
	if err != nil {
		return Gaussian{}, err
	}
	return Gaussian{n: n, d: d, t: t, lap: lap}, nil
}

// Sigma2 is σ².
func (g Gaussian) Sigma2() Rat { return Rat{Num: g.n, Den: g.d} }

// Sample draws one value (CKS 2020, Algorithm 3): Y ~ Lap_ℤ(t) with
// t = ⌊σ⌋+1, accepted with probability exp(−(|Y| − σ²/t)²/(2σ²)), that is
// exp(−(|Y|·t·d − n)² / (2·n·d·t²)).
func (g Gaussian) Sample(src Source) int64 {
	if g.t == 0 {
		panic("dpnoise: Gaussian used without NewGaussian")
	}
	den := new(big.Int).SetUint64(g.t)
	den.Mul(den, den)
	den.Mul(den, new(big.Int).SetUint64(g.n))
	den.Mul(den, new(big.Int).SetUint64(g.d))
	den.Lsh(den, 1) // 2·n·d·t²
	td := new(big.Int).Mul(new(big.Int).SetUint64(g.t), new(big.Int).SetUint64(g.d))
	bn := new(big.Int).SetUint64(g.n)
	num := new(big.Int)
	for {
		y := g.lap.Sample(src)
		a := y
		if a < 0 {
			a = -a
		}
		num.SetInt64(a)
		num.Mul(num, td)
		num.Sub(num, bn)
		num.Mul(num, num)
		if bernoulliExpBig(src, num, den) {
			return y
		}
	}
}

// PMF is P[X = x], normalized numerically over |x| ≤ 40σ + 10.
func (g Gaussian) PMF(x int64) float64 {
	s2 := float64(g.n) / float64(g.d)
	return math.Exp(-float64(x)*float64(x)/(2*s2)) / g.norm()
}

func (g Gaussian) norm() float64 {
	s2 := float64(g.n) / float64(g.d)
	lim := int64(40*math.Sqrt(s2)) + 10
	z := 1.0
	for x := int64(1); x <= lim; x++ {
		z += 2 * math.Exp(-float64(x)*float64(x)/(2*s2))
	}
	return z
}

// Variance is E[X²], computed numerically from the pmf.
func (g Gaussian) Variance() float64 {
	s2 := float64(g.n) / float64(g.d)
	lim := int64(40*math.Sqrt(s2)) + 10
	var m float64
	for x := int64(1); x <= lim; x++ {
		m += 2 * float64(x) * float64(x) * math.Exp(-float64(x)*float64(x)/(2*s2))
	}
	return m / g.norm()
}
