// Package ohttp implements Oblivious HTTP (RFC 9458) for Wisp: a device
// seals an HTTP request to the aggregator's gateway key and sends it
// through a relay; the relay sees who sends but not what, the aggregator
// sees what but not who.
//
// What is implemented, from RFC 9458:
//
//   - the key configuration encoding (§3.1) and the application/ohttp-keys
//     list of length-prefixed configurations (§3.2);
//   - request encapsulation (§4.3): header key_id‖kem_id‖kdf_id‖aead_id,
//     HPKE base mode with info "message/bhttp request"‖0x00‖header, empty
//     AAD, message/ohttp-req;
//   - response encapsulation (§4.4): secret = Export("message/bhttp
//     response", max(Nn, Nk)), a random response nonce of that length, salt
//     = enc‖nonce, prk = Extract(salt, secret), key = Expand(prk, "key", Nk),
//     nonce = Expand(prk, "nonce", Nn), message/ohttp-res;
//   - the media types and the "ohttp-key" problem type (§5.3) as constants.
//
// The inner messages are known-length Binary HTTP (RFC 9292 §3.1), in
// package internal/bhttp. Not implemented: chunked OHTTP (a later draft),
// indeterminate-length Binary HTTP, key configuration discovery (Wisp
// fetches the list from the aggregator) and replay protection beyond what
// the inner request does itself (Wisp reports carry random ids and are
// de-duplicated by the aggregator).
//
// Any KEM, KDF and AEAD that circl's hpke package knows may appear in a
// configuration; GenerateKeyPair makes DHKEM(X25519, HKDF-SHA256) keys with
// HKDF-SHA256 and AES-128-GCM, the suite of RFC 9458 Appendix A.
package ohttp

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
)

// Media types (RFC 9458 §9) and the problem type of §5.3.
const (
	KeysMediaType     = "application/ohttp-keys"
	RequestMediaType  = "message/ohttp-req"
	ResponseMediaType = "message/ohttp-res"
	KeyProblemType    = "https://iana.org/assignments/http-problem-types#ohttp-key"
)

const (
	requestInfo    = "message/bhttp request"
	responseLabel  = "message/bhttp response"
	headerLen      = 7 // key_id(1) kem_id(2) kdf_id(2) aead_id(2)
	maxConfigCount = 256
)

// Errors, for errors.Is.
var (
	// ErrMalformed: an encoding error in a key configuration or message.
	ErrMalformed = errors.New("ohttp: malformed")
	// ErrKey: the request names a key, KEM or algorithm pair the gateway
	// does not have (RFC 9458 §5.3: the client's configuration is outdated).
	ErrKey = errors.New("ohttp: unknown key configuration")
	// ErrOpen: decryption failed (tampered, or sealed to another key).
	ErrOpen = errors.New("ohttp: cannot open")
	// ErrUnsupported: no algorithm pair of a configuration is supported.
	ErrUnsupported = errors.New("ohttp: unsupported algorithms")
)

// Algorithms is one HPKE symmetric algorithm pair of a key configuration.
type Algorithms struct {
	KDF  hpke.KDF
	AEAD hpke.AEAD
}

func (a Algorithms) supported() bool {
	switch a.AEAD {
	case hpke.AEAD_AES128GCM, hpke.AEAD_AES256GCM, hpke.AEAD_ChaCha20Poly1305:
		return a.KDF.IsValid()
	}
	return false // includes the export-only AEAD 0xFFFF
}

// KeyConfig is a gateway's public key configuration (RFC 9458 §3.1).
type KeyConfig struct {
	ID         uint8
	KEM        hpke.KEM
	PublicKey  []byte // Npk bytes, the KEM's serialization
	Algorithms []Algorithms
}

// MarshalBinary encodes c (RFC 9458 §3.1).
func (c KeyConfig) MarshalBinary() ([]byte, error) {
	if !c.KEM.IsValid() {
		return nil, fmt.Errorf("%w: KEM %#04x", ErrUnsupported, uint16(c.KEM))
	}
	if len(c.PublicKey) != c.KEM.Scheme().PublicKeySize() {
		return nil, fmt.Errorf("%w: public key of %d bytes for KEM %#04x", ErrMalformed, len(c.PublicKey), uint16(c.KEM))
	}
	if n := len(c.Algorithms); n == 0 || n > 65532/4 {
		return nil, fmt.Errorf("%w: %d algorithm pairs", ErrMalformed, n)
	}
	b := []byte{c.ID}
	b = binary.BigEndian.AppendUint16(b, uint16(c.KEM))
	b = append(b, c.PublicKey...)
	b = binary.BigEndian.AppendUint16(b, uint16(4*len(c.Algorithms)))
	for _, a := range c.Algorithms {
		b = binary.BigEndian.AppendUint16(b, uint16(a.KDF))
		b = binary.BigEndian.AppendUint16(b, uint16(a.AEAD))
	}
	return b, nil
}

// ParseKeyConfig decodes one key configuration, which must fill b. A KEM
// circl does not know cannot be parsed (its key length is unknown):
// ErrUnsupported. The public key must be a valid key of its KEM.
func ParseKeyConfig(b []byte) (KeyConfig, error) {
	if len(b) < 3 {
		return KeyConfig{}, fmt.Errorf("%w: key configuration of %d bytes", ErrMalformed, len(b))
	}
	c := KeyConfig{ID: b[0], KEM: hpke.KEM(binary.BigEndian.Uint16(b[1:]))}
	if !c.KEM.IsValid() {
		return KeyConfig{}, fmt.Errorf("%w: KEM %#04x", ErrUnsupported, uint16(c.KEM))
	}
	npk := c.KEM.Scheme().PublicKeySize()
	rest := b[3:]
	if len(rest) < npk+2 {
		return KeyConfig{}, fmt.Errorf("%w: key configuration truncated", ErrMalformed)
	}
	c.PublicKey = append([]byte(nil), rest[:npk]...)
	if _, err := c.KEM.Scheme().UnmarshalBinaryPublicKey(c.PublicKey); err != nil {
		return KeyConfig{}, fmt.Errorf("%w: public key: %v", ErrMalformed, err)
	}
	rest = rest[npk:]
	n := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if n < 4 || n%4 != 0 || n != len(rest) {
		return KeyConfig{}, fmt.Errorf("%w: algorithms length %d with %d bytes left", ErrMalformed, n, len(rest))
	}
	for i := 0; i < n; i += 4 {
		c.Algorithms = append(c.Algorithms, Algorithms{
			KDF:  hpke.KDF(binary.BigEndian.Uint16(rest[i:])),
			AEAD: hpke.AEAD(binary.BigEndian.Uint16(rest[i+2:])),
		})
	}
	return c, nil
}

// MarshalKeyConfigs encodes an application/ohttp-keys list (RFC 9458
// §3.2): each configuration prefixed with its 2-byte length.
func MarshalKeyConfigs(cs []KeyConfig) ([]byte, error) {
	var b []byte
	for _, c := range cs {
		enc, err := c.MarshalBinary()
		if err != nil {
			return nil, err
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(enc)))
		b = append(b, enc...)
	}
	return b, nil
}

// ParseKeyConfigs decodes an application/ohttp-keys list. Any encoding
// error discards the whole list (RFC 9458 §3.2: clients MUST discard
// incorrectly encoded collections, so that recovery cannot segregate
// them); configurations with a KEM circl does not know are skipped, since
// the length prefix delimits them. An empty list, or one with no usable
// configuration, is an error.
func ParseKeyConfigs(b []byte) ([]KeyConfig, error) {
	var cs []KeyConfig
	for count := 0; len(b) > 0; count++ {
		if len(b) < 2 || count >= maxConfigCount {
			return nil, fmt.Errorf("%w: key configuration list", ErrMalformed)
		}
		n := int(binary.BigEndian.Uint16(b))
		if n > len(b)-2 {
			return nil, fmt.Errorf("%w: key configuration of %d bytes with %d left", ErrMalformed, n, len(b)-2)
		}
		c, err := ParseKeyConfig(b[2 : 2+n])
		switch {
		case errors.Is(err, ErrUnsupported):
		case err != nil:
			return nil, err
		default:
			cs = append(cs, c)
		}
		b = b[2+n:]
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%w: no usable key configuration", ErrUnsupported)
	}
	return cs, nil
}

// header is the encapsulated request's first 7 bytes.
type header struct {
	keyID uint8
	kem   hpke.KEM
	alg   Algorithms
}

func (h header) append(b []byte) []byte {
	b = append(b, h.keyID)
	b = binary.BigEndian.AppendUint16(b, uint16(h.kem))
	b = binary.BigEndian.AppendUint16(b, uint16(h.alg.KDF))
	return binary.BigEndian.AppendUint16(b, uint16(h.alg.AEAD))
}

// info is "message/bhttp request" ‖ 0x00 ‖ header (RFC 9458 §4.3 step 2).
func (h header) info() []byte {
	return h.append(append([]byte(requestInfo), 0))
}

// Exporter is what response encapsulation needs of an HPKE context.
type exporter interface {
	Export(exporterContext []byte, length uint) []byte
}

// responseKeys derives the response AEAD and its nonce (RFC 9458 §4.4).
func responseKeys(ctx exporter, alg Algorithms, enc, responseNonce []byte) (aeadKey, aeadNonce []byte) {
	nk, nn := alg.AEAD.KeySize(), alg.AEAD.NonceSize()
	secret := ctx.Export([]byte(responseLabel), max(nn, nk))
	salt := append(append([]byte(nil), enc...), responseNonce...)
	prk := alg.KDF.Extract(secret, salt)
	return alg.KDF.Expand(prk, []byte("key"), nk), alg.KDF.Expand(prk, []byte("nonce"), nn)
}

// ClientContext is what a client keeps of one request to open its response.
type ClientContext struct {
	enc []byte
	alg Algorithms
	ctx exporter
}

// EncapsulateRequest seals a Binary HTTP request to c with the first of
// its algorithm pairs this package supports, using a fresh HPKE context
// (RFC 9458 §4.3; rnd nil means crypto/rand). It returns the
// message/ohttp-req body and the context to open the response with.
func EncapsulateRequest(c KeyConfig, request []byte, rnd io.Reader) ([]byte, *ClientContext, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if !c.KEM.IsValid() {
		return nil, nil, fmt.Errorf("%w: KEM %#04x", ErrUnsupported, uint16(c.KEM))
	}
	var alg Algorithms
	found := false
	for _, a := range c.Algorithms {
		if a.supported() {
			alg, found = a, true
			break
		}
	}
	if !found {
		return nil, nil, ErrUnsupported
	}
	pk, err := c.KEM.Scheme().UnmarshalBinaryPublicKey(c.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: public key: %v", ErrMalformed, err)
	}
	h := header{keyID: c.ID, kem: c.KEM, alg: alg}
	sender, err := hpke.NewSuite(c.KEM, alg.KDF, alg.AEAD).NewSender(pk, h.info())
	if err != nil {
		return nil, nil, err
	}
	enc, sealer, err := sender.Setup(rnd)
	if err != nil {
		return nil, nil, err
	}
	out, err := sealRequest(h, enc, sealer, request)
	if err != nil {
		return nil, nil, err
	}
	return out, &ClientContext{enc: enc, alg: alg, ctx: sealer}, nil
}

// sealRequest is hdr ‖ enc ‖ Seal("", request) (RFC 9458 §4.3 step 5).
func sealRequest(h header, enc []byte, s hpke.Sealer, request []byte) ([]byte, error) {
	ct, err := s.Seal(request, nil)
	if err != nil {
		return nil, err
	}
	out := h.append(make([]byte, 0, headerLen+len(enc)+len(ct)))
	return append(append(out, enc...), ct...), nil
}

// DecapsulateResponse opens a message/ohttp-res body.
func (c *ClientContext) DecapsulateResponse(encResponse []byte) ([]byte, error) {
	n := int(max(c.alg.AEAD.NonceSize(), c.alg.AEAD.KeySize()))
	if len(encResponse) < n {
		return nil, fmt.Errorf("%w: response of %d bytes", ErrMalformed, len(encResponse))
	}
	key, nonce := responseKeys(c.ctx, c.alg, c.enc, encResponse[:n])
	aead, err := c.alg.AEAD.New(key)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce, encResponse[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("%w: response", ErrOpen)
	}
	return pt, nil
}

// KeyPair is a gateway key: its public configuration and private key.
type KeyPair struct {
	Config KeyConfig
	sk     kem.PrivateKey
}

// DefaultAlgorithms is the pair GenerateKeyPair advertises.
var DefaultAlgorithms = Algorithms{KDF: hpke.KDF_HKDF_SHA256, AEAD: hpke.AEAD_AES128GCM}

// GenerateKeyPair makes a DHKEM(X25519, HKDF-SHA256) key with id,
// advertising HKDF-SHA256 with AES-128-GCM (rnd nil means crypto/rand).
func GenerateKeyPair(id uint8, rnd io.Reader) (*KeyPair, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	scheme := hpke.KEM_X25519_HKDF_SHA256.Scheme()
	seed := make([]byte, scheme.SeedSize())
	if _, err := io.ReadFull(rnd, seed); err != nil {
		return nil, err
	}
	_, sk := scheme.DeriveKeyPair(seed)
	priv, err := sk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return NewKeyPair(id, hpke.KEM_X25519_HKDF_SHA256, priv, []Algorithms{DefaultAlgorithms})
}

// NewKeyPair makes a key pair from a private key in kem's serialization
// (as MarshalPrivateKey returns it) and the algorithm pairs to accept.
func NewKeyPair(id uint8, k hpke.KEM, private []byte, algs []Algorithms) (*KeyPair, error) {
	if !k.IsValid() {
		return nil, fmt.Errorf("%w: KEM %#04x", ErrUnsupported, uint16(k))
	}
	sk, err := k.Scheme().UnmarshalBinaryPrivateKey(private)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %v", ErrMalformed, err)
	}
	pub, err := sk.Public().MarshalBinary()
	if err != nil {
		return nil, err
	}
	if len(algs) == 0 {
		return nil, fmt.Errorf("%w: no algorithm pairs", ErrMalformed)
	}
	for _, a := range algs {
		if !a.supported() {
			return nil, fmt.Errorf("%w: KDF %#04x AEAD %#04x", ErrUnsupported, uint16(a.KDF), uint16(a.AEAD))
		}
	}
	return &KeyPair{Config: KeyConfig{ID: id, KEM: k, PublicKey: pub, Algorithms: append([]Algorithms(nil), algs...)}, sk: sk}, nil
}

// MarshalPrivateKey returns the private key's serialization.
func (k *KeyPair) MarshalPrivateKey() ([]byte, error) { return k.sk.MarshalBinary() }

// Gateway opens encapsulated requests sealed to any of its keys.
type Gateway struct {
	keys map[uint8]*KeyPair
}

// NewGateway returns a gateway for keys, whose ids must differ.
func NewGateway(keys ...*KeyPair) (*Gateway, error) {
	g := &Gateway{keys: make(map[uint8]*KeyPair, len(keys))}
	for _, k := range keys {
		if _, dup := g.keys[k.Config.ID]; dup {
			return nil, fmt.Errorf("ohttp: two gateway keys with id %d", k.Config.ID)
		}
		g.keys[k.Config.ID] = k
	}
	return g, nil
}

// KeyConfigs returns the application/ohttp-keys body for the gateway's keys.
func (g *Gateway) KeyConfigs() ([]byte, error) {
	cs := make([]KeyConfig, 0, len(g.keys))
	for id := range 256 {
		if k, ok := g.keys[uint8(id)]; ok {
			cs = append(cs, k.Config)
		}
	}
	return MarshalKeyConfigs(cs)
}

// ServerContext is what a gateway keeps of one request to seal its response.
type ServerContext struct {
	enc []byte
	alg Algorithms
	ctx exporter
}

// DecapsulateRequest opens a message/ohttp-req body (RFC 9458 §4.3) and
// returns the Binary HTTP request and the context to seal the response
// with. Errors wrap ErrMalformed, ErrKey or ErrOpen.
func (g *Gateway) DecapsulateRequest(encRequest []byte) ([]byte, *ServerContext, error) {
	if len(encRequest) < headerLen {
		return nil, nil, fmt.Errorf("%w: request of %d bytes", ErrMalformed, len(encRequest))
	}
	h := header{
		keyID: encRequest[0],
		kem:   hpke.KEM(binary.BigEndian.Uint16(encRequest[1:])),
		alg: Algorithms{
			KDF:  hpke.KDF(binary.BigEndian.Uint16(encRequest[3:])),
			AEAD: hpke.AEAD(binary.BigEndian.Uint16(encRequest[5:])),
		},
	}
	k, ok := g.keys[h.keyID]
	if !ok {
		return nil, nil, fmt.Errorf("%w: key id %d", ErrKey, h.keyID)
	}
	if h.kem != k.Config.KEM {
		return nil, nil, fmt.Errorf("%w: KEM %#04x for key %d", ErrKey, uint16(h.kem), h.keyID)
	}
	accepted := false
	for _, a := range k.Config.Algorithms {
		accepted = accepted || a == h.alg
	}
	if !accepted {
		return nil, nil, fmt.Errorf("%w: KDF %#04x AEAD %#04x for key %d", ErrKey, uint16(h.alg.KDF), uint16(h.alg.AEAD), h.keyID)
	}
	nenc := h.kem.Scheme().CiphertextSize()
	rest := encRequest[headerLen:]
	if len(rest) < nenc {
		return nil, nil, fmt.Errorf("%w: request truncated", ErrMalformed)
	}
	enc, ct := rest[:nenc:nenc], rest[nenc:]
	receiver, err := hpke.NewSuite(h.kem, h.alg.KDF, h.alg.AEAD).NewReceiver(k.sk, h.info())
	if err != nil {
		return nil, nil, err
	}
	opener, err := receiver.Setup(enc)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrOpen, err)
	}
	pt, err := opener.Open(ct, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: request", ErrOpen)
	}
	return pt, &ServerContext{enc: append([]byte(nil), enc...), alg: h.alg, ctx: opener}, nil
}

// EncapsulateResponse seals a Binary HTTP response to the request's
// client (RFC 9458 §4.4; rnd, for the response nonce, nil means
// crypto/rand) and returns the message/ohttp-res body.
func (s *ServerContext) EncapsulateResponse(response []byte, rnd io.Reader) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	nonce := make([]byte, max(s.alg.AEAD.NonceSize(), s.alg.AEAD.KeySize()))
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, err
	}
	key, aeadNonce := responseKeys(s.ctx, s.alg, s.enc, nonce)
	aead, err := s.alg.AEAD.New(key)
	if err != nil {
		return nil, err
	}
	return aead.Seal(nonce, aeadNonce, response, nil), nil
}
