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
	// VarianceCoefficients returns (a, b) with Variance(x) = a·x² + b,
	// what RoundedVariance and WorstVariance need.
	VarianceCoefficients() (a, b float64)
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
// variance at epsilon, each on its α-rounding grid (MeanGrid; Duchi's
// costs nothing): Duchi et al. below ε ≈ 1.5, piecewise above.
func ChooseMean(epsilon float64) (MeanMechanism, string, error) {
	d, err := NewDuchi(epsilon)
	if err != nil {
		return nil, "", err
	}
	pm, _ := NewPiecewise(epsilon)
	vd, vp := WorstVariance(d, MeanGrid(MechanismDuchi)), WorstVariance(pm, MeanGrid(MechanismPiecewise))
	if vd <= vp {
		return d, fmt.Sprintf("duchi has the smaller worst-case variance at ε=%g: %.4g vs piecewise %.4g", epsilon, vd, vp), nil
	}
	return pm, fmt.Sprintf("piecewise has the smaller worst-case variance at ε=%g: %.4g vs duchi %.4g", epsilon, vp, vd), nil
}

// Grid is α-point rounding (Ding, Kulkarni, Yekhanin, "Collecting
// Telemetry Data Privately", NeurIPS 2017, §3.1) onto the Steps+1 evenly
// spaced points of [−1, 1] (Steps = 0: no rounding). A device draws its
// offset α ∈ [0, 1) uniformly once and keeps it; a value x, at position
// u = (x+1)/2·Steps = k + r between points k and k+1, is rounded up iff
// r > α. Over α that is up with probability r, so the rounded value is
// unbiased for x; for a fixed α the point changes only when x crosses
// k + α, so a value drifting monotonically over the whole range changes
// point at most Steps times, and a memo keyed by the point re-randomizes
// at most Steps+1 times — not once per small step, as rounding to a fixed
// 1/100 does.
type Grid struct{ Steps int }

// MeanGrid is the grid mechanism m's answers are rounded to on devices:
// {−1, 1} for Duchi, whose variance B²−x² rounding to ±1 does not change
// (Duchi's mechanism is itself a rounding to ±1 followed by randomized
// response), and 5 points for piecewise, whose worst-case variance it
// raises by at most (1+a)/16 (RoundedVariance).
func MeanGrid(m Mechanism) Grid {
	if m == MechanismDuchi {
		return Grid{Steps: 1}
	}
	return Grid{Steps: 4}
}

// Round returns the point x ∈ [−1, 1] rounds to with offset α ∈ [0, 1):
// its index in 0…Steps and its value.
func (g Grid) Round(x, alpha float64) (int, float64, error) {
	if err := checkUnit(x); err != nil {
		return 0, 0, err
	}
	if g.Steps < 1 || !(alpha >= 0 && alpha < 1) {
		return 0, 0, fmt.Errorf("%w: grid of %d steps, offset %v", ErrRange, g.Steps, alpha)
	}
	u := (x + 1) / 2 * float64(g.Steps)
	k := math.Floor(u)
	if k >= float64(g.Steps) {
		return g.Steps, 1, nil
	}
	i := int(k)
	if u-k > alpha {
		i++
	}
	return i, g.Point(i), nil
}

// Point is the value of point i.
func (g Grid) Point(i int) float64 { return 2*float64(i)/float64(g.Steps) - 1 }

// spacing is the distance between points (0 without rounding).
func (g Grid) spacing() float64 {
	if g.Steps < 1 {
		return 0
	}
	return 2 / float64(g.Steps)
}

// RoundedVariance is the exact variance of m's output for the true value x
// when x is α-rounded onto g first, over the offset and the mechanism:
// with Var_m(z) = a·z² + b, h the spacing and r the position of x between
// its two points, a·x² + b + (1+a)·h²·r(1−r). For Duchi (a = −1) that is
// B² − x², whatever the grid.
func RoundedVariance(m MeanMechanism, g Grid, x float64) float64 {
	a, b := m.VarianceCoefficients()
	h, r := g.spacing(), 0.0
	if h > 0 {
		u := (x + 1) / h
		r = u - math.Floor(u)
	}
	return a*x*x + b + (1+a)*h*h*r*(1-r)
}

// WorstVariance bounds RoundedVariance over every x ∈ [−1, 1]:
// max(a, 0) + b + max(1+a, 0)·h²/4 — exact for Duchi (B², at x = 0),
// conservative for piecewise. Intervals use it, not the outputs' sample
// variance, which at small n and high ε badly underestimates the spread
// (outputs of devices near one value look alike).
func WorstVariance(m MeanMechanism, g Grid) float64 {
	a, b := m.VarianceCoefficients()
	h := g.spacing()
	return math.Max(a, 0) + b + math.Max(1+a, 0)*h*h/4
}

// MeanAccumulator sums decoded outputs. Its Estimate's variance is the
// mechanism's closed-form worst case over the true value, divided by n
// (WorstVariance/n): conservative for any reporters, whatever their values,
// and with an interval that covers at small n and high ε, where the
// outputs' sample variance (SampleVariance) does not.
type MeanAccumulator struct {
	m          MeanMechanism
	worst      float64
	n          int
	sum, sumSq float64
}

// NewMeanAccumulator returns an empty accumulator for m's answers to
// unrounded values.
func NewMeanAccumulator(m MeanMechanism) *MeanAccumulator {
	return NewRoundedMeanAccumulator(m, Grid{})
}

// NewRoundedMeanAccumulator returns an empty accumulator for m's answers to
// values α-rounded onto g (MeanGrid).
func NewRoundedMeanAccumulator(m MeanMechanism, g Grid) *MeanAccumulator {
	return &MeanAccumulator{m: m, worst: WorstVariance(m, g)}
}

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

// Estimate is the mean of the outputs, in [-1, 1] units, with the
// worst-case variance of that mean and its normal 95% interval (for
// Duchi's ±B outputs, with a continuity correction of B/n).
func (a *MeanAccumulator) Estimate() Estimate {
	if a.n < 1 {
		return newEstimate(0, math.Inf(1))
	}
	n := float64(a.n)
	e := newEstimate(a.sum/n, a.worst/n)
	if d, ok := a.m.(Duchi); ok {
		// Duchi's outputs are ±B: the mean moves in steps of 2B/n, and a
		// continuity correction of half a step keeps the interval's
		// coverage at 95% at small n (the plain one is 93.5% at n = 50).
		e.Low -= d.bound() / n
		e.High += d.bound() / n
	}
	return e
}

// SampleVariance is the sample variance of the outputs over n: unbiased
// for the variance of the mean of a random sample from a larger
// population, but unreliable at small n (a diagnostic, not the interval).
func (a *MeanAccumulator) SampleVariance() float64 {
	if a.n < 2 {
		return math.Inf(1)
	}
	n := float64(a.n)
	mean := a.sum / n
	return (a.sumSq - n*mean*mean) / (n - 1) / n
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

// Denormalize maps an estimate in [-1, 1] units back to [Lo, Hi] units,
// its interval endpoints included (the map is affine and increasing).
func (b Bounds) Denormalize(e Estimate) Estimate {
	half := (b.Hi - b.Lo) / 2
	to := func(v float64) float64 { return b.Lo + (v+1)*half }
	return Estimate{Value: to(e.Value), Variance: e.Variance * half * half, Low: to(e.Low), High: to(e.High)}
}

func checkUnit(x float64) error {
	if !(x >= -1 && x <= 1) {
		return fmt.Errorf("%w: %v not in [-1, 1]", ErrRange, x)
	}
	return nil
}
