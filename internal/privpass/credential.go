package privpass

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// A device credential is how the issuer knows it signs for a real device,
// once per campaign epoch (RFC 9576's attester): the device maker holds an
// Ed25519 key, and provisions each device with its id, its own Ed25519 key
// and the maker's signature over both. The issuer is configured with the
// makers' public keys; a device signs each issuance request with its key.

// MaxDeviceIDLen bounds a device id.
const MaxDeviceIDLen = 128

// Credential is a device's credential as its maker issued it.
type Credential struct {
	DeviceID  string            `cbor:"1,keyasint"`
	DeviceKey ed25519.PublicKey `cbor:"2,keyasint"`
	MakerSig  []byte            `cbor:"3,keyasint"`
}

// ErrCredential: a credential or issuance request that does not verify.
var ErrCredential = errors.New("privpass: device credential does not verify")

var (
	credEnc cbor.EncMode
	credDec cbor.DecMode
)

func init() {
	var err error
	if credEnc, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err)
	}
	credDec, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  16,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// credentialMessage is what the maker signs.
func credentialMessage(id string, key ed25519.PublicKey) []byte {
	b := []byte("wisp device credential v1")
	b = binary.BigEndian.AppendUint16(b, uint16(len(id)))
	b = append(b, id...)
	return append(b, key...)
}

// IssueCredential is the device maker's step: a credential for device id
// holding key, signed with the maker's key.
func IssueCredential(maker ed25519.PrivateKey, id string, key ed25519.PublicKey) (Credential, error) {
	c := Credential{DeviceID: id, DeviceKey: key}
	if err := c.wellFormed(); err != nil {
		return Credential{}, err
	}
	c.MakerSig = ed25519.Sign(maker, credentialMessage(id, key))
	return c, nil
}

func (c *Credential) wellFormed() error {
	switch {
	case c.DeviceID == "" || len(c.DeviceID) > MaxDeviceIDLen:
		return malformed("device id of %d bytes", len(c.DeviceID))
	case len(c.DeviceKey) != ed25519.PublicKeySize:
		return malformed("device key of %d bytes", len(c.DeviceKey))
	}
	return nil
}

// Marshal encodes c as deterministic CBOR.
func (c *Credential) Marshal() ([]byte, error) { return credEnc.Marshal(c) }

// ParseCredential decodes a credential (its one deterministic encoding).
func ParseCredential(b []byte) (Credential, error) {
	var c Credential
	if err := credDec.Unmarshal(b, &c); err != nil {
		return Credential{}, malformed("credential: %v", err)
	}
	if err := c.wellFormed(); err != nil {
		return Credential{}, err
	}
	if len(c.MakerSig) != ed25519.SignatureSize {
		return Credential{}, malformed("maker signature of %d bytes", len(c.MakerSig))
	}
	if again, _ := c.Marshal(); !bytes.Equal(again, b) {
		return Credential{}, malformed("credential is not in its deterministic encoding")
	}
	return c, nil
}

// Verify checks that one of makers signed c.
func (c *Credential) Verify(makers []ed25519.PublicKey) error {
	_, err := c.maker(makers)
	return err
}

// maker returns which of makers signed c.
func (c *Credential) maker(makers []ed25519.PublicKey) (ed25519.PublicKey, error) {
	msg := credentialMessage(c.DeviceID, c.DeviceKey)
	for _, m := range makers {
		if ed25519.Verify(m, msg, c.MakerSig) {
			return m, nil
		}
	}
	return nil, fmt.Errorf("%w: no configured device maker signed the credential of %q", ErrCredential, c.DeviceID)
}

// IssuanceRequest is the body of POST /v1/report-tokens: a TokenRequest for
// one campaign epoch, the device's credential, and the device's signature
// over the rest with a timestamp (a captured request is good for
// MaxRequestAge only).
type IssuanceRequest struct {
	Campaign     string `cbor:"1,keyasint"`
	Epoch        uint32 `cbor:"2,keyasint"`
	TokenRequest []byte `cbor:"3,keyasint"`
	Credential   []byte `cbor:"4,keyasint"`
	Time         int64  `cbor:"5,keyasint"` // Unix seconds
	Signature    []byte `cbor:"6,keyasint"`
}

// MaxRequestAge is how far an issuance request's time may be from the
// issuer's clock.
const MaxRequestAge = 5 * time.Minute

// Signed requests' domains: a key request's signature can never pass for
// an issuance's, nor the reverse.
const (
	issuanceDomain   = "wisp report token request v1"
	keyRequestDomain = "wisp report token key request v1"
)

// message is what the device signs for domain: every field but the
// signature.
func (r *IssuanceRequest) message(domain string) []byte {
	b := []byte(domain)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Campaign)))
	b = append(b, r.Campaign...)
	b = binary.BigEndian.AppendUint32(b, r.Epoch)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.TokenRequest)))
	b = append(b, r.TokenRequest...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Credential)))
	b = append(b, r.Credential...)
	return binary.BigEndian.AppendUint64(b, uint64(r.Time))
}

// SignIssuance is the device's request for a token of (campaign, epoch):
// req under its credential cred, signed with its key at now.
func SignIssuance(key ed25519.PrivateKey, cred Credential, campaign string, epoch uint32, req TokenRequest, now time.Time) ([]byte, error) {
	return sign(issuanceDomain, key, cred, campaign, epoch, req.Marshal(), now)
}

// SignKeyRequest is the device's request that the issuer make its key of
// (campaign, epoch), which it does for a device with a credential only
// (an IssuanceRequest without a token request, in its own domain).
func SignKeyRequest(key ed25519.PrivateKey, cred Credential, campaign string, epoch uint32, now time.Time) ([]byte, error) {
	return sign(keyRequestDomain, key, cred, campaign, epoch, nil, now)
}

func sign(domain string, key ed25519.PrivateKey, cred Credential, campaign string, epoch uint32, tokenRequest []byte, now time.Time) ([]byte, error) {
	c, err := cred.Marshal()
	if err != nil {
		return nil, err
	}
	r := IssuanceRequest{Campaign: campaign, Epoch: epoch, TokenRequest: tokenRequest, Credential: c, Time: now.Unix()}
	r.Signature = ed25519.Sign(key, r.message(domain))
	return credEnc.Marshal(&r)
}

// Issuance is a verified issuance request.
type Issuance struct {
	DeviceID string
	// Maker is which of the makers signed the credential: device ids are
	// the makers' own, so two makers may each have a "device-1".
	Maker    ed25519.PublicKey
	Campaign string
	Epoch    uint32
	Request  TokenRequest
}

// VerifyIssuance decodes and checks an issuance request: well-formed, its
// credential signed by one of makers, its signature by the credential's
// device key, its time within MaxRequestAge of now. ErrMalformed or
// ErrCredential otherwise.
func VerifyIssuance(b []byte, makers []ed25519.PublicKey, now time.Time) (Issuance, error) {
	r, cred, maker, err := verify(issuanceDomain, b, makers, now)
	if err != nil {
		return Issuance{}, err
	}
	req, err := ParseTokenRequest(r.TokenRequest)
	if err != nil {
		return Issuance{}, err
	}
	return Issuance{DeviceID: cred.DeviceID, Maker: maker, Campaign: r.Campaign, Epoch: r.Epoch, Request: req}, nil
}

// VerifyKeyRequest is VerifyIssuance for a key request (SignKeyRequest):
// its Request is zero.
func VerifyKeyRequest(b []byte, makers []ed25519.PublicKey, now time.Time) (Issuance, error) {
	r, cred, maker, err := verify(keyRequestDomain, b, makers, now)
	if err != nil {
		return Issuance{}, err
	}
	if len(r.TokenRequest) != 0 {
		return Issuance{}, malformed("a key request carries a token request")
	}
	return Issuance{DeviceID: cred.DeviceID, Maker: maker, Campaign: r.Campaign, Epoch: r.Epoch}, nil
}

func verify(domain string, b []byte, makers []ed25519.PublicKey, now time.Time) (IssuanceRequest, Credential, ed25519.PublicKey, error) {
	var r IssuanceRequest
	if err := credDec.Unmarshal(b, &r); err != nil {
		return r, Credential{}, nil, malformed("issuance request: %v", err)
	}
	if r.Campaign == "" || len(r.Campaign) > 64 {
		return r, Credential{}, nil, malformed("campaign id of %d bytes", len(r.Campaign))
	}
	cred, err := ParseCredential(r.Credential)
	if err != nil {
		return r, Credential{}, nil, err
	}
	maker, err := cred.maker(makers)
	if err != nil {
		return r, Credential{}, nil, err
	}
	if !ed25519.Verify(cred.DeviceKey, r.message(domain), r.Signature) {
		return r, Credential{}, nil, fmt.Errorf("%w: the request is not signed by the credential's device key", ErrCredential)
	}
	if d := now.Sub(time.Unix(r.Time, 0)); d > MaxRequestAge || d < -MaxRequestAge {
		return r, Credential{}, nil, fmt.Errorf("%w: request time is %v from the issuer's clock", ErrCredential, d.Round(time.Second))
	}
	return r, cred, maker, nil
}

// Provision is the device maker's step for one device: a fresh device key
// and its credential under maker, for the device to keep (both) and
// present (the credential) when it asks for tokens.
func Provision(maker ed25519.PrivateKey, id string) (Credential, ed25519.PrivateKey, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Credential{}, nil, err
	}
	cred, err := IssueCredential(maker, id, pub)
	return cred, key, err
}
