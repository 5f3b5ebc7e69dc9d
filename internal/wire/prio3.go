package wire

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/wisp-project/wisp/internal/prio"
)

// SealedShare is one aggregator's Prio3 input share, HPKE-sealed to that
// aggregator (SealShare).
type SealedShare struct {
	KeyID  uint8  `cbor:"1,keyasint"`
	Enc    []byte `cbor:"2,keyasint"` // HPKE encapsulated key
	Sealed []byte `cbor:"3,keyasint"` // AEAD ciphertext of the input share
}

// Prio3Report is one two-aggregator report as a device uploads it to the
// leader. Keys 1–4 and 6 mean what they mean in Envelope, so PeekMode
// reads Version and Mode of either and a batch may mix them. ID is also
// the report's Prio3 nonce. The leader opens Leader and forwards Helper,
// still sealed, with ID and Public to the helper.
type Prio3Report struct {
	Version  uint8       `cbor:"1,keyasint"` // Version
	Mode     Mode        `cbor:"2,keyasint"` // ModePrio3
	Campaign string      `cbor:"3,keyasint"`
	Epoch    uint32      `cbor:"4,keyasint"`
	ID       ReportID    `cbor:"6,keyasint"`
	Public   []byte      `cbor:"9,keyasint"` // Prio3 public share, in clear (empty for Count and Sum)
	Leader   SealedShare `cbor:"10,keyasint"`
	Helper   SealedShare `cbor:"11,keyasint"`
}

// Limits of a Prio3 report, beyond those of an envelope.
const (
	// MaxShareLen bounds a sealed input share: the leader's share of the
	// largest instance a campaign may name, with the AEAD tag, stays below
	// it for every question type Wisp asks (a top_k over 2¹⁴ categories is
	// about 12 KiB).
	MaxShareLen = 1 << 16
	// MaxPublicLen bounds the public share (two 32-byte seeds in every
	// variant with joint randomness).
	MaxPublicLen = 128
)

// shareInfo is the HPKE info string of a Prio3 share: distinct from an
// LDP envelope's, so neither ciphertext opens as the other.
var shareInfo = []byte("wisp prio3 share v1")

// Share returns the report's share for role.
func (r *Prio3Report) Share(role prio.Role) SealedShare {
	if role == prio.Helper {
		return r.Helper
	}
	return r.Leader
}

// AAD is the associated data of the report's share for role (ShareAAD).
func (r *Prio3Report) AAD(role prio.Role) []byte {
	return ShareAAD(r.Campaign, r.Epoch, r.ID, role, r.Public)
}

// ShareAAD is the HPKE associated data of one input share: it binds the
// wire version, campaign, epoch, report id, the aggregator's role and the
// public share, so a share opens only in the report and for the role it
// was sealed for. Every variable-length field is length-prefixed.
func ShareAAD(campaign string, epoch uint32, id ReportID, role prio.Role, public []byte) []byte {
	b := make([]byte, 0, 48+len(campaign)+len(public))
	b = append(b, "wisp/prio3"...)
	b = append(b, Version, uint8(ModePrio3))
	b = binary.BigEndian.AppendUint16(b, uint16(len(campaign)))
	b = append(b, campaign...)
	b = binary.BigEndian.AppendUint32(b, epoch)
	b = append(b, id[:]...)
	b = append(b, uint8(role))
	b = binary.BigEndian.AppendUint16(b, uint16(len(public)))
	return append(b, public...)
}

// SealShare seals one input share to the aggregator's key config kc with
// the associated data aad (ShareAAD), drawing the HPKE ephemeral key from
// crypto/rand.
func SealShare(kc KeyConfig, aad, plaintext []byte) (SealedShare, error) {
	enc, sealed, err := seal(kc, shareInfo, aad, plaintext, rand.Reader)
	if err != nil {
		return SealedShare{}, err
	}
	return SealedShare{KeyID: kc.ID, Enc: enc, Sealed: sealed}, nil
}

// SealPrio3 makes the report of one sharded measurement for campaign and
// epoch: the report id is the Prio3 nonce, the public share travels in
// clear, the leader's input share is sealed to leader and the helper's to
// helper, each under its ShareAAD.
func SealPrio3(campaign string, epoch uint32, rep prio.Report, leader, helper KeyConfig) (Prio3Report, error) {
	r := Prio3Report{Version: Version, Mode: ModePrio3, Campaign: campaign, Epoch: epoch, ID: ReportID(rep.Nonce), Public: rep.Public}
	var err error
	if r.Leader, err = SealShare(leader, r.AAD(prio.Leader), rep.Leader); err != nil {
		return Prio3Report{}, err
	}
	if r.Helper, err = SealShare(helper, r.AAD(prio.Helper), rep.Helper); err != nil {
		return Prio3Report{}, err
	}
	return r, nil
}

// OpenShare opens s with k, which must be the key s names.
func (k *KeyPair) OpenShare(s SealedShare, aad []byte) ([]byte, error) {
	if s.KeyID != k.Config.ID {
		return nil, fmt.Errorf("%w: %d", ErrUnknownKey, s.KeyID)
	}
	return k.open(shareInfo, s.Enc, s.Sealed, aad)
}

// EncodePrio3Report encodes r with deterministic CBOR, as the device's
// outbox stores and sends it.
func EncodePrio3Report(r *Prio3Report) ([]byte, error) { return encMode.Marshal(r) }

// DecodePrio3Report decodes and checks the shape of one Prio3 report,
// with the strictness of DecodeEnvelope — no unknown or repeated keys, no
// tags or indefinite lengths, a 16-byte id, bounded lengths — and only in
// its deterministic encoding (EncodePrio3Report), so one report has one
// byte string.
func DecodePrio3Report(b []byte) (Prio3Report, error) {
	var r Prio3Report
	if err := decMode.Unmarshal(b, &r); err != nil {
		return Prio3Report{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case r.Version != Version || r.Mode != ModePrio3:
		return Prio3Report{}, fmt.Errorf("%w: version %d mode %d", ErrVersion, r.Version, r.Mode)
	case r.Campaign == "" || len(r.Campaign) > MaxCampaignLen:
		return Prio3Report{}, fmt.Errorf("%w: campaign id of %d bytes", ErrMalformed, len(r.Campaign))
	case len(r.Public) > MaxPublicLen:
		return Prio3Report{}, fmt.Errorf("%w: public share of %d bytes", ErrMalformed, len(r.Public))
	}
	for _, s := range []SealedShare{r.Leader, r.Helper} {
		if len(s.Enc) == 0 || len(s.Enc) > 256 || len(s.Sealed) == 0 || len(s.Sealed) > MaxShareLen {
			return Prio3Report{}, fmt.Errorf("%w: sealed share of %d+%d bytes", ErrMalformed, len(s.Enc), len(s.Sealed))
		}
	}
	if again, err := encMode.Marshal(&r); err != nil || !bytes.Equal(again, b) {
		return Prio3Report{}, fmt.Errorf("%w: not the deterministic encoding", ErrMalformed)
	}
	return r, nil
}

// PeekMode reads the version and mode of an encoded report (an Envelope
// or a Prio3Report) without decoding the rest, so a receiver can pick
// the decoder. It fails with ErrVersion for a version or mode this
// package does not accept and ErrMalformed for anything not a CBOR map.
func PeekMode(b []byte) (Mode, error) {
	var h struct {
		Version uint8 `cbor:"1,keyasint"`
		Mode    Mode  `cbor:"2,keyasint"`
	}
	if err := peekMode.Unmarshal(b, &h); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if h.Version != Version || !h.Mode.IsValid() {
		return 0, fmt.Errorf("%w: version %d mode %d", ErrVersion, h.Version, h.Mode)
	}
	return h.Mode, nil
}
