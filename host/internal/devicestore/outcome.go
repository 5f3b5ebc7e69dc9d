package devicestore

import (
	"fmt"
	"strings"

	"github.com/wisp-project/wisp/internal/api"
)

// Outcome is what became of a report in the egress log.
type Outcome string

// Outcomes. A rejected report carries the aggregator's api.Reason, a
// dropped one its DropCause.
const (
	// OutcomeAccepted: the aggregator stored the report.
	OutcomeAccepted Outcome = "accepted"
	// OutcomeDuplicate: the aggregator already had it (a resend of a
	// report whose upload a crash left in doubt): delivered.
	OutcomeDuplicate Outcome = "duplicate"
	// OutcomeDummy: a dummy report the aggregator opened and discarded, as
	// it should.
	OutcomeDummy Outcome = "dummy"
	// OutcomeRejected: the aggregator refused the report, for a reason.
	OutcomeRejected Outcome = "rejected"
	// OutcomeDropped: the report never left the device, for a cause.
	OutcomeDropped Outcome = "dropped"
)

// IsValid reports whether o is an outcome this version logs.
func (o Outcome) IsValid() bool {
	switch o {
	case OutcomeAccepted, OutcomeDuplicate, OutcomeDummy, OutcomeRejected, OutcomeDropped:
		return true
	}
	return false
}

func (o Outcome) String() string { return string(o) }

// DropCause is why a queued report was dropped without leaving.
type DropCause string

// Drop causes.
const (
	// DropConsentRevoked: the owner revoked the campaign's consent, or the
	// consent of a plugin whose scores the answer used.
	DropConsentRevoked DropCause = "consent-revoked"
	// DropPluginErased: the owner erased a plugin whose scores the answer
	// used.
	DropPluginErased DropCause = "plugin-erased"
	// DropExpired: the report outlived its validity (its epoch closed).
	DropExpired DropCause = "expired"
	// DropForgotten: the owner erased the device's data.
	DropForgotten DropCause = "forgotten"
	// DropCorrupt: the stored envelope no longer decodes.
	DropCorrupt DropCause = "corrupt"
)

// IsValid reports whether c is a cause this version logs.
func (c DropCause) IsValid() bool {
	switch c {
	case DropConsentRevoked, DropPluginErased, DropExpired, DropForgotten, DropCorrupt:
		return true
	}
	return false
}

func (c DropCause) String() string { return string(c) }

// FormatOutcome is an outcome as the egress log stores it and the owner
// has always been shown it: "accepted", "duplicate", "dummy",
// "rejected:<reason>", "dropped:<cause>". reason counts only for
// OutcomeRejected, cause only for OutcomeDropped.
func FormatOutcome(o Outcome, reason api.Reason, cause DropCause) string {
	switch o {
	case OutcomeRejected:
		return string(o) + ":" + string(reason)
	case OutcomeDropped:
		return string(o) + ":" + string(cause)
	}
	return string(o)
}

// ParseOutcome is the inverse of FormatOutcome. A reason or cause this
// version does not know (a newer aggregator's, say) is kept as it is; an
// unknown outcome is an error.
func ParseOutcome(s string) (Outcome, api.Reason, DropCause, error) {
	kind, rest, colon := strings.Cut(s, ":")
	o := Outcome(kind)
	switch {
	case o == OutcomeRejected && colon:
		return o, api.Reason(rest), "", nil
	case o == OutcomeDropped && colon:
		return o, "", DropCause(rest), nil
	case o.IsValid() && o != OutcomeRejected && o != OutcomeDropped && !colon:
		return o, "", "", nil
	}
	return "", "", "", fmt.Errorf("devicestore: unknown report outcome %q", s)
}
