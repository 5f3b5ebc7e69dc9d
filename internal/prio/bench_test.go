package prio

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wisp-project/wisp/internal/dpnoise"
)

var benchCases = []testCase{
	cases[0], // count
	{"histogram10", ForOneOf(10), func(r *rand.Rand) Measurement { return OneHot(10, r.IntN(10)) }},
	{"histogram100", ForOneOf(100), func(r *rand.Rand) Measurement { return OneHot(100, r.IntN(100)) }},
	{"topk20of3", ForTopK(20, 3), func(r *rand.Rand) Measurement { return MultiHot(20, r.Perm(20)[:3]...) }},
	{"sum16", ForMean(16), func(r *rand.Rand) Measurement { return Value(r.Uint64N(1 << 16)) }},
	cases[4], // sumvec 4×8
}

// BenchmarkShard: the device's cost per report (crypto/rand), and the sizes
// of what it sends before HPKE.
func BenchmarkShard(b *testing.B) {
	for _, tc := range benchCases {
		b.Run(tc.name, func(b *testing.B) {
			c, _ := NewClient(tc.p, AppContext("bench"))
			m := tc.gen(rand.New(rand.NewPCG(1, 1)))
			var rep Report
			for b.Loop() {
				var err error
				if rep, err = c.Shard(m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rep.Leader)), "leader-B")
			b.ReportMetric(float64(len(rep.Helper)), "helper-B")
			b.ReportMetric(float64(len(rep.Public)), "public-B")
		})
	}
}

// BenchmarkPrep: each aggregator's cost per report. The leader runs
// PrepInit and PrepNext and adds its out share; the helper also combines the
// prep shares (the proof decision).
func BenchmarkPrep(b *testing.B) {
	for _, tc := range benchCases {
		c, _ := NewClient(tc.p, AppContext("bench"))
		rep, _ := c.Shard(tc.gen(rand.New(rand.NewPCG(1, 1))))
		pr := newPair(b, tc.p, AppContext("bench"), NewVerifyKey())
		_, lps, _ := pr.agg[Leader].PrepInit(rep.Nonce, rep.Public, rep.Leader)
		_, hps, _ := pr.agg[Helper].PrepInit(rep.Nonce, rep.Public, rep.Helper)
		msg, err := pr.agg[Helper].PrepSharesToPrep(lps, hps)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name+"/leader", func(b *testing.B) {
			a := pr.agg[Leader]
			for b.Loop() {
				st, _, err := a.PrepInit(rep.Nonce, rep.Public, rep.Leader)
				if err != nil {
					b.Fatal(err)
				}
				out, err := a.PrepNext(st, msg)
				if err != nil {
					b.Fatal(err)
				}
				pr.share[Leader].Add(out)
			}
		})
		b.Run(tc.name+"/helper", func(b *testing.B) {
			a := pr.agg[Helper]
			for b.Loop() {
				st, ps, err := a.PrepInit(rep.Nonce, rep.Public, rep.Helper)
				if err != nil {
					b.Fatal(err)
				}
				m, err := a.PrepSharesToPrep(lps, ps)
				if err != nil {
					b.Fatal(err)
				}
				out, err := a.PrepNext(st, m)
				if err != nil {
					b.Fatal(err)
				}
				pr.share[Helper].Add(out)
			}
		})
	}
}

// BenchmarkRelease: one aggregator's noise (crypto/rand) on a 100-bucket
// histogram share, and the collector's Unshard.
func BenchmarkRelease(b *testing.B) {
	p := ForOneOf(100)
	s, _ := NewAggShare(p)
	src := dpnoise.CryptoSource()
	b.Run("AddNoise/histogram100", func(b *testing.B) {
		for b.Loop() {
			c := s.Clone()
			if err := c.AddNoise(src, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	l, h := s.Clone(), s.Clone()
	l.AddNoise(src, 1)
	h.AddNoise(src, 1)
	b.Run("Unshard/histogram100", func(b *testing.B) {
		for b.Loop() {
			if _, err := Unshard(p, l, h); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSegmentSD reports the standard deviation of a released segment
// count at n = 10⁶ devices and ε = 1: central noise (one Lap_ℤ(1/ε) from
// each aggregator, exact and measured over 200,000 releases) against
// one-bit randomized response, whose unbiased count has variance
// n·e^ε/(e^ε − 1)². The central sd does not depend on n.
func BenchmarkSegmentSD(b *testing.B) {
	const n, eps = 1_000_000, 1.0
	p := ForThreshold()
	lap, _ := dpnoise.NewLaplace(mustScale(b, p.Sensitivity(), eps))
	exact := math.Sqrt(2 * lap.Variance())
	rr := math.Sqrt(n * math.Exp(eps) / math.Pow(math.Expm1(eps), 2))

	base, _ := NewAggShare(p)
	base.v.addSigned([]int64{300_000}) // the leader's share of a segment of 300,000
	zero, _ := NewAggShare(p)
	src1, src2 := dpnoise.SeededSource(1), dpnoise.SeededSource(2)
	var k, sum2 float64
	release := func() {
		l, h := base.Clone(), zero.Clone()
		l.AddNoise(src1, eps)
		h.AddNoise(src2, eps)
		got, err := Unshard(p, l, h)
		if err != nil {
			b.Fatal(err)
		}
		e := float64(got[0] - 300_000)
		k++
		sum2 += e * e
	}
	for range 200_000 {
		release()
	}
	for b.Loop() {
		release()
	}
	b.ReportMetric(exact, "sd-central")
	b.ReportMetric(math.Sqrt(sum2/k), "sd-central-measured")
	b.ReportMetric(rr, "sd-RR")
	b.ReportMetric(rr*rr/(exact*exact), "variance-ratio")
}
