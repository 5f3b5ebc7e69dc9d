package aggregator

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
)

// Private keys at rest. The store holds the HPKE private keys, the
// campaign signing seed and the OHTTP gateway key; with
// Config.KeyEncryptionKey set, they are sealed with AES-256-GCM under that
// key before they reach the store, the associated data naming what each
// is ("hpke-key/3"), so a copy of the database (a backup, a replica) does
// not open reports or sign campaigns, and a sealed value cannot be moved
// to another row. Every node of a deployment needs the same key. Without
// it, keys are stored in the clear (the serve command refuses that unless
// told --insecure-plaintext-keys).
//
// A store written in the clear (by an older version, or without a key) is
// sealed in one transaction the first time a node starts with a key
// (sealAtRest), which then stores a sealed marker: from then on a value in
// the clear is refused, so whoever can write the database cannot slip in
// a private key of their own.

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

// open reverses seal. With a key encryption key, a value in the clear is
// refused: sealAtRest has sealed every one the store had.
func (k *keyWrapper) open(label string, stored []byte) ([]byte, error) {
	rest, sealed := bytes.CutPrefix(stored, []byte(sealedPrefix))
	switch {
	case !sealed && k.aead == nil:
		return stored, nil
	case !sealed:
		return nil, fmt.Errorf("%w: %s is stored in the clear in a store whose keys are sealed", ErrKeyEncryption, label)
	case k.aead == nil:
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

// sealedMarker names the secret whose presence says the store's private
// keys are sealed; its value is its name, sealed.
const sealedMarker = "keys-sealed-v1"

// sealAtRest seals the private keys a store holds in the clear, once, in
// one transaction, and checks that every sealed one opens with this key
// encryption key, before anything else reads them; then it stores the
// marker. Nodes starting together on an old store may both seal: the rows
// are locked, and the second finds them sealed.
func (s *Server) sealAtRest(ctx context.Context) error {
	if s.wrap.aead == nil {
		return nil
	}
	marked := false
	var clear []string
	check := func(label string, v []byte) ([]byte, error) {
		if !bytes.HasPrefix(v, []byte(sealedPrefix)) {
			clear = append(clear, label)
			return nil, nil
		}
		_, err := s.wrap.open(label, v)
		return nil, err
	}
	err := s.store.Rewrap(ctx, func(id uint8, v []byte) ([]byte, error) { return check(hpkeLabel(id), v) },
		func(name string, v []byte) ([]byte, error) {
			marked = marked || name == sealedMarker
			return check(name, v)
		})
	switch {
	case err != nil:
		return err
	case len(clear) > 0 && marked:
		return fmt.Errorf("%w: %s stored in the clear in a store whose keys are sealed; someone wrote it without the key encryption key", ErrKeyEncryption, strings.Join(clear, ", "))
	case len(clear) > 0:
		seal := func(label string, v []byte) ([]byte, error) {
			if bytes.HasPrefix(v, []byte(sealedPrefix)) {
				return nil, nil
			}
			return s.wrap.seal(label, v)
		}
		if err := s.store.Rewrap(ctx, func(id uint8, v []byte) ([]byte, error) { return seal(hpkeLabel(id), v) }, seal); err != nil {
			return err
		}
		s.log.Info("sealed the private keys stored in the clear", "keys", strings.Join(clear, ", "))
	}
	marker, err := s.wrap.seal(sealedMarker, []byte(sealedMarker))
	if err != nil {
		return err
	}
	stored, err := s.store.Secret(ctx, sealedMarker, marker)
	if err != nil {
		return err
	}
	_, err = s.wrap.open(sealedMarker, stored)
	return err
}
