package ldp

import (
	"fmt"
	"math/rand/v2"
)

// DefaultReportShare is the default per-report ε as a share of the
// permanent one: ε1 = ε∞/2. One report then reveals at most half of what
// the device's memoized answer does (ε∞, the long-term bound per distinct
// true value), at an estimator variance of the oracle at ε1 — about 4× the
// single-layer variance at small ε (Var ∝ 1/ε²), e^{ε∞/2}× at large ε.
// docs/PRIVACY.md ("Two layers") gives the reasoning.
const DefaultReportShare = 0.5

// Longitudinal is a frequency oracle drawn in two layers, RAPPOR's
// permanent and instantaneous randomized response (Erlingsson, Pihur,
// Korolova, CCS 2014, §3): the device randomizes its true item once at
// ε∞ (Permanent, memoized — ldp.Memo) and every report applies fresh
// noise to that permanent answer (Instant), so re-sent answers are not
// byte-identical and one report reveals only ε1 < ε∞, while any number of
// reports of one true value reveal at most ε∞ (they are all
// post-processing of one ε∞-LDP answer).
//
// The layers per mechanism, with p∞ = e^ε∞/(e^ε∞+d−1), q∞ = 1/(e^ε∞+d−1):
//
//   - RR and GRR: permanent GRR at ε∞; instantaneous GRR on the permanent
//     item keeping it with probability pᵢ = (p₁−q∞)/(p∞−q∞), where
//     p₁ = e^ε1/(e^ε1+d−1). Two symmetric channels compose into one, with
//     p−q multiplying, so the report is exactly GRR at ε1: p* = p₁.
//   - OUE: permanent OUE at ε∞ (true bit 1 w.p. 1/2, others w.p.
//     q∞ = 1/(e^ε∞+1)); every bit is then flipped independently with
//     probability f = (q₁−q∞)/(1−2q∞), q₁ = 1/(e^ε1+1). A flip keeps 1/2 at
//     1/2 and takes q∞ to q₁: the report is exactly OUE at ε1.
//   - OLH and Hadamard: the seed or row is drawn afresh for every report
//     (a memoized seed would be a fingerprint), so the permanent layer
//     must be a function of the item alone: permanent GRR at ε∞ over the d
//     items, then OLH or Hadamard at ε1 on the permanent item. The report
//     is ε1-LDP (a mixture of ε1-LDP distributions) and ε∞-LDP
//     (post-processing), and
//     p* = p∞·p₀ + (1−p∞)·q₀, q* = q∞·p₀ + (1−q∞)·q₀, with (p₀, q₀) the
//     report oracle's support at ε1 (for an item other than the permanent
//     one, OLH supports it with probability exactly 1/g and Hadamard 1/2).
//     The permanent GRR costs a factor ~((e^ε∞+d−1)/(e^ε∞−1))² in
//     variance, so Choose rarely picks them.
//
// Every layer is pure, so the estimator is the usual
// ĉ = (S − n·q*)/(p* − q*) with its exact variance (CountVariance) at the
// composed (p*, q*); one epoch's reports come from independent devices.
type Longitudinal struct {
	m                  Mechanism
	epsPerm, epsReport float64
	d                  int
	perm               FrequencyOracle // the permanent layer: GRR (or RR) over d, or OUE
	report             FrequencyOracle // the report's format: m at ε1
	keep               float64         // RR/GRR: instantaneous keep probability pᵢ
	flip               *ByteSampler    // OUE: bytes of Bernoulli(f) flips
	p, q               float64         // composed support
}

// NewLongitudinal returns mechanism m over d items with permanent ε∞ =
// epsPerm and per-report ε1 = epsReport, 0 < ε1 < ε∞.
func NewLongitudinal(m Mechanism, epsPerm, epsReport float64, d int) (*Longitudinal, error) {
	if err := checkEpsilon(epsPerm); err != nil {
		return nil, err
	}
	if err := checkEpsilon(epsReport); err != nil {
		return nil, err
	}
	if !(epsReport < epsPerm) {
		return nil, fmt.Errorf("%w: per-report ε1 = %v must be below the permanent ε∞ = %v", ErrEpsilon, epsReport, epsPerm)
	}
	report, err := NewOracle(m, epsReport, d)
	if err != nil {
		return nil, err
	}
	l := &Longitudinal{m: m, epsPerm: epsPerm, epsReport: epsReport, d: d, report: report}
	switch m {
	case MechanismRR, MechanismGRR:
		if l.perm, err = NewOracle(m, epsPerm, d); err != nil {
			return nil, err
		}
		pInf, qInf := l.perm.Support()
		p1, _ := report.Support()
		l.keep = (p1 - qInf) / (pInf - qInf)
		l.p, l.q = report.Support()
	case MechanismOUE:
		if l.perm, err = NewOUE(epsPerm, d); err != nil {
			return nil, err
		}
		_, qInf := l.perm.Support()
		_, q1 := report.Support()
		l.flip = NewByteSampler((q1 - qInf) / (1 - 2*qInf))
		l.p, l.q = report.Support()
	case MechanismOLH, MechanismHadamard:
		if l.perm, err = NewGRR(epsPerm, d); err != nil {
			return nil, err
		}
		pInf, qInf := l.perm.Support()
		p0, q0 := report.Support()
		l.p, l.q = pInf*p0+(1-pInf)*q0, qInf*p0+(1-qInf)*q0
	default:
		return nil, fmt.Errorf("%w: %v is not a frequency oracle", ErrMechanism, m)
	}
	return l, nil
}

// Params implements FrequencyOracle: the report's mechanism and size;
// Epsilon is ε1, what one report reveals, and PermanentEpsilon ε∞.
func (l *Longitudinal) Params() Params {
	p := l.report.Params()
	p.PermanentEpsilon = l.epsPerm
	return p
}

// Support implements FrequencyOracle: the composed (p*, q*).
func (l *Longitudinal) Support() (p, q float64) { return l.p, l.q }

// PermanentEpsilon is ε∞ and ReportEpsilon ε1.
func (l *Longitudinal) PermanentEpsilon() float64 { return l.epsPerm }

// ReportEpsilon is ε1, the privacy of one report.
func (l *Longitudinal) ReportEpsilon() float64 { return l.epsReport }

// Permanent appends the permanent answer for the true item v: what the
// device memoizes. It never leaves the device as such.
func (l *Longitudinal) Permanent(dst []byte, v int, rng *rand.Rand) ([]byte, error) {
	return l.perm.AppendRandomized(dst, v, rng)
}

// Instant appends a report drawn from the permanent answer perm alone
// (never from the true item): fresh noise for every send.
func (l *Longitudinal) Instant(dst []byte, perm []byte, rng *rand.Rand) ([]byte, error) {
	size := l.perm.Params().AnswerSize
	if len(perm) != size {
		return dst, fmt.Errorf("%w: permanent %v answer of %d bytes, want %d", ErrAnswer, l.m, len(perm), size)
	}
	if l.m == MechanismOUE {
		oue := l.perm.(OUE)
		if perm[size-1]&^oue.lastMask() != 0 {
			return dst, fmt.Errorf("%w: permanent oue bits set beyond d = %d", ErrAnswer, l.d)
		}
		for _, b := range perm {
			dst = append(dst, b^l.flip.Sample(rng))
		}
		dst[len(dst)-1] &= oue.lastMask()
		return dst, nil
	}
	v := int(readUint(perm))
	if v >= l.d {
		return dst, fmt.Errorf("%w: permanent item %d ≥ d = %d", ErrAnswer, v, l.d)
	}
	switch l.m {
	case MechanismRR, MechanismGRR:
		if rng.Float64() >= l.keep {
			y := rng.IntN(l.d - 1)
			if y >= v {
				y++
			}
			v = y
		}
		return appendUint(dst, uint64(v), size), nil
	}
	// OLH, Hadamard: a fresh seed or row, on the permanent item.
	return l.report.AppendRandomized(dst, v, rng)
}

// AppendRandomized implements FrequencyOracle: both layers at once, the
// distribution of one report of a device that has not answered before
// (what simulations and one-shot reporters use).
func (l *Longitudinal) AppendRandomized(dst []byte, v int, rng *rand.Rand) ([]byte, error) {
	var buf [8]byte
	perm, err := l.Permanent(buf[:0], v, rng)
	if err != nil {
		return dst, err
	}
	return l.Instant(dst, perm, rng)
}

// NewAccumulator implements FrequencyOracle: reports decode like the
// report oracle's.
func (l *Longitudinal) NewAccumulator() Accumulator { return l.report.NewAccumulator() }
