package ldp

import "math"

// Z95 is the standard normal quantile for a two-sided 95% interval.
const Z95 = 1.959963984540054

// Estimate is an unbiased estimate with the variance of its estimator and a
// normal-approximation 95% confidence interval. Low and High are not clipped:
// consistency post-processing (non-negativity, known totals) is a separate
// step, so callers can see both.
type Estimate struct {
	Value    float64 `json:"value"`
	Variance float64 `json:"variance"`
	Low      float64 `json:"ci_low"`
	High     float64 `json:"ci_high"`
}

func newEstimate(value, variance float64) Estimate {
	half := Z95 * math.Sqrt(variance)
	return Estimate{Value: value, Variance: variance, Low: value - half, High: value + half}
}

// StdErr is the estimator's standard error.
func (e Estimate) StdErr() float64 { return math.Sqrt(e.Variance) }
