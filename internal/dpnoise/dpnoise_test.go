package dpnoise

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

// chi2Critical is the 99.9% quantile of χ²(k), by Wilson–Hilferty.
func chi2Critical(k int) float64 {
	const z = 3.090 // standard normal 99.9%
	kf := float64(k)
	a := 2 / (9 * kf)
	return kf * math.Pow(1-a+z*math.Sqrt(a), 3)
}

// chiSquare bins samples by integer value (bins with expected count < 20 are
// lumped into the two tails) and returns the statistic and its degrees of
// freedom.
func chiSquare(t *testing.T, counts map[int64]int, n int, pmf func(int64) float64) (float64, int) {
	t.Helper()
	// Central bins: |x| ≤ m where the expected count stays ≥ 20.
	m := int64(0)
	for float64(n)*pmf(m+1) >= 20 {
		m++
	}
	var stat, mass float64
	bins := 0
	for x := -m; x <= m; x++ {
		p := pmf(x)
		mass += p
		e := float64(n) * p
		d := float64(counts[x]) - e
		stat += d * d / e
		bins++
	}
	// The two tails, x < −m and x > m, each of mass (1 − mass)/2 (the pmf is
	// symmetric).
	var lo, hi int
	for x, c := range counts {
		switch {
		case x < -m:
			lo += c
		case x > m:
			hi += c
		}
	}
	tail := (1 - mass) / 2
	for _, c := range []int{lo, hi} {
		e := float64(n) * tail
		d := float64(c) - e
		stat += d * d / e
		bins++
	}
	return stat, bins - 1
}

type moments struct {
	n                int
	sum, sum2        float64
	pos, neg, zero   int
	counts           map[int64]int
	minimum, maximum int64
}

func sample(n int, draw func() int64) moments {
	m := moments{n: n, counts: map[int64]int{}}
	for range n {
		x := draw()
		m.counts[x]++
		m.sum += float64(x)
		m.sum2 += float64(x) * float64(x)
		switch {
		case x > 0:
			m.pos++
		case x < 0:
			m.neg++
		default:
			m.zero++
		}
		m.minimum, m.maximum = min(m.minimum, x), max(m.maximum, x)
	}
	return m
}

func (m moments) mean() float64     { return m.sum / float64(m.n) }
func (m moments) variance() float64 { mu := m.mean(); return m.sum2/float64(m.n) - mu*mu }

// checkDistribution runs the chi-square, symmetry, mean and variance checks
// shared by both samplers.
func checkDistribution(t *testing.T, m moments, pmf func(int64) float64, variance float64) {
	t.Helper()
	stat, df := chiSquare(t, m.counts, m.n, pmf)
	if crit := chi2Critical(df); stat > crit {
		t.Errorf("χ² = %.1f with %d df exceeds the 99.9%% quantile %.1f", stat, df, crit)
	} else {
		t.Logf("χ² = %.1f with %d df (99.9%% quantile %.1f)", stat, df, crit)
	}
	// Symmetry: P[X > 0] = P[X < 0]; the difference of counts has sd
	// √(pos+neg) under the null.
	if z := float64(m.pos-m.neg) / math.Sqrt(float64(m.pos+m.neg)); math.Abs(z) > 4 {
		t.Errorf("asymmetric: %d positive vs %d negative (z = %.2f)", m.pos, m.neg, z)
	}
	for x := int64(1); x <= 5; x++ {
		a, b := m.counts[x], m.counts[-x]
		if a+b < 100 {
			break
		}
		if z := float64(a-b) / math.Sqrt(float64(a+b)); math.Abs(z) > 4 {
			t.Errorf("asymmetric at ±%d: %d vs %d (z = %.2f)", x, a, b, z)
		}
	}
	// Mean 0 within 4 standard errors.
	if se := math.Sqrt(variance / float64(m.n)); math.Abs(m.mean()) > 4*se {
		t.Errorf("mean %.4f, want 0 ± %.4f", m.mean(), 4*se)
	}
	// Variance within 2% (the sample variance's relative sd is ≈ √(5/n) for a
	// Laplace, 0.22% at n = 10⁶).
	if got := m.variance(); math.Abs(got-variance)/variance > 0.02 {
		t.Errorf("variance %.4f, want %.4f ± 2%%", got, variance)
	} else {
		t.Logf("variance %.4f, exact %.4f", got, variance)
	}
}

func TestLaplaceDistribution(t *testing.T) {
	const n = 1_000_000
	for i, scale := range []Rat{{1, 1}, {1, 2}, {37, 10}, {20, 1}, {3495254, 1 << 20}} {
		l, err := NewLaplace(scale)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(l.fmt(), func(t *testing.T) {
			src := SeededSource(uint64(100 + i))
			m := sample(n, func() int64 { return l.Sample(src) })
			checkDistribution(t, m, l.PMF, l.Variance())
		})
	}
}

func (l Laplace) fmt() string {
	return big.NewRat(int64(l.t), int64(l.s)).RatString()
}

func TestLaplaceVarianceFormula(t *testing.T) {
	// Scale 1 (Δ = 1, ε = 1): variance 2e⁻¹/(1−e⁻¹)² = 1.8413; two
	// aggregators' noise together: sd √(2·1.8413) = 1.919.
	l, _ := NewLaplace(Rat{1, 1})
	if v := l.Variance(); math.Abs(v-1.8413) > 1e-4 {
		t.Errorf("Var Lap_ℤ(1) = %.5f, want 1.8413", v)
	}
	if sd := math.Sqrt(2 * l.Variance()); math.Abs(sd-1.919) > 1e-3 {
		t.Errorf("sd of two draws = %.4f, want 1.919", sd)
	}
	// Large scale: variance → 2τ².
	l, _ = NewLaplace(Rat{1000, 1})
	if v := l.Variance(); math.Abs(v/(2*1000*1000)-1) > 1e-3 {
		t.Errorf("Var Lap_ℤ(1000) = %.1f, want ≈ 2·10⁶", v)
	}
}

func TestGaussianDistribution(t *testing.T) {
	const n = 400_000
	for i, s2 := range []Rat{{1, 1}, {9, 4}, {100, 1}} {
		g, err := NewGaussian(s2)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(big.NewRat(int64(s2.Num), int64(s2.Den)).RatString(), func(t *testing.T) {
			src := SeededSource(uint64(200 + i))
			m := sample(n, func() int64 { return g.Sample(src) })
			checkDistribution(t, m, g.PMF, g.Variance())
			if v := g.Variance(); v > s2.Float64()+1e-9 {
				t.Errorf("discrete Gaussian variance %.4f above σ² %.4f", v, s2.Float64())
			}
		})
	}
}

func TestBernoulliExp(t *testing.T) {
	const n = 400_000
	src := SeededSource(7)
	for _, g := range []Rat{{0, 1}, {1, 3}, {1, 1}, {5, 2}, {7, 1000}} {
		want := math.Exp(-g.Float64())
		hits, hitsBig := 0, 0
		for range n {
			if BernoulliExp(src, g) {
				hits++
			}
			if bernoulliExpBig(src, new(big.Int).SetUint64(g.Num), new(big.Int).SetUint64(g.Den)) {
				hitsBig++
			}
		}
		se := math.Sqrt(want * (1 - want) / n)
		for name, h := range map[string]int{"uint64": hits, "big": hitsBig} {
			got := float64(h) / n
			if math.Abs(got-want) > 5*se+1e-12 {
				t.Errorf("%s: P[Bernoulli(exp(−%d/%d))] = %.5f, want %.5f ± %.5f", name, g.Num, g.Den, got, want, 5*se)
			}
		}
	}
}

func TestUniform(t *testing.T) {
	src := SeededSource(9)
	const n, k = 300_000, 7
	var c [k]int
	for range n {
		c[uniform(src, k)]++
	}
	var stat float64
	for _, x := range c {
		d := float64(x) - n/k
		stat += d * d / (n / k)
	}
	if stat > chi2Critical(k-1) {
		t.Errorf("uniform(7): χ² = %.1f", stat)
	}
	big7 := big.NewInt(7)
	var cb [k]int
	for range n {
		cb[uniformBig(src, big7, nil).Int64()]++
	}
	stat = 0
	for _, x := range cb {
		d := float64(x) - n/k
		stat += d * d / (n / k)
	}
	if stat > chi2Critical(k-1) {
		t.Errorf("uniformBig(7): χ² = %.1f", stat)
	}
}

func TestLaplaceScale(t *testing.T) {
	for _, c := range []struct {
		delta uint64
		eps   float64
		want  Rat
	}{
		{1, 1, Rat{1, 1}},
		{1, 0.5, Rat{2, 1}},
		{3, 2, Rat{3, 2}},
		{255, 1, Rat{255, 1}},
		{1, 0.3, Rat{3495254, 1 << 20}}, // ⌈2²⁰/0.3⌉ / 2²⁰ ≥ 1/0.3
	} {
		got, err := LaplaceScale(c.delta, c.eps)
		if err != nil {
			t.Fatal(err)
		}
		g := gcd(c.want.Num, c.want.Den)
		if want := (Rat{c.want.Num / g, c.want.Den / g}); got != want {
			t.Errorf("LaplaceScale(%d, %v) = %v, want %v", c.delta, c.eps, got, want)
		}
		// Never less noise than Δ/ε, never more than 2⁻²⁰ above it.
		exact := new(big.Rat).Quo(new(big.Rat).SetUint64(c.delta), new(big.Rat).SetFloat64(c.eps))
		r := new(big.Rat).SetFrac(new(big.Int).SetUint64(got.Num), new(big.Int).SetUint64(got.Den))
		if r.Cmp(exact) < 0 {
			t.Errorf("LaplaceScale(%d, %v) = %v is below Δ/ε", c.delta, c.eps, got)
		}
		if diff, _ := new(big.Rat).Sub(r, exact).Float64(); diff > 1.0/(1<<20) {
			t.Errorf("LaplaceScale(%d, %v) rounds up by %g", c.delta, c.eps, diff)
		}
	}
	for _, bad := range []struct {
		delta uint64
		eps   float64
	}{{0, 1}, {1, 0}, {1, -1}, {1, math.NaN()}, {1, math.Inf(1)}, {1 << 40, 1e-9}} {
		if _, err := LaplaceScale(bad.delta, bad.eps); !errors.Is(err, ErrParam) {
			t.Errorf("LaplaceScale(%d, %v): err %v, want ErrParam", bad.delta, bad.eps, err)
		}
	}
	if _, err := NewLaplace(Rat{0, 1}); !errors.Is(err, ErrParam) {
		t.Errorf("NewLaplace(0): %v", err)
	}
	if _, err := NewGaussian(Rat{1, 0}); !errors.Is(err, ErrParam) {
		t.Errorf("NewGaussian(1/0): %v", err)
	}
}

func TestSeededSourceDeterministic(t *testing.T) {
	l, _ := NewLaplace(Rat{5, 1})
	a, b := SeededSource(1), SeededSource(1)
	for range 1000 {
		if l.Sample(a) != l.Sample(b) {
			t.Fatal("two sources with one seed differ")
		}
	}
	// CryptoSource works and is not constant.
	c := CryptoSource()
	seen := map[uint64]bool{}
	for range 200 { // crosses the 512-byte buffer three times
		seen[c.Uint64()] = true
	}
	if len(seen) != 200 {
		t.Fatalf("CryptoSource repeated: %d distinct of 200", len(seen))
	}
}

func BenchmarkLaplace(b *testing.B) {
	for _, c := range []struct {
		name  string
		scale Rat
		src   Source
	}{
		{"scale=1/seeded", Rat{1, 1}, SeededSource(1)},
		{"scale=1/crypto", Rat{1, 1}, CryptoSource()},
		{"scale=255/crypto", Rat{255, 1}, CryptoSource()},
		{"scale=1/0.3/crypto", Rat{3495254, 1 << 20}, CryptoSource()},
	} {
		l, _ := NewLaplace(c.scale)
		b.Run(c.name, func(b *testing.B) {
			var s int64
			for b.Loop() {
				s += l.Sample(c.src)
			}
			_ = s
		})
	}
}

func BenchmarkGaussian(b *testing.B) {
	for _, c := range []struct {
		name string
		s2   Rat
	}{{"sigma2=1", Rat{1, 1}}, {"sigma2=100", Rat{100, 1}}} {
		g, _ := NewGaussian(c.s2)
		src := CryptoSource()
		b.Run(c.name+"/crypto", func(b *testing.B) {
			var s int64
			for b.Loop() {
				s += g.Sample(src)
			}
			_ = s
		})
	}
}

// TestChiSquarePower shows the distribution test can fail: samples of
// Lap_ℤ(1) are refused against the pmf of Lap_ℤ(1.05), a 5% scale error.
func TestChiSquarePower(t *testing.T) {
	l, _ := NewLaplace(Rat{1, 1})
	wrong, _ := NewLaplace(Rat{21, 20})
	src := SeededSource(300)
	m := sample(1_000_000, func() int64 { return l.Sample(src) })
	stat, df := chiSquare(t, m.counts, m.n, wrong.PMF)
	if crit := chi2Critical(df); stat <= crit {
		t.Fatalf("χ² = %.1f ≤ %.1f: a 5%% scale error went unnoticed", stat, crit)
	} else {
		t.Logf("5%% scale error: χ² = %.1f with %d df (99.9%% quantile %.1f)", stat, df, crit)
	}
}
