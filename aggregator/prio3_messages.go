package aggregator

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/wisp-project/wisp/internal/wire"
)

// The leader ↔ helper messages of the prio3 mode: CBOR with integer keys,
// deterministic on the way out and decoded strictly (no unknown or
// duplicate keys, no tags, bounded sizes). They travel only between the two
// aggregators, authenticated with the peer token; devices never see them,
// so they live here and not in internal/wire. Every message carries
// prio3PeerVersion: a leader and a helper of different versions refuse
// each other rather than misread.

// prio3PeerVersion is the version of these messages.
const prio3PeerVersion = 1

// Limits of the peer messages.
const (
	maxJobReports   = 4096    // reports in one aggregation job
	maxPrepBytes    = 1 << 16 // a prep share or message
	maxPeerBodySize = 64 << 20
)

// prio3Job is one aggregation job, POST /v1/prio3/aggregate: reports of
// one batch that the leader has prepared its side of.
type prio3Job struct {
	Version  uint8            `cbor:"1,keyasint"`
	Campaign string           `cbor:"2,keyasint"`
	Epoch    uint32           `cbor:"3,keyasint"`
	Reports  []prio3JobReport `cbor:"4,keyasint"`
}

// prio3JobReport is one report of a job: what the helper needs to prepare
// its share, and the leader's prep share to decide the proof with.
type prio3JobReport struct {
	ID         wire.ReportID    `cbor:"1,keyasint"`
	Public     []byte           `cbor:"2,keyasint"`
	Share      wire.SealedShare `cbor:"3,keyasint"`
	LeaderPrep []byte           `cbor:"4,keyasint"`
	// Token is the report token the report came with (absent: none); the
	// helper verifies it and claims its nonce on its own.
	Token []byte `cbor:"5,keyasint,omitempty"`
}

// Outcomes of one report at the helper.
const (
	prepContinue uint8 = 1 // Message is the prep message; the helper aggregated it
	prepReject   uint8 = 2 // the helper rejected it (Reason says why); count it nowhere
)

// prio3JobResult is the helper's answer: one result per job report, in
// the job's order, durable at the helper before it is sent.
type prio3JobResult struct {
	Version uint8             `cbor:"1,keyasint"`
	Results []prio3PrepResult `cbor:"2,keyasint"`
}

type prio3PrepResult struct {
	ID      wire.ReportID `cbor:"1,keyasint"`
	Outcome uint8         `cbor:"2,keyasint"`
	Message []byte        `cbor:"3,keyasint,omitempty"`
	Reason  string        `cbor:"4,keyasint,omitempty"`
}

// prio3Collect asks the helper for its noised aggregate share of a batch,
// POST /v1/prio3/collect. Reports is the leader's count: the helper
// refuses unless it aggregated exactly as many.
type prio3Collect struct {
	Version  uint8  `cbor:"1,keyasint"`
	Campaign string `cbor:"2,keyasint"`
	Epoch    uint32 `cbor:"3,keyasint"`
	Reports  uint64 `cbor:"4,keyasint"`
}

// prio3CollectResult is the helper's noised aggregate share
// (prio.AggShare encoding). A repeated request gets the same bytes: the
// share is noised once.
type prio3CollectResult struct {
	Version uint8  `cbor:"1,keyasint"`
	Reports uint64 `cbor:"2,keyasint"`
	Share   []byte `cbor:"3,keyasint"`
}

// prio3Provision gives the helper a prio3 campaign, POST
// /v1/prio3/campaigns: its config as the leader signed it and the
// campaign's verify key. The helper checks the config against its own
// policy and keeps the first key it gets for a campaign.
type prio3Provision struct {
	Version   uint8  `cbor:"1,keyasint"`
	Tenant    string `cbor:"2,keyasint"`
	Config    []byte `cbor:"3,keyasint"` // campaign JSON
	Signature []byte `cbor:"4,keyasint"`
	VerifyKey []byte `cbor:"5,keyasint"`
}

var (
	peerEnc cbor.EncMode
	peerDec cbor.DecMode
)

func init() {
	var err error
	if peerEnc, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err)
	}
	if peerDec, err = (cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   6,
		MaxArrayElements:  maxJobReports,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}).DecMode(); err != nil {
		panic(err)
	}
}

// errPeerMessage: a peer message does not decode or has the wrong shape.
var errPeerMessage = errors.New("aggregator: malformed prio3 peer message")

// decodePeer decodes a peer message strictly and checks its version.
func decodePeer[T interface{ check() error }](b []byte) (T, error) {
	var m T
	if err := peerDec.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: %v", errPeerMessage, err)
	}
	if err := m.check(); err != nil {
		var zero T
		return zero, fmt.Errorf("%w: %v", errPeerMessage, err)
	}
	return m, nil
}

func checkVersion(v uint8) error {
	if v != prio3PeerVersion {
		return fmt.Errorf("version %d, want %d", v, prio3PeerVersion)
	}
	return nil
}

func checkCampaignID(id string) error {
	if id == "" || len(id) > wire.MaxCampaignLen {
		return fmt.Errorf("campaign id of %d bytes", len(id))
	}
	return nil
}

func (m prio3Job) check() error {
	if err := checkVersion(m.Version); err != nil {
		return err
	}
	if err := checkCampaignID(m.Campaign); err != nil {
		return err
	}
	if len(m.Reports) == 0 {
		return errors.New("a job without reports")
	}
	for i, r := range m.Reports {
		if len(r.Public) > maxPrepBytes || len(r.LeaderPrep) == 0 || len(r.LeaderPrep) > maxPrepBytes ||
			len(r.Share.Enc) == 0 || len(r.Share.Sealed) == 0 || len(r.Share.Sealed) > maxPrepBytes {
			return fmt.Errorf("report %d: field sizes out of range", i)
		}
	}
	return nil
}

func (m prio3JobResult) check() error {
	if err := checkVersion(m.Version); err != nil {
		return err
	}
	for i, r := range m.Results {
		switch {
		case r.Outcome == prepContinue && r.Reason == "" && len(r.Message) <= maxPrepBytes:
		case r.Outcome == prepReject && len(r.Message) == 0 && len(r.Reason) <= 200:
		default:
			return fmt.Errorf("result %d: outcome %d with a %d-byte message", i, r.Outcome, len(r.Message))
		}
	}
	return nil
}

func (m prio3Collect) check() error {
	if err := checkVersion(m.Version); err != nil {
		return err
	}
	return checkCampaignID(m.Campaign)
}

func (m prio3CollectResult) check() error {
	if err := checkVersion(m.Version); err != nil {
		return err
	}
	if len(m.Share) == 0 || len(m.Share) > maxPeerBodySize {
		return fmt.Errorf("aggregate share of %d bytes", len(m.Share))
	}
	return nil
}

func (m prio3Provision) check() error {
	if err := checkVersion(m.Version); err != nil {
		return err
	}
	if len(m.Config) == 0 || len(m.Config) > 1<<20 || len(m.Signature) > 1024 || len(m.Tenant) > 64 {
		return errors.New("config, signature or tenant size out of range")
	}
	if len(m.VerifyKey) != 32 {
		return fmt.Errorf("verify key of %d bytes, want 32", len(m.VerifyKey))
	}
	return nil
}

// prio3Ack is the helper's answer to a provisioning request.
type prio3Ack struct {
	Version uint8 `cbor:"1,keyasint"`
}

func (m prio3Ack) check() error { return checkVersion(m.Version) }
