package ldp

import (
	"fmt"
	"math/rand/v2"
)

// SetSampler answers set-valued questions ("which of these d categories are
// among the owner's top interests") by padding-and-sampling (Wang, Li, Jha,
// "Locally Differentially Private Frequent Itemset Mining", IEEE S&P 2018):
// the device pads its set to exactly L items with dummy items d, …, d+L−1,
// samples one of the L uniformly and reports it through a frequency oracle
// over d+L items with the full ε. One answer is ε-LDP for the whole set,
// since the set only influences which single item enters the oracle.
//
// Scaling: a holder of v reports v with probability 1/L, so the estimate is
// L·ĉ_FO(v), unbiased for the number of devices whose set contains v as
// long as no set is longer than L. Its exact variance, with r = q*+(p*−q*)/L
// the probability a holder's answer supports v, is
//
//	Var = L²·((n−c)·q*(1−q*) + c·r(1−r)) / (p*−q*)²
//
// A set longer than L is first truncated to a uniform random L-subset,
// which biases its items' counts down; campaigns choose L at the top-k size.
type SetSampler struct {
	fo   FrequencyOracle
	d, l int
}

// NewSetSampler returns padding-and-sampling for sets of up to l of d items,
// reported through mechanism m over d+l items. Use Choose(ε, d+l) to pick m.
func NewSetSampler(m Mechanism, epsilon float64, d, l int) (SetSampler, error) {
	if l < 1 || l > d {
		return SetSampler{}, fmt.Errorf("%w: set length L = %d, want 1…%d", ErrDomain, l, d)
	}
	fo, err := NewOracle(m, epsilon, d+l)
	if err != nil {
		return SetSampler{}, err
	}
	return SetSampler{fo: fo, d: d, l: l}, nil
}

// NewLongitudinalSetSampler is NewSetSampler with two-layer answers
// (Longitudinal over d+l items, permanent ε∞ = epsPerm, per-report
// ε1 = epsReport). The sampled item is part of the permanent layer: a
// device memoizes Oracle().(*Longitudinal).Permanent of Sample(set), and
// every report is Instant of that, so re-sends never re-sample the set.
func NewLongitudinalSetSampler(m Mechanism, epsPerm, epsReport float64, d, l int) (SetSampler, error) {
	if l < 1 || l > d {
		return SetSampler{}, fmt.Errorf("%w: set length L = %d, want 1…%d", ErrDomain, l, d)
	}
	fo, err := NewLongitudinal(m, epsPerm, epsReport, d+l)
	if err != nil {
		return SetSampler{}, err
	}
	return SetSampler{fo: fo, d: d, l: l}, nil
}

// Oracle is the underlying frequency oracle over d+L items; its Params give
// the report's Mechanism and answer size.
func (s SetSampler) Oracle() FrequencyOracle { return s.fo }

// L is the padded set length.
func (s SetSampler) L() int { return s.l }

// AppendRandomized appends the answer for the owner's set of distinct items
// in [0, d). An empty set is allowed (it reports a dummy item).
func (s SetSampler) AppendRandomized(dst []byte, set []int, rng *rand.Rand) ([]byte, error) {
	item, err := s.Sample(set, rng)
	if err != nil {
		return dst, err
	}
	return s.fo.AppendRandomized(dst, item, rng)
}

// Sample pads the owner's set of distinct items in [0, d) to L items and
// returns one of them uniformly: the oracle's input (an item ≥ d is a
// dummy).
func (s SetSampler) Sample(set []int, rng *rand.Rand) (int, error) {
	seen := make(map[int]bool, len(set))
	for _, v := range set {
		if v < 0 || v >= s.d || seen[v] {
			return 0, fmt.Errorf("%w: set item %d (d = %d, items must be distinct)", ErrValue, v, s.d)
		}
		seen[v] = true
	}
	i := rng.IntN(s.l)
	item := s.d + i // dummy slot i
	if len(set) > s.l {
		// Sampling slot i of a uniform L-subset is sampling uniformly from set.
		item = set[rng.IntN(len(set))]
	} else if i < len(set) {
		item = set[i]
	}
	return item, nil
}

// Estimate returns, for each of the d real items, the unbiased estimate of
// how many reporters' sets contain it.
func (s SetSampler) Estimate(acc Accumulator) []Estimate {
	p, q := s.fo.Support()
	r := q + (p-q)/float64(s.l)
	return estimateSupport(acc.Support()[:s.d], acc.N(), p, q, r, float64(s.l))
}

// CountVariance is the exact variance of Estimate for an item whose count
// is c among n reporters.
func (s SetSampler) CountVariance(n int, c float64) float64 {
	p, q := s.fo.Support()
	l := float64(s.l)
	return l * l * supportVariance(float64(n), c, p, q, q+(p-q)/l)
}
