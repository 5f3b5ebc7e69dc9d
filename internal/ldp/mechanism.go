package ldp

import "fmt"

// Mechanism identifies an LDP mechanism on the wire and in campaign configs.
type Mechanism uint8

// Mechanisms known to this version.
const (
	// MechanismRR is Warner's binary randomized response on a one-bit answer.
	MechanismRR Mechanism = 1
)

// IsValid reports whether m is a mechanism this version implements.
func (m Mechanism) IsValid() bool { return m == MechanismRR }

func (m Mechanism) String() string {
	switch m {
	case MechanismRR:
		return "rr"
	}
	return fmt.Sprintf("mechanism(%d)", uint8(m))
}
