package aggregator

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Private keys at rest. The store holds the HPKE private keys and the
// campaign signing seed; with Config.KeyEncryptionKey set, they are sealed
// with AES-256-GCM under that key before they reach the store, so a copy
// of the database (a backup, a replica) does not open reports or sign
// campaigns. Every node of a deployment needs the same key. Without it,
// keys are stored in the clear (and the store must be protected instead).

// sealedPrefix marks a sealed private key in the store.
const sealedPrefix = "wisp-kek1:"

// ErrKeyEncryption reports a stored key that cannot be unsealed: no key
// encryption key configured, or a different one.
var ErrKeyEncryption = errors.New("aggregator: stored private key cannot be unsealed")

type keyWrapper struct{ aead cipher.AEAD }

func newKeyWrapper(kek []byte) (*keyWrapper, error) {
	if kek == nil {
		return &keyWrapper{}, nil
	}
	if len(kek) != 32 {
		return nil, fmt.Errorf("%w: key encryption key of %d bytes, want 32", ErrConfig, len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &keyWrapper{aead: aead}, nil
}

// seal prepares private for the store; label binds it to its use.
func (k *keyWrapper) seal(label string, private []byte) ([]byte, error) {
	if k.aead == nil {
		return private, nil
	}
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte(sealedPrefix), nonce...)
	return k.aead.Seal(out, nonce, private, []byte(label)), nil
}

// open reverses seal. A key stored in the clear is returned as it is, so
// a deployment can start sealing without rewriting its old keys.
func (k *keyWrapper) open(label string, stored []byte) ([]byte, error) {
	rest, sealed := bytes.CutPrefix(stored, []byte(sealedPrefix))
	if !sealed {
		return stored, nil
	}
	if k.aead == nil {
		return nil, fmt.Errorf("%w: %s is sealed and no key encryption key is configured", ErrKeyEncryption, label)
	}
	n := k.aead.NonceSize()
	if len(rest) < n {
		return nil, fmt.Errorf("%w: %s is truncated", ErrKeyEncryption, label)
	}
	plain, err := k.aead.Open(nil, rest[:n], rest[n:], []byte(label))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: wrong key encryption key", ErrKeyEncryption, label)
	}
	return plain, nil
}

func hpkeLabel(id uint8) string { return fmt.Sprintf("hpke-key/%d", id) }
