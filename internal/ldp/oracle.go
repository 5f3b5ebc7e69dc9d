package ldp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Sentinel errors of the frequency oracles.
var (
	ErrMechanism = errors.New("ldp: unknown mechanism")
	ErrDomain    = errors.New("ldp: domain size out of range")
	ErrValue     = errors.New("ldp: value outside the domain")
	ErrAnswer    = errors.New("ldp: malformed randomized answer")
)

// MaxDomain bounds d so that answers and accumulators stay small.
const MaxDomain = 1 << 20

// Params describe a configured mechanism: what a campaign config states,
// and what fixes a report's Mechanism byte and answer length.
type Params struct {
	Mechanism  Mechanism `json:"mechanism"`
	Epsilon    float64   `json:"epsilon"`
	D          int       `json:"d"`
	AnswerSize int       `json:"answer_bytes"`
	// PermanentEpsilon is ε∞ of a two-layer oracle (Longitudinal), whose
	// Epsilon is the per-report ε1; zero for a single-layer one.
	PermanentEpsilon float64 `json:"permanent_epsilon,omitempty"`
}

// FrequencyOracle is an ε-LDP mechanism over the items {0, …, d-1}: the
// device randomizes its one true item into a fixed-size answer, the
// aggregator accumulates answers and estimates how many reporters hold each
// item.
//
// Every oracle here is "pure" in the sense of Wang et al. (USENIX Security
// 2017, §4): each answer supports a set of items; it supports the
// reporter's true item with probability p* and any other given item with
// probability q* < p*, whatever the other reporters hold. That makes the
// count estimator ĉ(v) = (S(v) − n·q*)/(p* − q*) unbiased, with the exact
// variance given by CountVariance.
type FrequencyOracle interface {
	Params() Params
	// Support returns (p*, q*).
	Support() (p, q float64)
	// AppendRandomized appends the encoded randomized answer for the true
	// item v to dst. Devices pass NewCryptoRand().
	AppendRandomized(dst []byte, v int, rng *rand.Rand) ([]byte, error)
	// NewAccumulator returns an empty aggregator-side accumulator.
	NewAccumulator() Accumulator
}

// Accumulator sums answers so that decoding costs O(n) cheap updates plus
// one pass over an aggregated table, never O(n·d).
type Accumulator interface {
	// Add checks and accumulates one encoded answer.
	Add(answer []byte) error
	// N is the number of answers added.
	N() int
	// Support returns S(v), the number of answers supporting each item.
	Support() []float64
}

// EstimateCounts returns the unbiased count estimate for every item, with
// the exact variance evaluated at the estimate clipped to [0, n] (the true
// count is unknown; the variance depends on it only through a small term),
// and a 95% interval that is the score interval of the item's support
// count (ScoreInterval) mapped through the estimator: it covers at small
// counts and high ε, where ±1.96·sd does not.
func EstimateCounts(fo FrequencyOracle, acc Accumulator) []Estimate {
	p, q := fo.Support()
	return estimateSupport(acc.Support(), acc.N(), p, q, p, 1)
}

// estimateSupport applies ĉ = scale·(S − n·q)/(p − q) to every item; r is
// the probability that a holder's answer supports the item (p for a plain
// oracle, less under padding-and-sampling).
func estimateSupport(support []float64, n int, p, q, r, scale float64) []Estimate {
	out := make([]Estimate, len(support))
	nf := float64(n)
	for v, s := range support {
		c := scale * (s - nf*q) / (p - q)
		// c estimates the number of holders of v (for padding-and-sampling too,
		// where the oracle count is c/scale): the variance is evaluated there.
		e := newEstimate(c, scale*scale*supportVariance(nf, math.Min(math.Max(c, 0), nf), p, q, r))
		if n > 0 {
			lo, hi := ScoreInterval(s, nf)
			e.Low, e.High = scale*nf*(lo-q)/(p-q), scale*nf*(hi-q)/(p-q)
		}
		out[v] = e
	}
	return out
}

// ScoreInterval is a 95% interval for the mean probability π of n
// independent Bernoulli answers from the number s that came out 1 (an
// item's support count): Wilson's score interval with continuity
// correction (Newcombe, Statistics in Medicine 1998, method 4), the set of
// π with (|s/n − π| − 1/(2n))² ≤ z²·π(1−π)/n. The correction keeps the
// coverage at or above 95% where the plain score interval's oscillates
// down to ~93% (n = 50); it widens the interval by about 1/(2n). The
// interval is conservative when the answers' own probabilities differ
// (holders and non-holders of an item): their sum's variance is at most
// n·π(1−π). Near the ends a count of 1, 2 or 3 (or n minus that) widens
// it further to the exact Poisson bound λₛ/n when that is wider (Brown,
// Cai, DasGupta, Statistical Science 2001, §4.1.2). EstimateCounts maps
// it through the estimator, which is increasing in s, so a count's
// interval is never the impossible symmetric ±1.96·sd around a count near
// 0 or n.
func ScoreInterval(s, n float64) (lo, hi float64) {
	if !(n > 0) {
		return math.Inf(-1), math.Inf(1)
	}
	ph, z, z2 := math.Min(math.Max(s/n, 0), 1), Z95, Z95*Z95
	den := 2 * (n + z2)
	lo, hi = 0, 1
	if ph > 0 {
		lo = (2*n*ph + z2 - 1 - z*math.Sqrt(math.Max(z2-2-1/n+4*ph*(n*(1-ph)+1), 0))) / den
	}
	if ph < 1 {
		hi = (2*n*ph + z2 + 1 + z*math.Sqrt(math.Max(z2+2-1/n+4*ph*(n*(1-ph)-1), 0))) / den
	}
	lo, hi = math.Max(lo, 0), math.Min(hi, 1)
	if k := int(math.Round(s)); k >= 1 && k <= 3 {
		lo = math.Min(lo, poissonLower[k]/n)
	}
	if k := int(math.Round(n - s)); k >= 1 && k <= 3 {
		hi = math.Max(hi, 1-poissonLower[k]/n)
	}
	return lo, hi
}

// poissonLower[k] is the λ with P[Poisson(λ) ≥ k] = 0.025: the exact
// two-sided 95% lower bound of a Poisson mean after k events.
var poissonLower = [4]float64{0, 0.0253178, 0.2422093, 0.6186721}

// CountVariance is Var[ĉ(v)] for n reports of which c hold v (Wang et al.
// 2017, Eq. 2, without dropping the c term):
//
//	Var = n·q*(1−q*)/(p*−q*)² + c·(1−p*−q*)/(p*−q*)
func CountVariance(fo FrequencyOracle, n int, c float64) float64 {
	p, q := fo.Support()
	return supportVariance(float64(n), c, p, q, p)
}

// supportVariance is the variance of (S − n·q)/(p − q) when n−c
// non-holders each support the item with probability q and c holders with
// probability r. Answers are independent, so S is a sum of independent
// Bernoulli variables.
func supportVariance(n, c, p, q, r float64) float64 {
	return ((n-c)*q*(1-q) + c*r*(1-r)) / ((p - q) * (p - q))
}

// NewOracle builds the frequency oracle for a wire mechanism id, as the
// aggregator does for a campaign.
func NewOracle(m Mechanism, epsilon float64, d int) (FrequencyOracle, error) {
	switch m {
	case MechanismRR:
		if d != 2 {
			return nil, fmt.Errorf("%w: rr needs d = 2, got %d", ErrDomain, d)
		}
		return NewRR(epsilon)
	case MechanismGRR:
		return NewGRR(epsilon, d)
	case MechanismOUE:
		return NewOUE(epsilon, d)
	case MechanismOLH:
		return NewOLH(epsilon, d)
	case MechanismHadamard:
		return NewHadamard(epsilon, d)
	}
	return nil, fmt.Errorf("%w: %v is not a frequency oracle", ErrMechanism, m)
}

// MaxEpsilon bounds ε for the mechanisms built here: beyond it e^ε
// overflows the formulas' precision, and a per-report ε this large offers
// no meaningful privacy anyway.
const MaxEpsilon = 30

func checkEpsilon(epsilon float64) error {
	if !(epsilon > 0) || epsilon > MaxEpsilon {
		return fmt.Errorf("%w (got %v, max %v)", ErrEpsilon, epsilon, MaxEpsilon)
	}
	return nil
}

func checkDomain(d int) error {
	if d < 2 || d > MaxDomain {
		return fmt.Errorf("%w: d = %d, want 2…%d", ErrDomain, d, MaxDomain)
	}
	return nil
}
