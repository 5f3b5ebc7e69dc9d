package ldp_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

var frequencyMechanisms = []ldp.Mechanism{ldp.MechanismRR, ldp.MechanismGRR, ldp.MechanismOUE, ldp.MechanismOLH, ldp.MechanismHadamard}

func domainFor(m ldp.Mechanism) int {
	if m == ldp.MechanismRR {
		return 2
	}
	return 6
}

// TestLongitudinalSupport: RR, GRR and OUE in two layers are exactly the
// same mechanism at ε1 (the closed form); OLH and Hadamard have the
// composed (p*, q*) of a permanent GRR at ε∞ and the oracle at ε1. And the
// support frequencies measured through Permanent then Instant match.
func TestLongitudinalSupport(t *testing.T) {
	const eps, eps1, samples = 2.0, 1.0, 200000
	for _, m := range frequencyMechanisms {
		d := domainFor(m)
		l, err := ldp.NewLongitudinal(m, eps, eps1, d)
		if err != nil {
			t.Fatal(err)
		}
		p, q := l.Support()
		base, _ := ldp.NewOracle(m, eps1, d)
		bp, bq := base.Support()
		switch m {
		case ldp.MechanismOLH, ldp.MechanismHadamard:
			e, df := math.Exp(eps), float64(d)
			pInf, qInf := e/(e+df-1), 1/(e+df-1)
			bp, bq = pInf*bp+(1-pInf)*bq, qInf*bp+(1-qInf)*bq
		}
		if math.Abs(p-bp) > 1e-12 || math.Abs(q-bq) > 1e-12 {
			t.Errorf("%v: composed support (%v, %v), want (%v, %v)", m, p, q, bp, bq)
		}
		rng := ldp.NewSeededRand(3)
		var hit, other int
		for range samples {
			perm, err := l.Permanent(nil, 0, rng)
			if err != nil {
				t.Fatal(err)
			}
			a, err := l.Instant(nil, perm, rng)
			if err != nil {
				t.Fatal(err)
			}
			items, err := ldp.SupportedItems(l, a)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(items, 0) {
				hit++
			}
			if slices.Contains(items, 1) {
				other++
			}
		}
		for _, c := range []struct {
			name string
			got  int
			want float64
		}{{"p*", hit, p}, {"q*", other, q}} {
			f := float64(c.got) / samples
			if se := math.Sqrt(c.want * (1 - c.want) / samples); math.Abs(f-c.want) > 5*se {
				t.Errorf("%v: measured %s %.4f, want %.4f ± %.4f", m, c.name, f, c.want, se)
			}
		}
		if par := l.Params(); par.Epsilon != eps1 || par.PermanentEpsilon != eps || par.Mechanism != m {
			t.Errorf("%v: params %+v", m, par)
		}
	}
	if _, err := ldp.NewLongitudinal(ldp.MechanismOUE, 1, 1, 10); err == nil {
		t.Error("ε1 = ε∞ accepted: there would be no instantaneous layer")
	}
}

// TestLongitudinalResendsDiffer: the same permanent answer, re-sent, is not
// byte-identical (the contract before was a byte-identical re-send).
func TestLongitudinalResendsDiffer(t *testing.T) {
	rng := ldp.NewSeededRand(9)
	for _, m := range []ldp.Mechanism{ldp.MechanismOUE, ldp.MechanismOLH, ldp.MechanismHadamard, ldp.MechanismGRR} {
		l, err := ldp.NewLongitudinal(m, 2, 1, 497)
		if err != nil {
			t.Fatal(err)
		}
		perm, _ := l.Permanent(nil, 17, rng)
		seen := map[string]bool{}
		for range 20 {
			a, err := l.Instant(nil, perm, rng)
			if err != nil {
				t.Fatal(err)
			}
			seen[string(a)] = true
		}
		if len(seen) < 10 {
			t.Errorf("%v: 20 re-sends of one permanent answer gave only %d distinct answers", m, len(seen))
		}
	}
	l, _ := ldp.NewLongitudinal(ldp.MechanismOUE, 2, 1, 10)
	if _, err := l.Instant(nil, []byte{0xff, 0xff}, rng); err == nil {
		t.Error("Instant accepted a permanent OUE answer with bits beyond d")
	}
}

// TestLongitudinalEstimatorUnbiased: the count estimator inverts both
// layers: over many populations its mean is the true count and its MSE
// the composed variance.
func TestLongitudinalEstimatorUnbiased(t *testing.T) {
	const n, runs = 2000, 200
	for _, m := range frequencyMechanisms {
		d := domainFor(m)
		l, err := ldp.NewLongitudinal(m, 4, 2, d)
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]int, d)
		for i := range n {
			counts[min(i%5, d-1)]++
		}
		var sum, sq float64
		rng := ldp.NewSeededRand(uint64(m))
		for range runs {
			acc := l.NewAccumulator()
			for v, c := range counts {
				for range c {
					a, _ := l.AppendRandomized(nil, v, rng)
					if err := acc.Add(a); err != nil {
						t.Fatal(err)
					}
				}
			}
			e := ldp.EstimateCounts(l, acc)[0]
			sum += e.Value
			sq += (e.Value - float64(counts[0])) * (e.Value - float64(counts[0]))
		}
		theory := ldp.CountVariance(l, n, float64(counts[0]))
		if mean := sum / runs; math.Abs(mean-float64(counts[0])) > 4*math.Sqrt(theory/runs) {
			t.Errorf("%v: mean estimate %.1f, true count %d", m, mean, counts[0])
		}
		if r := sq / runs / theory; r < 0.75 || r > 1.3 {
			t.Errorf("%v: MSE/theory %.3f", m, r)
		}
	}
}

// TestChooseLongitudinal: the composed variances decide; OLH and Hadamard,
// which pay for a permanent GRR, lose at the campaign sizes Wisp uses.
func TestChooseLongitudinal(t *testing.T) {
	for _, tt := range []struct {
		eps  float64
		d    int
		want ldp.Mechanism
	}{{1, 2, ldp.MechanismRR}, {1, 5, ldp.MechanismGRR}, {1, 500, ldp.MechanismOUE}, {8, 500, ldp.MechanismOUE}} {
		c, err := ldp.ChooseLongitudinal(tt.eps, tt.eps*ldp.DefaultReportShare, tt.d)
		if err != nil || c.Mechanism != tt.want {
			t.Errorf("ChooseLongitudinal(%v, d=%d) = %v (%s), %v; want %v", tt.eps, tt.d, c.Mechanism, c.Reason, err, tt.want)
		}
		t.Log(c.Reason)
	}
}

// TestScoreIntervalCoversSmallCounts: the score interval of a binomial
// count covers its mean at least ~95% of the time at small n and extreme
// probabilities, where a normal interval with the plug-in variance does not.
func TestScoreIntervalCoversSmallCounts(t *testing.T) {
	for _, n := range []int{20, 50, 100} {
		for _, pi := range []float64{0.001, 0.01, 0.02, 0.05, 0.3, 0.5, 0.97, 0.999} {
			var cover float64
			for k := 0; k <= n; k++ {
				lo, hi := ldp.ScoreInterval(float64(k), float64(n))
				if lo <= pi && pi <= hi {
					cover += binomPMF(n, k, pi)
				}
			}
			if cover < 0.93 {
				t.Errorf("n=%d π=%v: exact coverage %.3f", n, pi, cover)
			}
		}
	}
}

func binomPMF(n, k int, p float64) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x + 1)); return v }
	return math.Exp(lg(n) - lg(k) - lg(n-k) + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
}

func longitudinalAuditCases() []auditCase {
	var out []auditCase
	for _, m := range frequencyMechanisms {
		d := domainFor(m)
		// One report, ε1 = 1 with ε∞ = 2: each report is audited at ε1; the
		// broken case claims ε1 while its instantaneous layer is at the
		// factor times ε1.
		out = append(out, auditCase{name: fmt.Sprintf("two-layer %v/d=%d", m, d), build: func(eps float64) (func(int, *rand.Rand) int, int) {
			l, err := ldp.NewLongitudinal(m, math.Max(2, 2*eps), eps, d)
			if err != nil {
				panic(err)
			}
			return func(in int, rng *rand.Rand) int {
				a, err := l.AppendRandomized(nil, in, rng)
				if err != nil {
					panic(err)
				}
				return supportCategory(l, a)
			}, 4
		}, conservative: m == ldp.MechanismOLH || m == ldp.MechanismHadamard})
	}
	return out
}

// TestLongitudinalPermanentIsEpsInf: however many reports are drawn from
// one permanent answer, they are post-processing of it, so what they reveal
// together is the permanent answer's ε∞: here, the permanent answer itself
// (the limit of infinitely many reports) passes the audit at ε∞.
func TestLongitudinalPermanentIsEpsInf(t *testing.T) {
	const epsInf = 1.0
	for _, m := range frequencyMechanisms {
		d := domainFor(m)
		l, _ := ldp.NewLongitudinal(m, epsInf, epsInf/2, d)
		perm := ldp.MechanismGRR
		if m == ldp.MechanismRR || m == ldp.MechanismOUE {
			perm = m
		}
		ref, _ := ldp.NewOracle(perm, epsInf, d)
		lb := auditLoss(func(in int, rng *rand.Rand) int {
			a, err := l.Permanent(nil, in, rng)
			if err != nil {
				panic(err)
			}
			return supportCategory(ref, a)
		}, 4, 60000)
		if lb > epsInf {
			t.Errorf("%v: permanent layer's loss lower bound %.3f > ε∞ = %v", m, lb, epsInf)
		}
	}
}
