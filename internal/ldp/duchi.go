package ldp

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Duchi is Duchi, Jordan, Wainwright's one-dimensional mean mechanism
// ("Local privacy and statistical minimax rates", FOCS 2013): output
// +B or −B with B = (e^ε+1)/(e^ε−1), choosing +B with probability
// ((e^ε−1)x + e^ε + 1) / (2(e^ε+1)). The two probabilities range over
// [1/(e^ε+1), e^ε/(e^ε+1)], so the ratio is at most e^ε: ε-LDP.
// E[output] = x and Var = B² − x² (worst at x = 0). Answer: one byte.
type Duchi struct{ epsilon float64 }

// NewDuchi returns Duchi et al.'s mechanism.
func NewDuchi(epsilon float64) (Duchi, error) {
	if err := checkEpsilon(epsilon); err != nil {
		return Duchi{}, err
	}
	return Duchi{epsilon: epsilon}, nil
}

func (m Duchi) bound() float64 { e := math.Exp(m.epsilon); return (e + 1) / (e - 1) }

// Params implements MeanMechanism.
func (m Duchi) Params() Params {
	return Params{Mechanism: MechanismDuchi, Epsilon: m.epsilon, AnswerSize: 1}
}

// AppendRandomized implements MeanMechanism.
func (m Duchi) AppendRandomized(dst []byte, x float64, rng *rand.Rand) ([]byte, error) {
	if err := checkUnit(x); err != nil {
		return dst, err
	}
	e := math.Exp(m.epsilon)
	if rng.Float64() < ((e-1)*x+e+1)/(2*(e+1)) {
		return append(dst, 1), nil
	}
	return append(dst, 0), nil
}

// Decode implements MeanMechanism.
func (m Duchi) Decode(answer []byte) (float64, error) {
	if len(answer) != 1 || answer[0] > 1 {
		return 0, fmt.Errorf("%w: duchi answer %x", ErrAnswer, answer)
	}
	if answer[0] == 1 {
		return m.bound(), nil
	}
	return -m.bound(), nil
}

// Variance implements MeanMechanism.
func (m Duchi) Variance(x float64) float64 { b := m.bound(); return b*b - x*x }

// VarianceCoefficients implements MeanMechanism: Variance = −x² + B².
func (m Duchi) VarianceCoefficients() (a, b float64) { b = m.bound(); return -1, b * b }
