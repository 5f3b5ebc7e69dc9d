package ldp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// ErrRange reports a numeric input outside [-1, 1] or bounds with lo ≥ hi.
var ErrRange = errors.New("ldp: numeric value out of range")

// MeanMechanism is an ε-LDP randomizer for a value x ∈ [-1, 1] whose
// decoded output is an unbiased estimate of x; the mean of n outputs is
// then unbiased for the population mean. Map a bounded quantity to [-1, 1]
// with Bounds.
type MeanMechanism interface {
	Params() Params
	// AppendRandomized appends the encoded answer for x ∈ [-1, 1].
	AppendRandomized(dst []byte, x float64, rng *rand.Rand) ([]byte, error)
	// Decode returns the unbiased estimate of x carried by an answer.
	Decode(answer []byte) (float64, error)
	// Variance is Var[Decode(answer) | x].
	Variance(x float64) float64
}

// NewMeanMechanism builds the numeric mechanism for a wire id.
func NewMeanMechanism(m Mechanism, epsilon float64) (MeanMechanism, error) {
	switch m {
	case MechanismDuchi:
		return NewDuchi(epsilon)
	case MechanismPiecewise:
		return NewPiecewise(epsilon)
	}
	return nil, fmt.Errorf("%w: %v is not a mean mechanism", ErrMechanism, m)
}

// ChooseMean returns the mean mechanism with the smaller worst-case
// variance at epsilon: Duchi et al. below ε ≈ 1.29, piecewise above.
func ChooseMean(epsilon float64) (MeanMechanism, string, error) {
	d, err := NewDuchi(epsilon)
	if err != nil {
		return nil, "", err
	}
	pm, _ := NewPiecewise(epsilon)
	vd, vp := d.Variance(0), pm.Variance(1) // each one's worst case
	if vd <= vp {
		return d, fmt.Sprintf("duchi has the smaller worst-case variance at ε=%g: %.4g vs piecewise %.4g", epsilon, vd, vp), nil
	}
	return pm, fmt.Sprintf("piecewise has the smaller worst-case variance at ε=%g: %.4g vs duchi %.4g", epsilon, vp, vd), nil
}

// MeanAccumulator sums decoded outputs. Its Estimate's variance is the
// sample variance of the outputs over n: unbiased for the variance of the
// mean when reporters are a random sample of a larger population, and
// conservative (it adds the spread of the true values, Σ(x_i−x̄)²/(n(n−1)))
// for the exact Σ Var(y_i|x_i)/n² over these reporters, which needs the
// unknown x_i.
type MeanAccumulator struct {
	m          MeanMechanism
	n          int
	sum, sumSq float64
}

// NewMeanAccumulator returns an empty accumulator for m's answers.
func NewMeanAccumulator(m MeanMechanism) *MeanAccumulator { return &MeanAccumulator{m: m} }

// Add decodes and accumulates one answer.
func (a *MeanAccumulator) Add(answer []byte) error {
	y, err := a.m.Decode(answer)
	if err != nil {
		return err
	}
	a.n++
	a.sum += y
	a.sumSq += y * y
	return nil
}

// N is the number of answers added.
func (a *MeanAccumulator) N() int { return a.n }

// Estimate is the mean of the outputs, in [-1, 1] units.
func (a *MeanAccumulator) Estimate() Estimate {
	if a.n < 2 {
		return newEstimate(a.sum/math.Max(float64(a.n), 1), math.Inf(1))
	}
	n := float64(a.n)
	mean := a.sum / n
	return newEstimate(mean, (a.sumSq-n*mean*mean)/(n-1)/n)
}

// Bounds maps a quantity known to lie in [Lo, Hi] (e.g. weekly workout
// minutes clipped to [0, 600]) to [-1, 1] and estimates back. Values outside
// are clipped, which biases the mean toward the bounds: choose them wide.
type Bounds struct{ Lo, Hi float64 }

// Normalize maps v to [-1, 1], clipping.
func (b Bounds) Normalize(v float64) (float64, error) {
	if !(b.Lo < b.Hi) || math.IsNaN(v) {
		return 0, fmt.Errorf("%w: %v in [%v, %v]", ErrRange, v, b.Lo, b.Hi)
	}
	v = math.Min(math.Max(v, b.Lo), b.Hi)
	return 2*(v-b.Lo)/(b.Hi-b.Lo) - 1, nil
}

// Denormalize maps an estimate in [-1, 1] units back to [Lo, Hi] units.
func (b Bounds) Denormalize(e Estimate) Estimate {
	half := (b.Hi - b.Lo) / 2
	return newEstimate(b.Lo+(e.Value+1)*half, e.Variance*half*half)
}

func checkUnit(x float64) error {
	if !(x >= -1 && x <= 1) {
		return fmt.Errorf("%w: %v not in [-1, 1]", ErrRange, x)
	}
	return nil
}
