// Package privpass is Privacy Pass publicly verifiable tokens — RFC 9578
// token type 0x0002, Blind RSA (2048-bit), RSABSSA-SHA384-PSS-Deterministic
// of RFC 9474 — in the few encodings Wisp's report tokens need, and the
// device credential a device maker provisions (credential.go).
//
// Why: without tokens anyone can pad a campaign's segment past k with made-up
// reports. A report token is one blind signature per (device, campaign,
// epoch): the issuer authenticates the device (its maker's credential) and
// signs a token it cannot see, so it cannot link the token to the report it
// later travels with; the aggregators verify it with the issuer's public key
// and refuse a token nonce seen before.
//
// What is here: the TokenChallenge of RFC 9577 §2.1 (Challenge), the Token
// of RFC 9577 §2.2 (Token), the TokenRequest and TokenResponse of RFC 9578 §6
// (TokenRequest, TokenResponse), the issuer key's SPKI with the id-RSASSA-PSS
// OID and its token_key_id (PublicKey), the client's two steps (Begin,
// Pending.Finalize), the issuer's one (Issuer.Evaluate) and redemption
// (Verify). The blind RSA arithmetic is circl's blindsign/blindrsa; this
// package only encodes. No Privacy Pass Go module is reachable from this
// build; the encodings are checked against the five type-2 test vectors of
// RFC 9578 Appendix A.2, copied into testdata/rfc9578_type2.json from
// github.com/ietf-wg-privacypass/base-drafts (draft-ietf-privacypass-protocol.md,
// "Issuance Protocol 2 - Blind RSA, 2048"). Every decoder is strict (exact
// lengths, one encoding per value) and fuzzed.
package privpass

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/blindsign/blindrsa"
)

// TokenType is the RFC 9578 token type: Blind RSA (2048-bit).
const TokenType uint16 = 0x0002

// Sizes of a type-2 token's parts (RFC 9578 §8.2.2).
const (
	Nk        = 256 // authenticator, blinded message and blind signature
	NonceSize = 32
	KeyIDSize = 32
	// TokenSize is the length of an encoded Token.
	TokenSize = 2 + NonceSize + sha256.Size + KeyIDSize + Nk
	// RequestSize is the length of an encoded TokenRequest.
	RequestSize = 2 + 1 + Nk
)

// variant is the blind RSA variant of token type 2: no message prefix
// (PrepareIdentity) and a 48-byte salt.
const variant = blindrsa.SHA384PSSDeterministic

// Errors. ErrMalformed: bytes that are not the encoding of the type;
// ErrInvalid: a well-formed token (or response) that does not verify.
var (
	ErrMalformed = errors.New("privpass: malformed")
	ErrInvalid   = errors.New("privpass: token does not verify")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Challenge is a TokenChallenge (RFC 9577 §2.1). A token's challenge digest
// is SHA-256 of its encoding; Wisp's report challenge is ReportChallenge.
type Challenge struct {
	IssuerName string
	// RedemptionContext is empty or 32 bytes.
	RedemptionContext []byte
	OriginInfo        string
}

// Marshal encodes c: token_type, issuer_name<1..2^16-1>,
// redemption_context<0..32>, origin_info<0..2^16-1>.
func (c Challenge) Marshal() ([]byte, error) {
	switch {
	case len(c.IssuerName) == 0 || len(c.IssuerName) > 0xffff:
		return nil, malformed("issuer name of %d bytes", len(c.IssuerName))
	case len(c.RedemptionContext) != 0 && len(c.RedemptionContext) != 32:
		return nil, malformed("redemption context of %d bytes (0 or 32)", len(c.RedemptionContext))
	case len(c.OriginInfo) > 0xffff:
		return nil, malformed("origin info of %d bytes", len(c.OriginInfo))
	}
	b := binary.BigEndian.AppendUint16(nil, TokenType)
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.IssuerName)))
	b = append(b, c.IssuerName...)
	b = append(b, byte(len(c.RedemptionContext)))
	b = append(b, c.RedemptionContext...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.OriginInfo)))
	return append(b, c.OriginInfo...), nil
}

// ParseChallenge decodes a type-2 TokenChallenge; nothing may follow it.
func ParseChallenge(b []byte) (Challenge, error) {
	r := reader{b: b}
	if t := r.u16(); t != TokenType {
		return Challenge{}, malformed("token type %#04x", t)
	}
	c := Challenge{IssuerName: string(r.bytes(int(r.u16())))}
	c.RedemptionContext = r.bytes(int(r.u8()))
	c.OriginInfo = string(r.bytes(int(r.u16())))
	if err := r.done(); err != nil {
		return Challenge{}, err
	}
	if _, err := c.Marshal(); err != nil {
		return Challenge{}, err
	}
	return c, nil
}

// reportContextDomain separates Wisp's redemption contexts from any other
// use of the issuer's name.
const reportContextDomain = "wisp report token v1"

// RedemptionContext is what binds a report token to one campaign epoch:
// SHA-256("wisp report token v1" ‖ len(campaign) (2 bytes) ‖ campaign ‖
// epoch (4 bytes, big-endian)).
func RedemptionContext(campaign string, epoch uint32) [32]byte {
	b := []byte(reportContextDomain)
	b = binary.BigEndian.AppendUint16(b, uint16(len(campaign)))
	b = append(b, campaign...)
	b = binary.BigEndian.AppendUint32(b, epoch)
	return sha256.Sum256(b)
}

// ReportChallenge is the challenge of a report token for one campaign
// epoch from the named issuer (no origin info: every aggregator of the
// campaign redeems it).
func ReportChallenge(issuer, campaign string, epoch uint32) Challenge {
	rc := RedemptionContext(campaign, epoch)
	return Challenge{IssuerName: issuer, RedemptionContext: rc[:]}
}

// Token is a type-2 Token (RFC 9577 §2.2).
type Token struct {
	Nonce           [NonceSize]byte
	ChallengeDigest [sha256.Size]byte
	KeyID           [KeyIDSize]byte
	Authenticator   [Nk]byte
}

// input is token_authenticator_input: everything but the authenticator.
func (t *Token) input() []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, TokenSize-Nk), TokenType)
	b = append(b, t.Nonce[:]...)
	b = append(b, t.ChallengeDigest[:]...)
	return append(b, t.KeyID[:]...)
}

// Marshal encodes t (TokenSize bytes).
func (t *Token) Marshal() []byte { return append(t.input(), t.Authenticator[:]...) }

// ParseToken decodes a type-2 Token of exactly TokenSize bytes.
func ParseToken(b []byte) (Token, error) {
	var t Token
	if len(b) != TokenSize {
		return t, malformed("token of %d bytes, want %d", len(b), TokenSize)
	}
	r := reader{b: b}
	if typ := r.u16(); typ != TokenType {
		return t, malformed("token type %#04x", typ)
	}
	copy(t.Nonce[:], r.bytes(NonceSize))
	copy(t.ChallengeDigest[:], r.bytes(sha256.Size))
	copy(t.KeyID[:], r.bytes(KeyIDSize))
	copy(t.Authenticator[:], r.bytes(Nk))
	return t, r.done()
}

// TokenRequest is the client's blinded request (RFC 9578 §6.1).
type TokenRequest struct {
	TruncatedKeyID byte
	BlindedMsg     [Nk]byte
}

// Marshal encodes r (RequestSize bytes).
func (r *TokenRequest) Marshal() []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, RequestSize), TokenType)
	b = append(b, r.TruncatedKeyID)
	return append(b, r.BlindedMsg[:]...)
}

// ParseTokenRequest decodes a type-2 TokenRequest of exactly RequestSize bytes.
func ParseTokenRequest(b []byte) (TokenRequest, error) {
	var req TokenRequest
	if len(b) != RequestSize {
		return req, malformed("token request of %d bytes, want %d", len(b), RequestSize)
	}
	r := reader{b: b}
	if typ := r.u16(); typ != TokenType {
		return req, malformed("token type %#04x", typ)
	}
	req.TruncatedKeyID = r.u8()
	copy(req.BlindedMsg[:], r.bytes(Nk))
	return req, r.done()
}

// TokenResponse is the issuer's blind signature (RFC 9578 §6.2): Nk bytes.
type TokenResponse struct {
	BlindSig [Nk]byte
}

// ParseTokenResponse decodes a TokenResponse of exactly Nk bytes.
func ParseTokenResponse(b []byte) (TokenResponse, error) {
	var resp TokenResponse
	if len(b) != Nk {
		return resp, malformed("token response of %d bytes, want %d", len(b), Nk)
	}
	copy(resp.BlindSig[:], b)
	return resp, nil
}

// pssAlgorithm is the DER AlgorithmIdentifier RFC 9578 §6.5 puts in the
// issuer key's SPKI: id-RSASSA-PSS with RSASSA-PSS-params {SHA-384,
// MGF1(SHA-384), saltLength 48}, as in every RFC test vector.
var pssAlgorithm = []byte{
	0x30, 0x3d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x30,
	0xa0, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
	0xa1, 0x1a, 0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
	0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
	0xa2, 0x03, 0x02, 0x01, 0x30,
}

// PublicKey is an issuer's token key: a 2048-bit RSA key, its SPKI
// encoding (the Token Key Encoding of type 2) and token_key_id, SHA-256
// of that encoding.
type PublicKey struct {
	key  *rsa.PublicKey
	spki []byte
	id   [KeyIDSize]byte
}

type spki struct {
	Algorithm asn1.RawValue
	PublicKey asn1.BitString
}

// NewPublicKey wraps a 2048-bit RSA public key.
func NewPublicKey(k *rsa.PublicKey) (*PublicKey, error) {
	if k == nil || k.N.BitLen() != 8*Nk {
		return nil, malformed("token key is not a %d-bit RSA key", 8*Nk)
	}
	pkcs1 := x509.MarshalPKCS1PublicKey(k)
	der, err := asn1.Marshal(spki{Algorithm: asn1.RawValue{FullBytes: pssAlgorithm}, PublicKey: asn1.BitString{Bytes: pkcs1, BitLength: 8 * len(pkcs1)}})
	if err != nil {
		return nil, err
	}
	return &PublicKey{key: k, spki: der, id: sha256.Sum256(der)}, nil
}

// ParsePublicKey decodes an issuer key's SPKI (the encoding NewPublicKey
// makes, and only it).
func ParsePublicKey(der []byte) (*PublicKey, error) {
	var s spki
	rest, err := asn1.Unmarshal(der, &s)
	if err != nil {
		return nil, malformed("token key: %v", err)
	}
	if len(rest) != 0 || !bytes.Equal(s.Algorithm.FullBytes, pssAlgorithm) || s.PublicKey.BitLength%8 != 0 {
		return nil, malformed("token key is not an RSASSA-PSS (SHA-384, salt 48) SPKI")
	}
	k, err := x509.ParsePKCS1PublicKey(s.PublicKey.Bytes)
	if err != nil {
		return nil, malformed("token key: %v", err)
	}
	pk, err := NewPublicKey(k)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(pk.spki, der) {
		return nil, malformed("token key is not in its one DER encoding")
	}
	return pk, nil
}

// Bytes is the key's SPKI encoding.
func (k *PublicKey) Bytes() []byte { return bytes.Clone(k.spki) }

// ID is the key's token_key_id.
func (k *PublicKey) ID() [KeyIDSize]byte { return k.id }

// Pending is a client's state between its request and the issuer's
// response: the token input and the blind.
type Pending struct {
	client blindrsa.Client
	state  blindrsa.State
	token  Token
}

// Begin starts a token for challenge (its encoding) under key k: a fresh
// random nonce, blinded. Send the TokenRequest to the issuer and give its
// answer to Pending.Finalize.
func Begin(k *PublicKey, challenge []byte) (TokenRequest, *Pending, error) {
	return begin(rand.Reader, k, challenge)
}

// begin reads the nonce, then the PSS salt, then the blind from random
// (the order the RFC vectors are reproduced in).
func begin(random io.Reader, k *PublicKey, challenge []byte) (TokenRequest, *Pending, error) {
	c, err := blindrsa.NewClient(variant, k.key)
	if err != nil {
		return TokenRequest{}, nil, err
	}
	p := &Pending{client: c}
	p.token.ChallengeDigest = sha256.Sum256(challenge)
	p.token.KeyID = k.id
	if _, err := io.ReadFull(random, p.token.Nonce[:]); err != nil {
		return TokenRequest{}, nil, err
	}
	blinded, state, err := c.Blind(random, p.token.input())
	if err != nil {
		return TokenRequest{}, nil, err
	}
	p.state = state
	req := TokenRequest{TruncatedKeyID: k.id[KeyIDSize-1]}
	copy(req.BlindedMsg[:], blinded)
	return req, p, nil
}

// Finalize unblinds the issuer's response into a token, and checks it: a
// response that does not make a valid signature is ErrInvalid.
func (p *Pending) Finalize(resp TokenResponse) (Token, error) {
	sig, err := p.client.Finalize(p.state, resp.BlindSig[:])
	if err != nil {
		return Token{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	t := p.token
	copy(t.Authenticator[:], sig)
	return t, nil
}

// Issuer holds a token key's private half.
type Issuer struct {
	signer blindrsa.Signer
	public *PublicKey
}

// NewIssuer makes an issuer of a 2048-bit RSA key.
func NewIssuer(sk *rsa.PrivateKey) (*Issuer, error) {
	pk, err := NewPublicKey(&sk.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Issuer{signer: blindrsa.NewSigner(sk), public: pk}, nil
}

// GenerateIssuer makes an issuer with a fresh 2048-bit key.
func GenerateIssuer() (*Issuer, error) {
	sk, err := rsa.GenerateKey(rand.Reader, 8*Nk)
	if err != nil {
		return nil, err
	}
	return NewIssuer(sk)
}

// PublicKey is the issuer's token key.
func (i *Issuer) PublicKey() *PublicKey { return i.public }

// Evaluate signs a blinded request (RFC 9578 §6.2). A request for another
// key (its truncated key id) is ErrMalformed. The issuer learns nothing of
// the token's nonce or challenge: whether to sign is decided before, by
// who asks (the device's credential).
func (i *Issuer) Evaluate(req TokenRequest) (TokenResponse, error) {
	if req.TruncatedKeyID != i.public.id[KeyIDSize-1] {
		return TokenResponse{}, malformed("token request for key ..%02x, this key is ..%02x", req.TruncatedKeyID, i.public.id[KeyIDSize-1])
	}
	sig, err := i.signer.BlindSign(req.BlindedMsg[:])
	if err != nil {
		return TokenResponse{}, malformed("blinded message: %v", err)
	}
	var resp TokenResponse
	copy(resp.BlindSig[:], sig)
	return resp, nil
}

// Verify redeems a token: it must be under key k, for challenge (its
// encoding), and its authenticator a valid RSASSA-PSS signature (SHA-384,
// MGF1 SHA-384, 48-byte salt) over the rest. Replay is the caller's check:
// a valid token verifies every time.
func Verify(k *PublicKey, t *Token, challenge []byte) error {
	switch {
	case t.KeyID != k.id:
		return fmt.Errorf("%w: issued under another key", ErrInvalid)
	case t.ChallengeDigest != sha256.Sum256(challenge):
		return fmt.Errorf("%w: issued for another challenge (campaign, epoch or issuer)", ErrInvalid)
	}
	v, err := blindrsa.NewVerifier(variant, k.key)
	if err != nil {
		return err
	}
	if err := v.Verify(t.input(), t.Authenticator[:]); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// reader reads big-endian fields; the first short read is remembered and
// every later read returns zeros.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = malformed("%d bytes wanted, %d left", n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	if n == 0 {
		return nil
	}
	return bytes.Clone(v)
}

func (r *reader) u8() uint8 {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = malformed("%d bytes after the end", len(r.b))
	}
	return r.err
}
