package ldp

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Consistency post-processing. The unbiased estimates can be negative and
// need not sum to the known number of reporters; a released histogram
// should not. These functions return new values and never touch the
// Estimates, so the aggregator reports both: the unbiased estimate with its
// confidence interval, and the consistent value (which is biased, usually
// with lower error; Wang et al., "Locally Differentially Private Frequency
// Estimation with Consistency", NDSS 2020).

// Values extracts the point estimates.
func Values(es []Estimate) []float64 {
	out := make([]float64, len(es))
	for i, e := range es {
		out[i] = e.Value
	}
	return out
}

// ClipNonNegative replaces negative values with 0.
func ClipNonNegative(values []float64) []float64 {
	out := make([]float64, len(values))
	for i, v := range values {
		out[i] = math.Max(v, 0)
	}
	return out
}

// NormSub returns max(v − δ, 0) for the δ that makes the result sum to
// total: the Euclidean projection of values onto {x ≥ 0, Σx = total}
// ("Norm-Sub" in Wang et al. 2020). total must be ≥ 0; use the number of
// reporters for a single-choice question, n·(mean set size) for sets.
func NormSub(values []float64, total float64) []float64 {
	out := make([]float64, len(values))
	if len(values) == 0 || !(total > 0) {
		return out
	}
	s := append([]float64(nil), values...)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	// Find the largest k with s[k-1] − δ_k > 0, δ_k = (Σ_{i<k} s[i] − total)/k.
	var sum, delta float64
	for k := 1; k <= len(s); k++ {
		sum += s[k-1]
		d := (sum - total) / float64(k)
		if s[k-1]-d <= 0 {
			break
		}
		delta = d
	}
	for i, v := range values {
		out[i] = math.Max(v-delta, 0)
	}
	return out
}

// ErrBelowK is returned for a segment whose reporting population is below
// the campaign's k threshold: it must not be released.
var ErrBelowK = errors.New("ldp: reporting population below k; not released")

// CheckK enforces the k threshold: nil if reporters ≥ k, else ErrBelowK.
// It looks at the number of reports, which the aggregator knows exactly,
// not at an estimated count, so noise cannot push a segment over.
func CheckK(reporters, k int) error {
	if reporters < k {
		return fmt.Errorf("%w (%d < %d)", ErrBelowK, reporters, k)
	}
	return nil
}
