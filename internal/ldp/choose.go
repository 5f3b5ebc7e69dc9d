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
	Mechanism  Mechanism   `json:"mechanism"`
	Epsilon    float64     `json:"epsilon"`
	D          int         `json:"d"`
	Reason     string      `json:"reason"`
	Candidates []Candidate `json:"candidates"` // least variance first
}

// Choose returns the frequency oracle with the least estimator variance for
// privacy parameter epsilon over d items (ties go to the shorter answer).
// For d = 2 it is RR; otherwise GRR wins when d−2 < 3e^ε (small domains or
// large ε), OUE otherwise, with OLH within a few percent of OUE at a much
// shorter answer and Hadamard response never ahead on variance.
func Choose(epsilon float64, d int) (Choice, error) {
	var ms []Mechanism
	if d == 2 {
		ms = []Mechanism{MechanismRR}
	} else {
		ms = []Mechanism{MechanismGRR, MechanismOUE, MechanismOLH, MechanismHadamard}
	}
	cands := make([]Candidate, 0, len(ms))
	for _, m := range ms {
		fo, err := NewOracle(m, epsilon, d)
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
	reason := fmt.Sprintf("%v has the least estimator variance at ε=%g, d=%d: %.4g·n (%d B answers)",
		best.Mechanism, epsilon, d, best.VarPerReport, best.AnswerSize)
	if len(others) > 0 {
		reason += "; others: " + strings.Join(others, ", ")
	}
	return Choice{Mechanism: best.Mechanism, Epsilon: epsilon, D: d, Reason: reason, Candidates: cands}, nil
}
