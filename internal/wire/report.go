package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/wisp-project/wisp/internal/ldp"
)

// Version is the envelope format version this package writes and accepts.
const Version = 1

// Mode says how the payload is to be aggregated.
type Mode uint8

const (
	// ModeLDP payloads carry a locally randomized answer; the aggregator
	// decrypts and estimates.
	ModeLDP Mode = 1
	// ModePrio3 reports (Prio3Report) carry two secret shares of the true
	// answer, one sealed to each of two aggregators.
	ModePrio3 Mode = 2
)

// IsValid reports whether m is a mode this version accepts.
func (m Mode) IsValid() bool { return m == ModeLDP || m == ModePrio3 }

// ReportID is a random, single-use identifier; the aggregator rejects a
// second report with the same id. It identifies the report, not the device.
type ReportID [16]byte

// UnmarshalCBOR accepts exactly a 16-byte string; the default decoder would
// silently zero-fill a shorter one. b is one well-formed item (the decoder
// checked it): one whose head is that of a 16-byte string (0x50) is copied
// as it is, without a second decoding and its copy — every report's id
// is.
func (id *ReportID) UnmarshalCBOR(b []byte) error {
	if len(b) == 1+len(id) && b[0] == 0x40|byte(len(id)) {
		copy(id[:], b[1:])
		return nil
	}
	var raw []byte
	if err := decMode.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != len(id) {
		return fmt.Errorf("report id of %d bytes, want %d", len(raw), len(id))
	}
	copy(id[:], raw)
	return nil
}

// Envelope is one report as it travels.
type Envelope struct {
	Version  uint8    `cbor:"1,keyasint"`
	Mode     Mode     `cbor:"2,keyasint"`
	Campaign string   `cbor:"3,keyasint"`
	Epoch    uint32   `cbor:"4,keyasint"`
	KeyID    uint8    `cbor:"5,keyasint"`
	ID       ReportID `cbor:"6,keyasint"`
	Enc      []byte   `cbor:"7,keyasint"` // HPKE encapsulated key
	Sealed   []byte   `cbor:"8,keyasint"` // AEAD ciphertext of the padded payload
}

// Payload is what a report says once opened.
type Payload struct {
	Mechanism ldp.Mechanism `cbor:"1,keyasint"` // a CBOR uint, as a plain uint8 encodes
	Answer    []byte        `cbor:"2,keyasint"` // the randomized answer, encoded by the mechanism
}

// Batch is the body of POST /v1/reports. Reports stay raw so that one
// malformed report is rejected on its own instead of failing the batch.
type Batch struct {
	Reports []cbor.RawMessage `cbor:"1,keyasint"`
}

// Limits on what the decoders accept.
const (
	MaxBatchReports = 10000
	MaxCampaignLen  = 64
	MaxSealedLen    = 4096
)

// Sentinel errors callers can test with errors.Is.
var (
	ErrMalformed  = errors.New("wire: malformed report")
	ErrVersion    = errors.New("wire: unsupported report version or mode")
	ErrUnknownKey = errors.New("wire: unknown HPKE key id")
	ErrDecrypt    = errors.New("wire: report does not open")
	ErrTooLarge   = errors.New("wire: payload larger than the campaign's report size")
)

var (
	encMode  cbor.EncMode
	decMode  cbor.DecMode
	peekMode cbor.DecMode // decMode that skips unknown keys (PeekMode)
)

func init() {
	var err error
	if encMode, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err)
	}
	opts := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  MaxBatchReports,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}
	if decMode, err = opts.DecMode(); err != nil {
		panic(err)
	}
	opts.ExtraReturnErrors = cbor.ExtraDecErrorNone
	if peekMode, err = opts.DecMode(); err != nil {
		panic(err)
	}
}

// Marshal encodes v with deterministic CBOR.
func Marshal(v any) ([]byte, error) { return encMode.Marshal(v) }

// EncodeBatch encodes envelopes as a POST /v1/reports body.
func EncodeBatch(envs []Envelope) ([]byte, error) {
	raw := make([][]byte, len(envs))
	for i := range envs {
		b, err := encMode.Marshal(&envs[i])
		if err != nil {
			return nil, fmt.Errorf("wire: encode report %d: %w", i, err)
		}
		raw[i] = b
	}
	return EncodeRawBatch(raw)
}

// EncodeRawBatch makes a POST /v1/reports body of envelopes already
// encoded (a device's outbox keeps the exact bytes it sealed and sends
// them as they are).
func EncodeRawBatch(envs [][]byte) ([]byte, error) {
	raw := make([]cbor.RawMessage, len(envs))
	for i, b := range envs {
		raw[i] = b
	}
	b, err := encMode.Marshal(Batch{Reports: raw})
	if err != nil {
		return nil, fmt.Errorf("wire: encode batch: %w", err)
	}
	return b, nil
}

// DecodeBatch decodes a report batch body.
func DecodeBatch(b []byte) (Batch, error) {
	var batch Batch
	if err := decMode.Unmarshal(b, &batch); err != nil {
		return Batch{}, fmt.Errorf("%w: batch: %v", ErrMalformed, err)
	}
	return batch, nil
}

// DecodeEnvelope decodes and checks the shape of one envelope.
func DecodeEnvelope(b []byte) (Envelope, error) {
	var e Envelope
	if err := decMode.Unmarshal(b, &e); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case e.Version != Version || e.Mode != ModeLDP:
		return Envelope{}, fmt.Errorf("%w: version %d mode %d", ErrVersion, e.Version, e.Mode)
	case e.Campaign == "" || len(e.Campaign) > MaxCampaignLen:
		return Envelope{}, fmt.Errorf("%w: campaign id of %d bytes", ErrMalformed, len(e.Campaign))
	case len(e.Sealed) == 0 || len(e.Sealed) > MaxSealedLen:
		return Envelope{}, fmt.Errorf("%w: sealed payload of %d bytes", ErrMalformed, len(e.Sealed))
	}
	return e, nil
}

// aad binds the envelope's clear fields to its ciphertext.
func (e *Envelope) aad() []byte {
	b := make([]byte, 0, 32+len(e.Campaign))
	b = append(b, "wisp/report"...)
	b = append(b, e.Version, uint8(e.Mode))
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Campaign)))
	b = append(b, e.Campaign...)
	b = binary.BigEndian.AppendUint32(b, e.Epoch)
	b = append(b, e.KeyID)
	return append(b, e.ID[:]...)
}

// encodePayload encodes p and zero-pads it to size bytes.
func encodePayload(p Payload, size int) ([]byte, error) {
	b, err := encMode.Marshal(p)
	if err != nil {
		return nil, err
	}
	if len(b) > size {
		return nil, fmt.Errorf("%w: %d > %d bytes", ErrTooLarge, len(b), size)
	}
	return append(b, make([]byte, size-len(b))...), nil
}

// decodePayload decodes a padded payload; the padding must be all zeros.
func decodePayload(b []byte) (Payload, error) {
	var p Payload
	rest, err := decMode.UnmarshalFirst(b, &p)
	if err != nil {
		return Payload{}, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if len(bytes.Trim(rest, "\x00")) != 0 {
		return Payload{}, fmt.Errorf("%w: payload padding is not zero", ErrMalformed)
	}
	return p, nil
}
