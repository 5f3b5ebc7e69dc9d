package ldp

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Candidate is one mechanism Choose considered, with its estimator variance
// per report for an item few reporters hold (the c = 0 term of
// CountVariance divided by n, which dominates for all but the largest
// items) and its answer size.
type Candidate struct {
	Mechanism    Mechanism `json:"mechanism"`
	VarPerReport float64   `json:"variance_per_report"`
	AnswerSize   int       `json:"answer_bytes"`
}

// Choice is Choose's decision, meant to be copied into a campaign config and
// the aggregator's output so both state which mechanism was used and why.
type Choice struct {
	Mechanism Mechanism `json:"mechanism"`
	Epsilon   float64   `json:"epsilon"` // per report
	// PermanentEpsilon is ε∞ for ChooseLongitudinal, zero for Choose.
	PermanentEpsilon float64     `json:"permanent_epsilon,omitempty"`
	D                int         `json:"d"`
	Reason           string      `json:"reason"`
	Candidates       []Candidate `json:"candidates"` // least variance first
}

// Choose returns the frequency oracle with the least estimator variance for
// privacy parameter epsilon over d items (ties go to the shorter answer).
// For d = 2 it is RR; otherwise GRR wins when d−2 < 3e^ε (small domains or
// large ε), OUE otherwise, with OLH within a few percent of OUE at a much
// shorter answer and Hadamard response never ahead on variance.
func Choose(epsilon float64, d int) (Choice, error) {
	return choose(fmt.Sprintf("ε=%g", epsilon), epsilon, 0, d, func(m Mechanism) (FrequencyOracle, error) { return NewOracle(m, epsilon, d) })
}

// ChooseLongitudinal is Choose for two-layer answers (Longitudinal) with
// permanent ε∞ = epsPerm and per-report ε1 = epsReport: the variances
// compared are the composed estimators'. RR, GRR and OUE compose into
// themselves at ε1; OLH and Hadamard pay for a permanent GRR over the d
// items (their seed or row is re-drawn per report), which is rarely
// competitive.
func ChooseLongitudinal(epsPerm, epsReport float64, d int) (Choice, error) {
	return choose(fmt.Sprintf("ε∞=%g, ε1=%g", epsPerm, epsReport), epsReport, epsPerm, d,
		func(m Mechanism) (FrequencyOracle, error) { return NewLongitudinal(m, epsPerm, epsReport, d) })
}

func choose(at string, epsilon, epsPerm float64, d int, build func(Mechanism) (FrequencyOracle, error)) (Choice, error) {
	var ms []Mechanism
	if d == 2 {
		ms = []Mechanism{MechanismRR}
	} else {
		ms = []Mechanism{MechanismGRR, MechanismOUE, MechanismOLH, MechanismHadamard}
	}
	cands := make([]Candidate, 0, len(ms))
	for _, m := range ms {
		fo, err := build(m)
		if errors.Is(err, ErrDomain) && d != 2 {
			continue // e.g. OLH's seed family too large for this (ε, d)
		}
		if err != nil {
			return Choice{}, err
		}
		cands = append(cands, Candidate{Mechanism: m, VarPerReport: CountVariance(fo, 1, 0), AnswerSize: fo.Params().AnswerSize})
	}
	if len(cands) == 0 {
		return Choice{}, fmt.Errorf("%w: no mechanism supports d = %d", ErrDomain, d)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.VarPerReport != b.VarPerReport {
			return a.VarPerReport < b.VarPerReport
		}
		return a.AnswerSize < b.AnswerSize
	})
	best := cands[0]
	var others []string
	for _, c := range cands[1:] {
		others = append(others, fmt.Sprintf("%v %.4g (%d B)", c.Mechanism, c.VarPerReport, c.AnswerSize))
	}
	reason := fmt.Sprintf("%v has the least estimator variance at %s, d=%d: %.4g·n (%d B answers)",
		best.Mechanism, at, d, best.VarPerReport, best.AnswerSize)
	if len(others) > 0 {
		reason += "; others: " + strings.Join(others, ", ")
	}
	return Choice{Mechanism: best.Mechanism, Epsilon: epsilon, PermanentEpsilon: epsPerm, D: d, Reason: reason, Candidates: cands}, nil
}
