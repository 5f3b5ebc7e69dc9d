package prio

import (
	"errors"
	"testing"
)

// fuzzInstances: one without joint randomness (Field64), one with
// (Field128).
var fuzzInstances = []Params{ForMean(8), ForTopK(10, 3)}

func fuzzReports(f *testing.F) []Report {
	var reps []Report
	for i, p := range fuzzInstances {
		c, err := NewClient(p, AppContext("fuzz"))
		if err != nil {
			f.Fatal(err)
		}
		rep, err := c.ShardFrom(p.Null(), seeded(uint64(i)))
		if err != nil {
			f.Fatal(err)
		}
		reps = append(reps, rep)
	}
	return reps
}

// FuzzPrepInit: any bytes as public and input shares, for either role,
// are refused with ErrMalformed or ErrRejected, or accepted, never a panic.
func FuzzPrepInit(f *testing.F) {
	for i, rep := range fuzzReports(f) {
		f.Add(uint8(i), uint8(0), rep.Nonce[:], rep.Public, rep.Leader)
		f.Add(uint8(i), uint8(1), rep.Nonce[:], rep.Public, rep.Helper)
	}
	aggs := map[[2]uint8]*Aggregator{}
	f.Fuzz(func(t *testing.T, inst, role uint8, nonce, public, input []byte) {
		p := fuzzInstances[int(inst)%len(fuzzInstances)]
		r := Role(role % 2)
		key := [2]uint8{inst % uint8(len(fuzzInstances)), uint8(r)}
		a := aggs[key]
		if a == nil {
			var err error
			if a, err = NewAggregator(p, AppContext("fuzz"), r, testVK(1)); err != nil {
				t.Fatal(err)
			}
			aggs[key] = a
		}
		var n Nonce
		copy(n[:], nonce)
		st, ps, err := a.PrepInit(n, public, input)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrRejected) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if st == nil || ps == nil {
			t.Fatal("no state or prep share without an error")
		}
		// A state that came out must encode and decode.
		b, err := a.MarshalState(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.DecodePrepState(b); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzPrepSharesToPrep: any pair of prep shares.
func FuzzPrepSharesToPrep(f *testing.F) {
	var aggs []*Aggregator
	for i, rep := range fuzzReports(f) {
		p := fuzzInstances[i]
		pr := newPair(f, p, AppContext("fuzz"), testVK(1))
		_, lps, err := pr.agg[Leader].PrepInit(rep.Nonce, rep.Public, rep.Leader)
		if err != nil {
			f.Fatal(err)
		}
		_, hps, err := pr.agg[Helper].PrepInit(rep.Nonce, rep.Public, rep.Helper)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), lps, hps)
		aggs = append(aggs, pr.agg[Helper])
	}
	f.Fuzz(func(t *testing.T, inst uint8, l, h []byte) {
		a := aggs[int(inst)%len(aggs)]
		msg, err := a.PrepSharesToPrep(l, h)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrRejected) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		_ = msg
	})
}

// FuzzPrepNext: any prep message and any stored state.
func FuzzPrepNext(f *testing.F) {
	var pairs []*pair
	var states []*PrepState
	for i, rep := range fuzzReports(f) {
		p := fuzzInstances[i]
		pr := newPair(f, p, AppContext("fuzz"), testVK(1))
		lst, lps, _ := pr.agg[Leader].PrepInit(rep.Nonce, rep.Public, rep.Leader)
		_, hps, _ := pr.agg[Helper].PrepInit(rep.Nonce, rep.Public, rep.Helper)
		msg, err := pr.agg[Helper].PrepSharesToPrep(lps, hps)
		if err != nil {
			f.Fatal(err)
		}
		sb, _ := pr.agg[Leader].MarshalState(lst)
		f.Add(uint8(i), sb, msg)
		pairs = append(pairs, pr)
		states = append(states, lst)
	}
	f.Fuzz(func(t *testing.T, inst uint8, state, msg []byte) {
		i := int(inst) % len(pairs)
		a := pairs[i].agg[Leader]
		// The fuzzed message against the real state.
		if _, err := a.PrepNext(states[i], msg); err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrRejected) {
			t.Fatalf("unexpected error %v", err)
		}
		// A fuzzed stored state.
		st, err := a.DecodePrepState(state)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if _, err := a.PrepNext(st, msg); err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrRejected) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzDecodeAggShare: an aggregate share from the other aggregator.
func FuzzDecodeAggShare(f *testing.F) {
	for _, p := range fuzzInstances {
		s, _ := NewAggShare(p)
		b, _ := s.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range append(fuzzInstances, ForThreshold()) {
			s, err := DecodeAggShare(p, 1, b)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			again, _ := s.MarshalBinary()
			if string(again) != string(b) {
				t.Fatalf("re-encoding differs: %x vs %x", again, b)
			}
			other, _ := NewAggShare(p)
			other.n = 1
			if _, err := Unshard(p, s, other); err != nil && !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}

// FuzzDecodeParams: a campaign config's instance; whatever decodes is
// valid and re-encodes to the same bytes.
func FuzzDecodeParams(f *testing.F) {
	for _, tc := range cases {
		b, err := EncodeParams(tc.p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeParams(b)
		if err != nil {
			if !errors.Is(err, ErrParams) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		again, err := EncodeParams(p)
		if err != nil || string(again) != string(b) {
			t.Fatalf("re-encoding %x, want %x (%v)", again, b, err)
		}
	})
}
