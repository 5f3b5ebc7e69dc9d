package prio

import (
	"errors"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/cloudflare/circl/vdaf/prio3/arith/fp128"
	"github.com/cloudflare/circl/vdaf/prio3/arith/fp64"
	"github.com/fxamacker/cbor/v2"

	"github.com/wisp-project/wisp/internal/dpnoise"
)

type testCase struct {
	name string
	p    Params
	gen  func(r *rand.Rand) Measurement
}

var cases = []testCase{
	{"count", ForThreshold(), func(r *rand.Rand) Measurement { return Bit(r.IntN(3) == 0) }},
	{"histogram", ForOneOf(10), func(r *rand.Rand) Measurement { return OneHot(10, r.IntN(10)) }},
	{"topk", ForTopK(10, 3), func(r *rand.Rand) Measurement { return MultiHot(10, r.Perm(10)[:r.IntN(4)]...) }},
	{"sum", ForMean(8), func(r *rand.Rand) Measurement { return Value(r.Uint64N(256)) }},
	{"sumvec", ForMeans(4, 8), func(r *rand.Rand) Measurement {
		return Measurement{r.Uint64N(256), r.Uint64N(256), r.Uint64N(256), r.Uint64N(256)}
	}},
}

// seeded is a deterministic randomness source for Shard (tests only).
func seeded(seed uint64) io.Reader {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	return rand.NewChaCha8(key)
}

func testVK(seed uint64) VerifyKey {
	var vk VerifyKey
	io.ReadFull(seeded(seed^0xabcdef), vk[:])
	return vk
}

// pair is a leader and a helper of one instance, with their sums.
type pair struct {
	p     Params
	agg   [2]*Aggregator
	share [2]*AggShare
}

func newPair(t testing.TB, p Params, ctx []byte, vk VerifyKey) *pair {
	t.Helper()
	pr := &pair{p: p}
	for r := range pr.agg {
		var err error
		if pr.agg[r], err = NewAggregator(p, ctx, Role(r), vk); err != nil {
			t.Fatal(err)
		}
		if pr.share[r], err = NewAggShare(p); err != nil {
			t.Fatal(err)
		}
	}
	return pr
}

// prepare runs one report through both aggregators as the wiring will:
// each PrepInit, the helper combines the prep shares, each PrepNext, Add.
// It returns the first error (the report is then dropped by both).
func (pr *pair) prepare(rep Report) error {
	lst, lps, err := pr.agg[Leader].PrepInit(rep.Nonce, rep.Public, rep.Leader)
	if err != nil {
		return err
	}
	hst, hps, err := pr.agg[Helper].PrepInit(rep.Nonce, rep.Public, rep.Helper)
	if err != nil {
		return err
	}
	msg, err := pr.agg[Helper].PrepSharesToPrep(lps, hps)
	if err != nil {
		return err
	}
	hout, err := pr.agg[Helper].PrepNext(hst, msg)
	if err != nil {
		return err
	}
	lout, err := pr.agg[Leader].PrepNext(lst, msg)
	if err != nil {
		return err
	}
	if err := pr.share[Leader].Add(lout); err != nil {
		return err
	}
	return pr.share[Helper].Add(hout)
}

// viaCBOR sends a report through CBOR as a device would (inside HPKE).
func viaCBOR(t testing.TB, rep Report) Report {
	t.Helper()
	b, err := cbor.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var out Report
	if err := cbor.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEndToEnd: 1,000 simulated devices → two in-process aggregators →
// exact totals without noise; then 5,000 releases of those shares, each
// aggregator adding its own noise, give unbiased totals whose error has
// the sd of two discrete Laplace draws of scale Δ/ε.
func TestEndToEnd(t *testing.T) {
	const devices, releases, eps = 1000, 5000, 1.0
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := AppContext("campaign-" + tc.name)
			c, err := NewClient(tc.p, ctx)
			if err != nil {
				t.Fatal(err)
			}
			pr := newPair(t, tc.p, ctx, testVK(uint64(ci)))
			rng := rand.New(rand.NewPCG(uint64(ci), 1))
			shardRand := seeded(uint64(ci))
			truth := make([]int64, tc.p.OutputLen())
			for range devices {
				m := tc.gen(rng)
				for i, x := range m {
					truth[i] += int64(x)
				}
				rep, err := c.ShardFrom(m, shardRand)
				if err != nil {
					t.Fatal(err)
				}
				if err := pr.prepare(viaCBOR(t, rep)); err != nil {
					t.Fatalf("honest report rejected: %v", err)
				}
			}
			exact, err := Unshard(tc.p, pr.share[Leader], pr.share[Helper])
			if err != nil {
				t.Fatal(err)
			}
			if !equal(exact, truth) {
				t.Fatalf("noise-free totals %v, want %v", exact, truth)
			}

			lap, err := dpnoise.NewLaplace(mustScale(t, tc.p.Sensitivity(), eps))
			if err != nil {
				t.Fatal(err)
			}
			wantSD := math.Sqrt(2 * lap.Variance()) // ≈ √2·√2·Δ/ε
			srcL, srcH := dpnoise.SeededSource(uint64(10*ci+1)), dpnoise.SeededSource(uint64(10*ci+2))
			var n, sum, sum2 float64
			for range releases {
				l, h := pr.share[Leader].Clone(), pr.share[Helper].Clone()
				if err := l.AddNoise(srcL, eps); err != nil {
					t.Fatal(err)
				}
				if err := h.AddNoise(srcH, eps); err != nil {
					t.Fatal(err)
				}
				// Over the wire and back.
				lb, _ := l.MarshalBinary()
				hb, _ := h.MarshalBinary()
				ld, err := DecodeAggShare(tc.p, l.Reports(), lb)
				if err != nil {
					t.Fatal(err)
				}
				hd, err := DecodeAggShare(tc.p, h.Reports(), hb)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Unshard(tc.p, ld, hd)
				if err != nil {
					t.Fatal(err)
				}
				for i := range got {
					e := float64(got[i] - truth[i])
					n++
					sum += e
					sum2 += e * e
				}
			}
			mean := sum / n
			sd := math.Sqrt(sum2/n - mean*mean)
			t.Logf("Δ = %d: mean error %.3f (± %.3f), sd %.3f, want %.3f (2Δ/ε = %.1f)",
				tc.p.Sensitivity(), mean, 4*wantSD/math.Sqrt(n), sd, wantSD, 2*float64(tc.p.Sensitivity())/eps)
			if math.Abs(mean) > 4*wantSD/math.Sqrt(n) {
				t.Errorf("biased: mean error %.3f, want 0 ± %.3f", mean, 4*wantSD/math.Sqrt(n))
			}
			// The sample sd of n sums of two Laplace draws has relative sd
			// ≈ √(3.5/n)/2 (excess kurtosis 3/2): 1.3% at n = 5,000.
			if math.Abs(sd/wantSD-1) > 0.06 {
				t.Errorf("sd %.3f, want %.3f ± 6%%", sd, wantSD)
			}
		})
	}
}

func mustScale(t testing.TB, delta uint64, eps float64) dpnoise.Rat {
	t.Helper()
	s, err := dpnoise.LaplaceScale(delta, eps)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// measLen is the number of field elements of the encoded measurement at the
// start of the leader's input share; the proof share follows.
func measLen(p Params) int {
	switch p.VDAF {
	case Count:
		return 1
	case Sum:
		return 2 * int(p.Bits)
	case SumVec:
		return int(p.Length) * int(p.Bits)
	case Histogram:
		return int(p.Length)
	case MultihotCountVec:
		return int(p.Length) + bits.Len32(p.MaxWeight)
	}
	panic("unknown VDAF")
}

// addOne adds 1 to field element i of an encoded share, as a cheating
// device would to change its measurement after proving it.
func addOne(t *testing.T, p Params, share []byte, i int) []byte {
	t.Helper()
	out := append([]byte{}, share...)
	if p.field() == field64 {
		var e, one fp64.Fp
		if err := e.UnmarshalBinary(out[8*i : 8*i+8]); err != nil {
			t.Fatal(err)
		}
		one.SetOne()
		e.AddAssign(&one)
		b, _ := e.MarshalBinary()
		copy(out[8*i:], b)
		return out
	}
	var e, one fp128.Fp
	if err := e.UnmarshalBinary(out[16*i : 16*i+16]); err != nil {
		t.Fatal(err)
	}
	one.SetOne()
	e.AddAssign(&one)
	b, _ := e.MarshalBinary()
	copy(out[16*i:], b)
	return out
}

func elemSize(p Params) int {
	if p.field() == field64 {
		return 8
	}
	return 16
}

// TestPoisonedMeasurement: a device that proves a valid measurement and then
// changes its leader share (so the shares add up to an invalid one) is
// rejected by preparation. For Count and Sum (no joint randomness) the
// validity proof fails at PrepSharesToPrep; for the joint-randomness
// variants the public share's commitment to the leader's share no longer
// matches and the leader's PrepInit refuses it first.
func TestPoisonedMeasurement(t *testing.T) {
	for _, c := range []struct {
		name   string
		p      Params
		m      Measurement
		elem   int    // leader meas-share element to raise by 1
		stage  string // where it must fail
		result string
	}{
		{"count 2", ForThreshold(), Bit(true), 0, "proof", "a count of 2"},
		{"sum 256 of 8 bits", ForMean(8), Value(255), 0, "proof", "bit 0 = 2: 255 + 1 = 256"},
		{"sum bit 3 raised", ForMean(8), Value(0), 3, "proof", "bit 3 = 1 but the offset copy disagrees"},
		{"histogram two ones", ForOneOf(10), OneHot(10, 2), 5, "init", "ones at 2 and 5"},
		{"topk weight 4 of 3", ForTopK(10, 3), MultiHot(10, 1, 2, 3), 7, "init", "four ones"},
		{"sumvec 256", ForMeans(4, 8), Measurement{255, 0, 0, 0}, 0, "init", "256 in 8 bits"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := AppContext("poison")
			cl, _ := NewClient(c.p, ctx)
			pr := newPair(t, c.p, ctx, testVK(7))
			rep, err := cl.ShardFrom(c.m, seeded(3))
			if err != nil {
				t.Fatal(err)
			}
			// The honest report passes.
			if err := newPair(t, c.p, ctx, testVK(7)).prepare(rep); err != nil {
				t.Fatalf("honest report: %v", err)
			}
			rep.Leader = addOne(t, c.p, rep.Leader, c.elem)
			lst, lps, lerr := pr.agg[Leader].PrepInit(rep.Nonce, rep.Public, rep.Leader)
			_, hps, herr := pr.agg[Helper].PrepInit(rep.Nonce, rep.Public, rep.Helper)
			if herr != nil {
				t.Fatalf("helper PrepInit: %v", herr)
			}
			switch c.stage {
			case "init":
				if !errors.Is(lerr, ErrRejected) {
					t.Fatalf("leader PrepInit of %s: err %v, want ErrRejected", c.result, lerr)
				}
				t.Logf("%s: %v", c.result, lerr)
			case "proof":
				if lerr != nil {
					t.Fatalf("leader PrepInit: %v", lerr)
				}
				_, err := pr.agg[Helper].PrepSharesToPrep(lps, hps)
				if !errors.Is(err, ErrRejected) {
					t.Fatalf("PrepSharesToPrep of %s: err %v, want ErrRejected", c.result, err)
				}
				t.Logf("%s: %v", c.result, err)
				_ = lst
			}
		})
	}
}

// TestFlippedProofBit: one bit flipped in the leader's proof share, in the
// helper's seed or in a prep share makes preparation reject the report.
func TestFlippedProofBit(t *testing.T) {
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := AppContext("flip")
			cl, _ := NewClient(tc.p, ctx)
			rng := rand.New(rand.NewPCG(uint64(ci), 2))
			rep, err := cl.ShardFrom(tc.gen(rng), seeded(uint64(ci)+40))
			if err != nil {
				t.Fatal(err)
			}
			// Proof share: flip the lowest bit of its first element
			// (little-endian), which moves it by ±1 in the field.
			bad := rep
			bad.Leader = append([]byte{}, rep.Leader...)
			bad.Leader[measLen(tc.p)*elemSize(tc.p)] ^= 1
			pr := newPair(t, tc.p, ctx, testVK(9))
			lst, lps, err := pr.agg[Leader].PrepInit(bad.Nonce, bad.Public, bad.Leader)
			if err != nil {
				t.Fatalf("the proof share is not bound at PrepInit, yet: %v", err)
			}
			hst, hps, err := pr.agg[Helper].PrepInit(bad.Nonce, bad.Public, bad.Helper)
			if err != nil {
				t.Fatal(err)
			}
			_, err = pr.agg[Helper].PrepSharesToPrep(lps, hps)
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("flipped proof bit: err %v, want ErrRejected", err)
			}
			t.Logf("flipped proof bit: %v", err)
			_, _ = lst, hst

			// Helper seed.
			bad = rep
			bad.Helper = append([]byte{}, rep.Helper...)
			bad.Helper[5] ^= 0x10
			if err := newPair(t, tc.p, ctx, testVK(9)).prepare(bad); !errors.Is(err, ErrRejected) {
				t.Fatalf("flipped helper seed bit: err %v, want ErrRejected", err)
			}

			// A prep share in transit.
			pr = newPair(t, tc.p, ctx, testVK(9))
			_, lps, _ = pr.agg[Leader].PrepInit(rep.Nonce, rep.Public, rep.Leader)
			_, hps, _ = pr.agg[Helper].PrepInit(rep.Nonce, rep.Public, rep.Helper)
			lps[0] ^= 1
			if _, err := pr.agg[Helper].PrepSharesToPrep(lps, hps); !errors.Is(err, ErrRejected) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("flipped prep share bit: err %v, want a refusal", err)
			}
		})
	}
}

// TestNullReports: a report of the zero measurement passes the proof and
// changes no total; Histogram refuses to make one.
func TestNullReports(t *testing.T) {
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := AppContext("null")
			cl, _ := NewClient(tc.p, ctx)
			if tc.p.VDAF == Histogram {
				if _, err := cl.Shard(tc.p.Null()); !errors.Is(err, ErrMeasurement) {
					t.Fatalf("histogram null report: err %v, want ErrMeasurement", err)
				}
				return
			}
			pr := newPair(t, tc.p, ctx, testVK(11))
			rng := rand.New(rand.NewPCG(uint64(ci), 3))
			r := seeded(uint64(ci) + 60)
			truth := make([]int64, tc.p.OutputLen())
			for range 20 {
				m := tc.gen(rng)
				for i, x := range m {
					truth[i] += int64(x)
				}
				rep, _ := cl.ShardFrom(m, r)
				if err := pr.prepare(rep); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := Unshard(tc.p, pr.share[0], pr.share[1])
			for range 30 {
				rep, err := cl.ShardFrom(tc.p.Null(), r)
				if err != nil {
					t.Fatal(err)
				}
				if err := pr.prepare(rep); err != nil {
					t.Fatalf("null report rejected: %v", err)
				}
			}
			after, err := Unshard(tc.p, pr.share[0], pr.share[1])
			if err != nil {
				t.Fatal(err)
			}
			if !equal(before, truth) || !equal(after, truth) {
				t.Fatalf("totals %v then %v after null reports, want %v", before, after, truth)
			}
			if n := pr.share[Leader].Reports(); n != 50 {
				t.Fatalf("%d reports aggregated, want 50", n)
			}
		})
	}
}

// TestOtherCampaign: a report sharded for one campaign fails preparation
// in another (the context is bound into every derivation).
func TestOtherCampaign(t *testing.T) {
	for ci, tc := range cases {
		cl, _ := NewClient(tc.p, AppContext("a"))
		rep, _ := cl.ShardFrom(tc.gen(rand.New(rand.NewPCG(uint64(ci), 4))), seeded(uint64(ci)+80))
		if err := newPair(t, tc.p, AppContext("b"), testVK(1)).prepare(rep); !errors.Is(err, ErrRejected) {
			t.Errorf("%s: a report of campaign a in campaign b: err %v, want ErrRejected", tc.name, err)
		}
		// And with another verify key it still passes (the key is the
		// aggregators' secret, not part of the report).
		if err := newPair(t, tc.p, AppContext("a"), testVK(2)).prepare(rep); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestShardRefusesInvalid(t *testing.T) {
	for _, c := range []struct {
		p Params
		m Measurement
	}{
		{ForThreshold(), Measurement{2}},
		{ForThreshold(), Measurement{1, 0}},
		{ForOneOf(4), Measurement{1, 1, 0, 0}},
		{ForOneOf(4), Measurement{0, 0, 0}},
		{ForTopK(5, 2), MultiHot(5, 0, 1, 2)},
		{ForTopK(5, 2), Measurement{2, 0, 0, 0, 0}},
		{ForMean(8), Value(256)},
		{ForMeans(2, 4), Measurement{15, 16}},
	} {
		cl, err := NewClient(c.p, AppContext("x"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Shard(c.m); !errors.Is(err, ErrMeasurement) {
			t.Errorf("%v %v: err %v, want ErrMeasurement", c.p.VDAF, c.m, err)
		}
	}
}

// TestUnshardSigned: totals below zero (noise on an empty category) come
// back negative, from both fields; shares refuse misuse.
func TestUnshardSigned(t *testing.T) {
	for _, p := range []Params{ForThreshold(), ForOneOf(3)} {
		l, _ := NewAggShare(p)
		h, _ := NewAggShare(p)
		xs := make([]int64, p.OutputLen())
		ys := make([]int64, p.OutputLen())
		for i := range xs {
			xs[i], ys[i] = int64(-3-i), int64(1+2*i)
		}
		if err := l.v.addSigned(xs); err != nil {
			t.Fatal(err)
		}
		if err := h.v.addSigned(ys); err != nil {
			t.Fatal(err)
		}
		got, err := Unshard(p, l, h)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != xs[i]+ys[i] {
				t.Errorf("%v: coordinate %d = %d, want %d", p.VDAF, i, got[i], xs[i]+ys[i])
			}
		}
		// Far from zero: no signed reading.
		far, _ := NewAggShare(p)
		big := make([]int64, p.OutputLen())
		big[0] = 1<<62 - 1
		far.v.addSigned(big)
		far.v.addSigned(big)
		if _, err := Unshard(p, far, h); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("%v: 2⁶³ decoded: %v", p.VDAF, err)
		}
		if err := l.v.addSigned([]int64{math.MinInt64, 0, 0}[:p.OutputLen()]); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("%v: MinInt64 accepted: %v", p.VDAF, err)
		}
		// Noise once; no Add, Merge or noise after.
		s, _ := NewAggShare(p)
		if err := s.AddNoise(dpnoise.SeededSource(1), 1); err != nil {
			t.Fatal(err)
		}
		if err := s.AddNoise(dpnoise.SeededSource(1), 1); !errors.Is(err, ErrNoised) {
			t.Errorf("second noise: %v", err)
		}
		if err := s.Add(&OutShare{p: p, v: p.field().zero(p.OutputLen())}); !errors.Is(err, ErrNoised) {
			t.Errorf("Add after noise: %v", err)
		}
		if err := s.AddNoise(dpnoise.SeededSource(1), 0); err == nil {
			t.Error("ε = 0 accepted")
		}
		// Counts must agree.
		a, _ := NewAggShare(p)
		b, _ := NewAggShare(p)
		a.n = 3
		if _, err := Unshard(p, a, b); !errors.Is(err, ErrMismatch) {
			t.Errorf("3 vs 0 reports: %v", err)
		}
	}
	// Instances must agree.
	a, _ := NewAggShare(ForOneOf(3))
	b, _ := NewAggShare(ForOneOf(4))
	if _, err := Unshard(ForOneOf(3), a, b); !errors.Is(err, ErrMismatch) {
		t.Errorf("different instances: %v", err)
	}
	if err := a.Merge(b); !errors.Is(err, ErrMismatch) {
		t.Errorf("Merge of different instances: %v", err)
	}
}

// TestMerge: sums of several aggregators of one role merge into the same
// total.
func TestMerge(t *testing.T) {
	tc := cases[2]
	ctx := AppContext("merge")
	cl, _ := NewClient(tc.p, ctx)
	vk := testVK(5)
	one, a, b := newPair(t, tc.p, ctx, vk), newPair(t, tc.p, ctx, vk), newPair(t, tc.p, ctx, vk)
	rng, r := rand.New(rand.NewPCG(1, 1)), seeded(99)
	for i := range 40 {
		rep, _ := cl.ShardFrom(tc.gen(rng), r)
		if err := one.prepare(rep); err != nil {
			t.Fatal(err)
		}
		part := a
		if i%2 == 1 {
			part = b
		}
		if err := part.prepare(rep); err != nil {
			t.Fatal(err)
		}
	}
	for r := range 2 {
		if err := a.share[r].Merge(b.share[r]); err != nil {
			t.Fatal(err)
		}
	}
	x, _ := Unshard(tc.p, one.share[0], one.share[1])
	y, _ := Unshard(tc.p, a.share[0], a.share[1])
	if !equal(x, y) {
		t.Fatalf("merged %v, single %v", y, x)
	}
}

// TestPrepStateStored: the leader may store its state while it waits for
// the helper.
func TestPrepStateStored(t *testing.T) {
	for ci, tc := range cases {
		ctx := AppContext("state")
		cl, _ := NewClient(tc.p, ctx)
		pr := newPair(t, tc.p, ctx, testVK(3))
		rep, _ := cl.ShardFrom(tc.gen(rand.New(rand.NewPCG(uint64(ci), 5))), seeded(uint64(ci)))
		lst, lps, err := pr.agg[Leader].PrepInit(rep.Nonce, rep.Public, rep.Leader)
		if err != nil {
			t.Fatal(err)
		}
		b, err := pr.agg[Leader].MarshalState(lst)
		if err != nil {
			t.Fatal(err)
		}
		back, err := pr.agg[Leader].DecodePrepState(b)
		if err != nil {
			t.Fatal(err)
		}
		_, hps, _ := pr.agg[Helper].PrepInit(rep.Nonce, rep.Public, rep.Helper)
		msg, err := pr.agg[Helper].PrepSharesToPrep(lps, hps)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pr.agg[Leader].PrepNext(back, msg); err != nil {
			t.Fatalf("%s: PrepNext from a stored state: %v", tc.name, err)
		}
		if _, err := pr.agg[Helper].PrepNext(back, msg); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: the helper took the leader's state: %v", tc.name, err)
		}
	}
}
