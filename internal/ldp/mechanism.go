package ldp

import "fmt"

// Mechanism identifies an LDP mechanism on the wire (a report payload's
// Mechanism byte) and in campaign configs. Values are stable: never reuse
// or renumber one.
type Mechanism uint8

// Mechanisms known to this version.
const (
	// MechanismRR is Warner's binary randomized response on a one-bit answer.
	MechanismRR Mechanism = 1
	// MechanismGRR is generalized (k-ary) randomized response over d items.
	MechanismGRR Mechanism = 2
	// MechanismOUE is optimized unary encoding: a d-bit vector.
	MechanismOUE Mechanism = 3
	// MechanismOLH is optimized local hashing with an exactly universal
	// linear hash family.
	MechanismOLH Mechanism = 4
	// MechanismHadamard is Hadamard randomized response: one randomized
	// bit of one row of the Hadamard matrix.
	MechanismHadamard Mechanism = 5
	// MechanismDuchi is Duchi et al.'s one-bit mean mechanism for a value
	// in [-1, 1].
	MechanismDuchi Mechanism = 6
	// MechanismPiecewise is Wang et al.'s piecewise mechanism for a value
	// in [-1, 1].
	MechanismPiecewise Mechanism = 7
)

// IsValid reports whether m is a mechanism this version implements.
func (m Mechanism) IsValid() bool { return m >= MechanismRR && m <= MechanismPiecewise }

// IsFrequency reports whether m estimates item frequencies (as opposed to
// a numeric mean).
func (m Mechanism) IsFrequency() bool { return m >= MechanismRR && m <= MechanismHadamard }

func (m Mechanism) String() string {
	switch m {
	case MechanismRR:
		return "rr"
	case MechanismGRR:
		return "grr"
	case MechanismOUE:
		return "oue"
	case MechanismOLH:
		return "olh"
	case MechanismHadamard:
		return "hadamard"
	case MechanismDuchi:
		return "duchi"
	case MechanismPiecewise:
		return "piecewise"
	}
	return fmt.Sprintf("mechanism(%d)", uint8(m))
}

// ParseMechanism is the inverse of Mechanism.String for valid mechanisms.
func ParseMechanism(s string) (Mechanism, error) {
	for m := MechanismRR; m.IsValid(); m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrMechanism, s)
}
