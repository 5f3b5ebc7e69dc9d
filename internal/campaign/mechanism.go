package campaign

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/wire"
)

// choose picks c's mechanism and says why. Left to itself it takes the
// least-variance mechanism for the question: binary RR for a threshold
// (d = 2), ldp.Choose(ε, d+K) for a top_k question (padding-and-sampling
// reports one of d categories or K dummies), ldp.ChooseMean(ε) for a mean.
// A campaign may name another mechanism that answers its question — the
// documented reason is bandwidth, e.g. OLH's 3-byte answers against OUE's
// 63 at a variance within a few percent — and the reason then records the
// override and what it costs. A mechanism that cannot answer the question
// is refused.
func choose(c *Campaign) (ldp.Mechanism, string, error) {
	var named ldp.Mechanism
	if c.MechanismName != "" {
		m, err := ldp.ParseMechanism(c.MechanismName)
		if err != nil {
			return 0, "", err
		}
		named = m
	}
	switch c.Question.Type {
	case QuestionThreshold:
		return chooseFrequency(c, 2, named)
	case QuestionTopK:
		return chooseFrequency(c, len(c.Question.Categories)+c.Question.K, named)
	case QuestionMean:
		best, reason, err := ldp.ChooseMean(c.Epsilon)
		if err != nil {
			return 0, "", err
		}
		bm := best.Params().Mechanism
		if named == 0 || named == bm {
			return bm, reason, nil
		}
		mm, err := ldp.NewMeanMechanism(named, c.Epsilon)
		if err != nil {
			return 0, "", fmt.Errorf("mechanism %q cannot answer a mean question: %w", c.MechanismName, err)
		}
		return named, fmt.Sprintf("%v named by the campaign: worst-case variance %.4g vs %.4g for %v, the least-variance choice at ε=%g",
			named, worstMeanVariance(mm), worstMeanVariance(best), bm, c.Epsilon), nil
	}
	return 0, "", fmt.Errorf("question type %q has no mechanism", c.Question.Type)
}

// chooseFrequency compares the composed two-layer variances
// (ldp.ChooseLongitudinal at ε∞ = Epsilon, ε1 = ReportEpsilon), or for a
// config signed before two layers the one-layer ones at Epsilon.
func chooseFrequency(c *Campaign, d int, named ldp.Mechanism) (ldp.Mechanism, string, error) {
	epsilon := c.Epsilon
	var ch ldp.Choice
	var err error
	if c.twoLayer() {
		ch, err = ldp.ChooseLongitudinal(c.Epsilon, c.ReportEpsilon, d)
	} else {
		ch, err = ldp.Choose(epsilon, d)
	}
	if err != nil {
		return 0, "", err
	}
	if named == 0 || named == ch.Mechanism {
		return ch.Mechanism, ch.Reason, nil
	}
	for _, cand := range ch.Candidates {
		if cand.Mechanism == named {
			best := ch.Candidates[0]
			return named, fmt.Sprintf("%v named by the campaign: %.4g·n (%d B answers) vs %.4g·n (%d B) for %v, the least-variance choice at ε=%g, d=%d",
				named, cand.VarPerReport, cand.AnswerSize, best.VarPerReport, best.AnswerSize, best.Mechanism, epsilon, d), nil
		}
	}
	return 0, "", fmt.Errorf("mechanism %v cannot answer this question (ε=%g, d=%d); candidates: %s", named, epsilon, d, ch.Reason)
}

func worstMeanVariance(m ldp.MeanMechanism) float64 { return max(m.Variance(0), m.Variance(1)) }

// payloadSize is the encoded size of a report payload carrying one answer
// of mechanism m for c: what the padded report size must hold.
func payloadSize(c *Campaign, m ldp.Mechanism) (int, error) {
	n := 1
	switch c.Question.Type {
	case QuestionTopK:
		fo, err := frequencyOracle(c, m, len(c.Question.Categories)+c.Question.K)
		if err != nil {
			return 0, err
		}
		n = fo.Params().AnswerSize
	case QuestionMean:
		mm, err := ldp.NewMeanMechanism(m, c.Epsilon)
		if err != nil {
			return 0, err
		}
		n = mm.Params().AnswerSize
	}
	b, err := cbor.Marshal(wire.Payload{Mechanism: m, Answer: make([]byte, n)})
	return len(b), err
}

// frequencyOracle is c's oracle over d items with mechanism m: two-layer
// (ldp.Longitudinal) unless c was signed before two layers.
func frequencyOracle(c *Campaign, m ldp.Mechanism, d int) (ldp.FrequencyOracle, error) {
	if c.twoLayer() {
		return ldp.NewLongitudinal(m, c.Epsilon, c.ReportEpsilon, d)
	}
	return ldp.NewOracle(m, c.Epsilon, d)
}
