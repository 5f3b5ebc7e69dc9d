package store

import (
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/ldp"
	"github.com/wisp-project/wisp/internal/wire"
)

// Aliases of the shared types (internal/) that Store's methods take, so a
// module outside Wisp can name them.
type (
	// KeyPair is an HPKE key pair.
	KeyPair = wire.KeyPair
	// ReportID is a report's unique id, the replay key.
	ReportID = wire.ReportID
	// Mechanism is the LDP mechanism a report's answer uses; the reports
	// table stores it as its number.
	Mechanism = ldp.Mechanism
	// Role is an API token's role; the tokens table stores its name.
	Role = api.Role
	// KeyState is where an HPKE key is in its rotation.
	KeyState = api.KeyState
)
