package wire

import (
	"fmt"
	"io"

	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
)

// The cipher suite of every v1 report.
const (
	KEM  = hpke.KEM_X25519_HKDF_SHA256
	KDF  = hpke.KDF_HKDF_SHA256
	AEAD = hpke.AEAD_AES128GCM
)

var (
	suite = hpke.NewSuite(KEM, KDF, AEAD)
	info  = []byte("wisp report v1")
)

// KeyConfig is one public HPKE configuration an aggregator advertises.
type KeyConfig struct {
	ID        uint8     `cbor:"1,keyasint" json:"id"`
	KEM       hpke.KEM  `cbor:"2,keyasint" json:"kem"`
	KDF       hpke.KDF  `cbor:"3,keyasint" json:"kdf"`
	AEAD      hpke.AEAD `cbor:"4,keyasint" json:"aead"`
	PublicKey []byte    `cbor:"5,keyasint" json:"public_key"`
}

// KeyConfigList is the body of GET /v1/hpke-config.
type KeyConfigList struct {
	Configs []KeyConfig `cbor:"1,keyasint"`
}

// DecodeKeyConfigList decodes an aggregator's advertised configs.
func DecodeKeyConfigList(b []byte) (KeyConfigList, error) {
	var l KeyConfigList
	if err := decMode.Unmarshal(b, &l); err != nil {
		return KeyConfigList{}, fmt.Errorf("%w: key config list: %v", ErrMalformed, err)
	}
	return l, nil
}

// KeyPair is an aggregator's private key with its public config.
type KeyPair struct {
	Config  KeyConfig
	private kem.PrivateKey
}

// GenerateKeyPair makes a fresh key pair with the given id from rand's bytes
// (crypto/rand.Reader in production; a seeded reader in tests).
func GenerateKeyPair(id uint8, rand io.Reader) (*KeyPair, error) {
	seed := make([]byte, KEM.Scheme().SeedSize())
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, fmt.Errorf("wire: generate key: %w", err)
	}
	pk, sk := KEM.Scheme().DeriveKeyPair(seed)
	return newKeyPair(id, pk, sk)
}

// UnmarshalKeyPair restores a key pair from MarshalPrivateKey's output.
func UnmarshalKeyPair(id uint8, private []byte) (*KeyPair, error) {
	sk, err := KEM.Scheme().UnmarshalBinaryPrivateKey(private)
	if err != nil {
		return nil, fmt.Errorf("wire: private key: %w", err)
	}
	return newKeyPair(id, sk.Public(), sk)
}

func newKeyPair(id uint8, pk kem.PublicKey, sk kem.PrivateKey) (*KeyPair, error) {
	pub, err := pk.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("wire: public key: %w", err)
	}
	return &KeyPair{
		Config:  KeyConfig{ID: id, KEM: KEM, KDF: KDF, AEAD: AEAD, PublicKey: pub},
		private: sk,
	}, nil
}

// MarshalPrivateKey returns the private key's bytes, for the key store.
func (k *KeyPair) MarshalPrivateKey() ([]byte, error) { return k.private.MarshalBinary() }

// Seal encrypts p to cfg and fills e.KeyID, e.Enc and e.Sealed. The caller
// sets e's other clear fields first: they become associated data. The
// payload is padded to size bytes before sealing.
func Seal(cfg KeyConfig, e *Envelope, p Payload, size int, rand io.Reader) error {
	plain, err := encodePayload(p, size)
	if err != nil {
		return err
	}
	e.KeyID = cfg.ID
	enc, sealed, err := seal(cfg, info, e.aad(), plain, rand)
	if err != nil {
		return err
	}
	e.Enc, e.Sealed = enc, sealed
	return nil
}

// seal is one HPKE base-mode seal to cfg under the info string and aad:
// the suite code every sealed thing in Wisp goes through.
func seal(cfg KeyConfig, info, aad, plain []byte, rand io.Reader) (enc, sealed []byte, err error) {
	if cfg.KEM != KEM || cfg.KDF != KDF || cfg.AEAD != AEAD {
		return nil, nil, fmt.Errorf("%w: suite %v/%v/%v", ErrVersion, cfg.KEM, cfg.KDF, cfg.AEAD)
	}
	pk, err := KEM.Scheme().UnmarshalBinaryPublicKey(cfg.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("wire: key config %d: %w", cfg.ID, err)
	}
	sender, err := suite.NewSender(pk, info)
	if err != nil {
		return nil, nil, fmt.Errorf("wire: seal: %w", err)
	}
	enc, sealer, err := sender.Setup(rand)
	if err != nil {
		return nil, nil, fmt.Errorf("wire: seal: %w", err)
	}
	sealed, err = sealer.Seal(plain, aad)
	if err != nil {
		return nil, nil, fmt.Errorf("wire: seal: %w", err)
	}
	return enc, sealed, nil
}

// Open decrypts e with k, which must be the key e names.
func (k *KeyPair) Open(e *Envelope) (Payload, error) {
	if e.KeyID != k.Config.ID {
		return Payload{}, fmt.Errorf("%w: %d", ErrUnknownKey, e.KeyID)
	}
	plain, err := k.open(info, e.Enc, e.Sealed, e.aad())
	if err != nil {
		return Payload{}, err
	}
	return decodePayload(plain)
}

// open is seal's inverse with k's private key.
func (k *KeyPair) open(info, enc, sealed, aad []byte) ([]byte, error) {
	receiver, err := suite.NewReceiver(k.private, info)
	if err != nil {
		return nil, fmt.Errorf("wire: open: %w", err)
	}
	opener, err := receiver.Setup(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: encapsulated key: %v", ErrDecrypt, err)
	}
	plain, err := opener.Open(sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return plain, nil
}
