package ldp

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Piecewise is the piecewise mechanism of Wang et al. ("Collecting and
// Analyzing Multidimensional Data with Local Differential Privacy", ICDE
// 2019). With t = e^{ε/2} and C = (t+1)/(t−1), the output lies in [−C, C]:
// with probability t/(t+1) uniform on [l(x), l(x)+C−1] where
// l(x) = (C+1)x/2 − (C−1)/2, otherwise uniform on the rest. The two
// densities are in ratio t² = e^ε whatever x: ε-LDP. E[output] = x and
//
//	Var = x²/(t−1) + (t+3)/(3(t−1)²)
//
// worst at |x| = 1, better than Duchi's for ε ≳ 1.29.
//
// Answer: 4 bytes, the output as a 32-bit fixed-point fraction of [−C, C]
// with randomized rounding, so quantization keeps the estimate unbiased
// (and, as post-processing with independent coins, keeps ε).
type Piecewise struct{ epsilon float64 }

// NewPiecewise returns the piecewise mechanism.
func NewPiecewise(epsilon float64) (Piecewise, error) {
	if err := checkEpsilon(epsilon); err != nil {
		return Piecewise{}, err
	}
	return Piecewise{epsilon: epsilon}, nil
}

func (m Piecewise) t() float64 { return math.Exp(m.epsilon / 2) }
func (m Piecewise) c() float64 { t := m.t(); return (t + 1) / (t - 1) }

// Params implements MeanMechanism.
func (m Piecewise) Params() Params {
	return Params{Mechanism: MechanismPiecewise, Epsilon: m.epsilon, AnswerSize: 4}
}

const pmScale = 1<<32 - 1

// AppendRandomized implements MeanMechanism.
func (m Piecewise) AppendRandomized(dst []byte, x float64, rng *rand.Rand) ([]byte, error) {
	if err := checkUnit(x); err != nil {
		return dst, err
	}
	t, c := m.t(), m.c()
	l := (c+1)*x/2 - (c-1)/2
	r := l + c - 1
	var y float64
	if rng.Float64() < t/(t+1) {
		y = l + rng.Float64()*(r-l)
	} else {
		// Uniform on [−C, l) ∪ (r, C]: total length C+1.
		u := rng.Float64() * (c + 1)
		if left := l + c; u < left {
			y = -c + u
		} else {
			y = r + (u - left)
		}
	}
	f := (y + c) / (2 * c) * pmScale
	k := math.Floor(f)
	if rng.Float64() < f-k {
		k++
	}
	return appendUint(dst, uint64(math.Min(k, pmScale)), 4), nil
}

// Decode implements MeanMechanism.
func (m Piecewise) Decode(answer []byte) (float64, error) {
	if len(answer) != 4 {
		return 0, fmt.Errorf("%w: piecewise answer of %d bytes", ErrAnswer, len(answer))
	}
	c := m.c()
	return float64(readUint(answer))/pmScale*2*c - c, nil
}

// Variance implements MeanMechanism. The randomized rounding adds at most
// (2C/2³²)²/4, which is below float64 resolution here and left out.
func (m Piecewise) Variance(x float64) float64 {
	t := m.t()
	return x*x/(t-1) + (t+3)/(3*(t-1)*(t-1))
}
