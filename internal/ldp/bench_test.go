package ldp_test

import (
	"fmt"
	"testing"

	"github.com/wisp-project/wisp/internal/ldp"
)

// BenchmarkRandomize measures one device answer at d = 497, ε = 1, with the
// device's cryptographic generator.
func BenchmarkRandomize(b *testing.B) {
	rng := ldp.NewCryptoRand()
	for _, fo := range oracles(b, 1, 497) {
		b.Run(fo.Params().Mechanism.String(), func(b *testing.B) {
			buf := make([]byte, 0, 64)
			for i := 0; b.Loop(); i++ {
				buf, _ = fo.AppendRandomized(buf[:0], i%497, rng)
			}
		})
	}
	for _, id := range []ldp.Mechanism{ldp.MechanismDuchi, ldp.MechanismPiecewise} {
		m, _ := ldp.NewMeanMechanism(id, 1)
		b.Run(id.String(), func(b *testing.B) {
			buf := make([]byte, 0, 8)
			for b.Loop() {
				buf, _ = m.AppendRandomized(buf[:0], 0.3, rng)
			}
		})
	}
}

// BenchmarkDecode measures the aggregator's cost for n = 100,000 answers at
// d = 497, ε = 1: adding every answer and estimating every item. Reported
// per answer (ns/op ÷ 100,000).
func BenchmarkDecode(b *testing.B) {
	const n = 100_000
	counts := zipfCounts(n, 497)
	for _, fo := range oracles(b, 1, 497) {
		rng := ldp.NewSeededRand(1)
		size := fo.Params().AnswerSize
		var buf []byte
		for v, c := range counts {
			for range c {
				buf, _ = fo.AppendRandomized(buf, v, rng)
			}
		}
		b.Run(fmt.Sprintf("%v/n=%d", fo.Params().Mechanism, n), func(b *testing.B) {
			for b.Loop() {
				acc := fo.NewAccumulator()
				for i := 0; i < len(buf); i += size {
					acc.Add(buf[i : i+size])
				}
				ldp.EstimateCounts(fo, acc)
			}
		})
	}
}
