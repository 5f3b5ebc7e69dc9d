package ldp_test

import (
	"math"
	"slices"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

// TestGridRoundingUnbiased: α-point rounding is unbiased over α, exact in
// its variance, and moves a value to one of its two neighbouring points.
func TestGridRoundingUnbiased(t *testing.T) {
	rng := ldp.NewSeededRand(11)
	pm, _ := ldp.NewPiecewise(2)
	for _, g := range []ldp.Grid{{Steps: 1}, {Steps: 4}} {
		for _, x := range []float64{-1, -0.93, -0.2, 0, 0.37, 0.8, 1} {
			const draws = 100000
			var sum, sq float64
			for range draws {
				_, z, err := g.Round(x, rng.Float64())
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(z-x) > 2/float64(g.Steps)+1e-12 {
					t.Fatalf("grid %d: %v rounded to %v", g.Steps, x, z)
				}
				sum += z
				sq += (z - x) * (z - x)
			}
			h := 2 / float64(g.Steps)
			u := (x + 1) / h
			r := u - math.Floor(u)
			if got := sum / draws; math.Abs(got-x) > 5*h/2/math.Sqrt(draws)+1e-12 {
				t.Errorf("grid %d: E[round(%v)] = %.4f", g.Steps, x, got)
			}
			if want := h * h * r * (1 - r); math.Abs(sq/draws-want) > 0.02*h*h {
				t.Errorf("grid %d x=%v: rounding variance %.4f, want %.4f", g.Steps, x, sq/draws, want)
			}
		}
		if w, v := ldp.WorstVariance(pm, g), ldp.RoundedVariance(pm, g, 0.9); v > w {
			t.Errorf("grid %d: variance %v above the worst case %v", g.Steps, v, w)
		}
	}
	d, _ := ldp.NewDuchi(1)
	for _, x := range []float64{-1, 0.3, 1} {
		if got, want := ldp.RoundedVariance(d, ldp.MeanGrid(ldp.MechanismDuchi), x), d.Variance(x); math.Abs(got-want) > 1e-12 {
			t.Errorf("duchi: rounding to ±1 changed the variance at %v: %v, want %v", x, got, want)
		}
	}
}

// TestDriftingScoreDrawsFewRandomizations (issue 14, item 4): a score
// decaying with a 7-day half-life from 0.9 over 60 daily epochs. Keyed by
// its α-rounded point, a device's memo re-randomizes at most Steps+1 times
// (2 for Duchi, 5 for piecewise); keyed by the score rounded to 1/100, as
// before, it re-randomizes at every visible step — a median of 22 times.
func TestDriftingScoreDrawsFewRandomizations(t *testing.T) {
	score := func(day int) float64 { return 0.9 * math.Pow(2, -float64(day)/7) }
	rng := ldp.NewSeededRand(14)
	for _, m := range []ldp.Mechanism{ldp.MechanismDuchi, ldp.MechanismPiecewise} {
		g := ldp.MeanGrid(m)
		worst, total := 0, 0
		const devices = 10000
		for range devices {
			alpha := rng.Float64()
			keys := map[int]bool{}
			for day := range 60 {
				i, _, err := g.Round(2*score(day)-1, alpha)
				if err != nil {
					t.Fatal(err)
				}
				keys[i] = true
			}
			worst = max(worst, len(keys))
			total += len(keys)
		}
		t.Logf("%v (grid of %d steps): fresh randomizations over 60 epochs: max %d, mean %.2f", m, g.Steps, worst, float64(total)/devices)
		if worst > g.Steps+1 || worst > 5 {
			t.Errorf("%v: a device drew %d fresh randomizations", m, worst)
		}
	}
	// Before: the memo key was the score's level out of 100. A device's
	// score starts at 0.9 on a device-specific day of its decay (the phase),
	// so the count varies a little.
	var counts []int
	for ph := range 100 {
		phase := float64(ph) / 100
		keys := map[int]bool{}
		for day := range 60 {
			keys[int(math.Round(100*0.9*math.Pow(2, -(float64(day)+phase)/7)))] = true
		}
		counts = append(counts, len(keys))
	}
	slices.Sort(counts)
	if med := counts[len(counts)/2]; med < 20 {
		t.Errorf("1/100 rounding: median %d fresh randomizations, expected more than 20", med)
	} else {
		t.Logf("1/100 rounding: median %d fresh randomizations (range %d–%d)", med, counts[0], counts[len(counts)-1])
	}
}

// TestRoundedMeanUnbiased: on a simulated population with a fixed seed,
// each device with its own α, the α-rounded mean estimate is unbiased and
// its MSE is the exact RoundedVariance.
func TestRoundedMeanUnbiased(t *testing.T) {
	const n, runs = 1000, 400
	xs := make([]float64, n)
	var truth float64
	for i := range xs {
		xs[i] = math.Sin(float64(i) * 0.7)
		truth += xs[i]
	}
	truth /= n
	for _, id := range []ldp.Mechanism{ldp.MechanismDuchi, ldp.MechanismPiecewise} {
		m, _ := ldp.NewMeanMechanism(id, 2)
		g := ldp.MeanGrid(id)
		var theory float64
		for _, x := range xs {
			theory += ldp.RoundedVariance(m, g, x)
		}
		theory /= n * n
		rng := ldp.NewSeededRand(21)
		var sum, sq float64
		for range runs {
			acc := ldp.NewRoundedMeanAccumulator(m, g)
			for _, x := range xs {
				_, z, _ := g.Round(x, rng.Float64())
				a, err := m.AppendRandomized(nil, z, rng)
				if err != nil {
					t.Fatal(err)
				}
				if err := acc.Add(a); err != nil {
					t.Fatal(err)
				}
			}
			e := acc.Estimate()
			sum += e.Value
			sq += (e.Value - truth) * (e.Value - truth)
			if e.Variance < theory {
				t.Fatalf("%v: reported variance %v below the exact %v", id, e.Variance, theory)
			}
		}
		if mean := sum / runs; math.Abs(mean-truth) > 4*math.Sqrt(theory/runs) {
			t.Errorf("%v: mean %.4f, truth %.4f (±%.4f)", id, mean, truth, math.Sqrt(theory/runs))
		}
		if r := sq / runs / theory; r < 0.8 || r > 1.2 {
			t.Errorf("%v: MSE/theory = %.3f", id, r)
		}
	}
}
