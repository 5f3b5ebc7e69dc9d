package ldp_test

import (
	"math"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

// TestVarianceMatchesPublishedFormulas checks CountVariance against the
// closed forms of Wang et al. 2017 (c = 0 term, per report) and the exact
// Hadamard form n/(2p−1)² − c, so a slip in any (p*, q*) shows up here
// even before the simulations.
func TestVarianceMatchesPublishedFormulas(t *testing.T) {
	const d = 497
	for _, eps := range []float64{0.5, 1, 2, 4} {
		e := math.Exp(eps)
		olh, _ := ldp.NewOLH(eps, d)
		g := float64(olh.Buckets())
		pOLH := e / (e + g - 1)
		tests := []struct {
			m    ldp.Mechanism
			c    float64
			want float64
		}{
			{ldp.MechanismGRR, 0, (e + d - 2) / ((e - 1) * (e - 1))},
			{ldp.MechanismOUE, 0, 4 * e / ((e - 1) * (e - 1))},
			{ldp.MechanismOLH, 0, (1 / g) * (1 - 1/g) / ((pOLH - 1/g) * (pOLH - 1/g))},
			{ldp.MechanismHadamard, 0, (e + 1) * (e + 1) / ((e - 1) * (e - 1))},
			{ldp.MechanismHadamard, 0.25, (e+1)*(e+1)/((e-1)*(e-1)) - 0.25},
		}
		for _, tt := range tests {
			fo, err := ldp.NewOracle(tt.m, eps, d)
			if err != nil {
				t.Fatal(err)
			}
			if got := ldp.CountVariance(fo, 1, tt.c); math.Abs(got-tt.want) > 1e-9*tt.want {
				t.Errorf("%v ε=%v c=%v: variance %.10g, want %.10g", tt.m, eps, tt.c, got, tt.want)
			}
		}
		// OLH's prime g never beats OUE's optimum, and stays within 2.5%.
		oue, _ := ldp.NewOUE(eps, d)
		if r := ldp.CountVariance(olh, 1, 0) / ldp.CountVariance(oue, 1, 0); r < 1 || r > 1.025 {
			t.Errorf("ε=%v: OLH/OUE variance = %.4f with g = %v", eps, r, g)
		}
	}
	rr, _ := ldp.NewRR(1)
	if got, want := ldp.CountVariance(rr, 1000, 300), rr.CountVariance(1000); math.Abs(got-want) > 1e-9*want {
		t.Errorf("RR as oracle: variance %v, RR.CountVariance %v", got, want)
	}
}
