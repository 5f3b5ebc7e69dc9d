package ldp_test

import (
	"math"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

// FuzzAccumulatorAdd feeds arbitrary bytes to every accumulator (what an
// aggregator receives from a hostile device after HPKE opens): Add must
// either reject with ErrAnswer or accept, never panic, and an accepted
// answer must add exactly one report and keep every support count within
// [0, n].
func FuzzAccumulatorAdd(f *testing.F) {
	f.Add([]byte{0}, uint8(0))
	f.Add([]byte{0xff, 0xff, 0xff}, uint8(3))
	f.Add(make([]byte, 63), uint8(1))
	f.Fuzz(func(t *testing.T, answer []byte, which uint8) {
		ms := []ldp.Mechanism{ldp.MechanismGRR, ldp.MechanismOUE, ldp.MechanismOLH, ldp.MechanismHadamard}
		m := ms[int(which)%len(ms)]
		fo, err := ldp.NewOracle(m, 1+float64(which%4), 497)
		if err != nil {
			t.Fatal(err)
		}
		acc := fo.NewAccumulator()
		if err := acc.Add(answer); err != nil {
			if acc.N() != 0 {
				t.Fatalf("%v: rejected answer counted", m)
			}
			return
		}
		if len(answer) != fo.Params().AnswerSize {
			t.Fatalf("%v: accepted a %d-byte answer, size is %d", m, len(answer), fo.Params().AnswerSize)
		}
		s := acc.Support()
		if len(s) != 497 || acc.N() != 1 {
			t.Fatalf("%v: support of %d items, n = %d", m, len(s), acc.N())
		}
		for v, x := range s {
			if x < 0 || x > 1 || math.IsNaN(x) {
				t.Fatalf("%v: support[%d] = %v from one answer", m, v, x)
			}
		}
	})
}

// FuzzMeanDecode checks that any accepted mean answer decodes inside the
// mechanism's output range.
func FuzzMeanDecode(f *testing.F) {
	f.Add([]byte{1}, 1.0)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, 0.5)
	f.Fuzz(func(t *testing.T, answer []byte, eps float64) {
		if !(eps > 0.01 && eps < 20) {
			return
		}
		for _, id := range []ldp.Mechanism{ldp.MechanismDuchi, ldp.MechanismPiecewise} {
			m, err := ldp.NewMeanMechanism(id, eps)
			if err != nil {
				t.Fatal(err)
			}
			y, err := m.Decode(answer)
			if err != nil {
				continue
			}
			// Duchi outputs ±coth(ε/2), piecewise lies in [−coth(ε/4), coth(ε/4)].
			t4 := math.Exp(eps / 4)
			if bound := (t4 + 1) / (t4 - 1) * (1 + 1e-12); math.IsNaN(y) || math.Abs(y) > bound {
				t.Fatalf("%v: decoded %v out of range", id, y)
			}
		}
	})
}
