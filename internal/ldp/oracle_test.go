package ldp_test

import (
	"errors"
	"math"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

// zipfCounts spreads n reporters over d items with weight ∝ 1/(v+1).
func zipfCounts(n, d int) []int {
	w, total := make([]float64, d), 0.0
	for v := range d {
		w[v] = 1 / float64(v+1)
		total += w[v]
	}
	c, left := make([]int, d), n
	for v := range d {
		c[v] = int(float64(n) * w[v] / total)
		left -= c[v]
	}
	c[0] += left
	return c
}

func oracles(t testing.TB, eps float64, d int) []ldp.FrequencyOracle {
	t.Helper()
	var out []ldp.FrequencyOracle
	for _, m := range []ldp.Mechanism{ldp.MechanismGRR, ldp.MechanismOUE, ldp.MechanismOLH, ldp.MechanismHadamard} {
		fo, err := ldp.NewOracle(m, eps, d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fo)
	}
	return out
}

// runOracle randomizes one population and returns the estimates.
func runOracle(t testing.TB, fo ldp.FrequencyOracle, counts []int, seed uint64) []ldp.Estimate {
	rng := ldp.NewSeededRand(seed)
	acc := fo.NewAccumulator()
	var buf []byte
	for v, c := range counts {
		for range c {
			var err error
			buf, err = fo.AppendRandomized(buf[:0], v, rng)
			if err != nil {
				t.Fatal(err)
			}
			if len(buf) != fo.Params().AnswerSize {
				t.Fatalf("%v: answer of %d bytes, Params says %d", fo.Params().Mechanism, len(buf), fo.Params().AnswerSize)
			}
			if err := acc.Add(buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ldp.EstimateCounts(fo, acc)
}

// TestOraclesUnbiasedWithTheoreticalVariance runs many seeded populations
// per mechanism and checks, per item, that the mean estimate is within 4
// standard errors of the truth and, pooled over items, that the empirical
// MSE matches the exact variance formula.
func TestOraclesUnbiasedWithTheoreticalVariance(t *testing.T) {
	n, d, runs := 4000, 20, 300
	if testing.Short() {
		runs = 120
	}
	counts := zipfCounts(n, d)
	for _, eps := range []float64{0.5, 2} {
		for _, fo := range oracles(t, eps, d) {
			sum := make([]float64, d)
			var sq, theory float64
			for r := range runs {
				est := runOracle(t, fo, counts, uint64(1000*r+7))
				for v, e := range est {
					sum[v] += e.Value
					sq += (e.Value - float64(counts[v])) * (e.Value - float64(counts[v]))
				}
			}
			for v := range d {
				vv := ldp.CountVariance(fo, n, float64(counts[v]))
				theory += vv
				if mean := sum[v] / float64(runs); math.Abs(mean-float64(counts[v])) > 4*math.Sqrt(vv/float64(runs)) {
					t.Errorf("%v ε=%v item %d: mean %.1f, truth %d", fo.Params().Mechanism, eps, v, mean, counts[v])
				}
			}
			// Pooled over d·runs estimates the ratio's sd is ≈ sqrt(2/(d·runs)) ≤ 3%.
			if ratio := sq / float64(runs) / theory; math.Abs(ratio-1) > 0.12 {
				t.Errorf("%v ε=%v: MSE/theory = %.3f", fo.Params().Mechanism, eps, ratio)
			}
		}
	}
}

func TestOraclesRejectBadInput(t *testing.T) {
	for _, fo := range oracles(t, 1, 10) {
		m := fo.Params().Mechanism
		if _, err := fo.AppendRandomized(nil, 10, ldp.NewSeededRand(1)); !errors.Is(err, ldp.ErrValue) {
			t.Errorf("%v: value 10 of d=10: err = %v, want ErrValue", m, err)
		}
		if _, err := fo.AppendRandomized(nil, -1, ldp.NewSeededRand(1)); !errors.Is(err, ldp.ErrValue) {
			t.Errorf("%v: value -1: err = %v, want ErrValue", m, err)
		}
		acc := fo.NewAccumulator()
		bad := make([]byte, fo.Params().AnswerSize+1)
		if err := acc.Add(bad); !errors.Is(err, ldp.ErrAnswer) {
			t.Errorf("%v: long answer: err = %v, want ErrAnswer", m, err)
		}
		full := make([]byte, fo.Params().AnswerSize)
		for i := range full {
			full[i] = 0xff
		}
		if err := acc.Add(full); !errors.Is(err, ldp.ErrAnswer) {
			t.Errorf("%v: all-ones answer: err = %v, want ErrAnswer", m, err)
		}
		if acc.N() != 0 {
			t.Errorf("%v: rejected answers counted", m)
		}
	}
	for _, d := range []int{0, 1, ldp.MaxDomain + 1} {
		if _, err := ldp.NewOUE(1, d); !errors.Is(err, ldp.ErrDomain) {
			t.Errorf("NewOUE(d=%d) err = %v, want ErrDomain", d, err)
		}
	}
	for _, eps := range []float64{math.NaN(), 0, -1, math.Inf(1), ldp.MaxEpsilon + 1} {
		for _, m := range []ldp.Mechanism{ldp.MechanismGRR, ldp.MechanismOUE, ldp.MechanismOLH, ldp.MechanismHadamard} {
			if _, err := ldp.NewOracle(m, eps, 10); !errors.Is(err, ldp.ErrEpsilon) {
				t.Errorf("NewOracle(%v, ε=%v) err = %v, want ErrEpsilon", m, eps, err)
			}
		}
		if _, err := ldp.NewSetSampler(ldp.MechanismOUE, eps, 10, 2); !errors.Is(err, ldp.ErrEpsilon) {
			t.Errorf("NewSetSampler(ε=%v) err = %v, want ErrEpsilon", eps, err)
		}
		if _, err := ldp.NewPiecewise(eps); !errors.Is(err, ldp.ErrEpsilon) {
			t.Errorf("NewPiecewise(ε=%v) err = %v, want ErrEpsilon", eps, err)
		}
		if _, err := ldp.NewDuchi(eps); !errors.Is(err, ldp.ErrEpsilon) {
			t.Errorf("NewDuchi(ε=%v) err = %v, want ErrEpsilon", eps, err)
		}
	}
	// At the largest ε and domain every constructor either works or
	// refuses with ErrDomain, and Choose still answers.
	if c, err := ldp.Choose(ldp.MaxEpsilon, ldp.MaxDomain); err != nil || c.Mechanism != ldp.MechanismGRR {
		t.Errorf("Choose(MaxEpsilon, MaxDomain) = %v, %v", c.Mechanism, err)
	}
}

func TestAnswerSizes(t *testing.T) {
	tests := []struct {
		m    ldp.Mechanism
		eps  float64
		d    int
		want int
	}{
		{ldp.MechanismGRR, 1, 497, 2},
		{ldp.MechanismOUE, 1, 497, 63},
		{ldp.MechanismOUE, 1, 8, 1},
		{ldp.MechanismOLH, 1, 497, 3},
		{ldp.MechanismOLH, 4, 497, 3},
		{ldp.MechanismHadamard, 1, 497, 2},
		{ldp.MechanismHadamard, 1, 127, 1},
		{ldp.MechanismRR, 1, 2, 1},
	}
	for _, tt := range tests {
		fo, err := ldp.NewOracle(tt.m, tt.eps, tt.d)
		if err != nil {
			t.Fatal(err)
		}
		if got := fo.Params().AnswerSize; got != tt.want {
			t.Errorf("%v ε=%v d=%d: answer %d bytes, want %d", tt.m, tt.eps, tt.d, got, tt.want)
		}
	}
}

func TestChooseFollowsVarianceFormulas(t *testing.T) {
	tests := []struct {
		eps  float64
		d    int
		want ldp.Mechanism
	}{
		{1, 2, ldp.MechanismRR},
		{1, 3, ldp.MechanismGRR},      // d−2 = 1 < 3e
		{2, 20, ldp.MechanismGRR},     // 18 < 3e² ≈ 22.2
		{2, 30, ldp.MechanismOUE},     // 28 > 22.2
		{0.5, 497, ldp.MechanismOUE},  //
		{4, 497, ldp.MechanismOUE},    // 495 > 3e⁴ ≈ 164
		{6, 497, ldp.MechanismGRR},    // 495 < 3e⁶ ≈ 1210
		{1, 100000, ldp.MechanismOUE}, //
	}
	for _, tt := range tests {
		c, err := ldp.Choose(tt.eps, tt.d)
		if err != nil {
			t.Fatal(err)
		}
		if c.Mechanism != tt.want {
			t.Errorf("Choose(%v, %d) = %v, want %v (%s)", tt.eps, tt.d, c.Mechanism, tt.want, c.Reason)
		}
		for i := 1; i < len(c.Candidates); i++ {
			if c.Candidates[i].VarPerReport < c.Candidates[0].VarPerReport {
				t.Errorf("Choose(%v, %d): candidate %v beats the choice", tt.eps, tt.d, c.Candidates[i].Mechanism)
			}
		}
	}
}

func TestMechanismIDs(t *testing.T) {
	for m := ldp.Mechanism(0); m < 10; m++ {
		if !m.IsValid() {
			continue
		}
		got, err := ldp.ParseMechanism(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMechanism(%q) = %v, %v", m.String(), got, err)
		}
	}
	if ldp.Mechanism(0).IsValid() || ldp.Mechanism(8).IsValid() {
		t.Error("0 or 8 valid")
	}
	if ldp.MechanismRR != 1 {
		t.Error("MechanismRR renumbered")
	}
}

// TestOUELargeDomainAccumulator checks that the direct bit-counting path
// used for large d agrees with the definition of support.
func TestOUELargeDomainAccumulator(t *testing.T) {
	const d = 40000 // above the byte-table limit
	fo, err := ldp.NewOUE(2, d)
	if err != nil {
		t.Fatal(err)
	}
	acc := fo.NewAccumulator()
	answer := make([]byte, fo.Params().AnswerSize)
	answer[0], answer[4999] = 0b1000_0001, 0b1000_0000 // items 0, 7, 39999
	for range 3 {
		if err := acc.Add(answer); err != nil {
			t.Fatal(err)
		}
	}
	s := acc.Support()
	var total float64
	for _, x := range s {
		total += x
	}
	if len(s) != d || s[0] != 3 || s[7] != 3 || s[d-1] != 3 || total != 9 {
		t.Errorf("support: len %d, s[0]=%v s[7]=%v s[d-1]=%v total %v", len(s), s[0], s[7], s[d-1], total)
	}
}
