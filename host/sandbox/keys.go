package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/cloudflare/circl/sign"
	"github.com/cloudflare/circl/sign/ed25519"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
)

// SigAlg names a manifest signature algorithm.
type SigAlg string

const (
	// Ed25519 (RFC 8032) signatures, 64 bytes.
	Ed25519 SigAlg = "ed25519"
	// Ed25519MLDSA65 is a hybrid: an Ed25519 and an ML-DSA-65 (FIPS 204)
	// signature over the same message, both required, so a forger must
	// break both — the classical one today, the post-quantum one later.
	Ed25519MLDSA65 SigAlg = "ed25519+mldsa65"
)

// IsValid reports whether a is an algorithm this host verifies.
func (a SigAlg) IsValid() bool { return a == Ed25519 || a == Ed25519MLDSA65 }

func (a SigAlg) schemes() []sign.Scheme {
	switch a {
	case Ed25519:
		return []sign.Scheme{ed25519.Scheme()}
	case Ed25519MLDSA65:
		return []sign.Scheme{ed25519.Scheme(), mldsa65.Scheme()}
	}
	return nil
}

// PublicKey is a plugin author's verification key. Its text form,
// "alg:base64", is what manifests and trust stores hold. The zero value
// means "no key".
type PublicKey struct {
	alg SigAlg
	raw string // concatenated public keys of alg's schemes
}

// PrivateKey is a plugin author's signing key: the seeds of alg's schemes.
type PrivateKey struct {
	alg   SigAlg
	seeds []byte
}

// GenerateKey makes a new author key pair; rand nil means crypto/rand.
func GenerateKey(alg SigAlg, r io.Reader) (PrivateKey, error) {
	if !alg.IsValid() {
		return PrivateKey{}, fmt.Errorf("%w: algorithm %q", ErrBadKey, alg)
	}
	if r == nil {
		r = rand.Reader
	}
	var seeds []byte
	for _, s := range alg.schemes() {
		seed := make([]byte, s.SeedSize())
		if _, err := io.ReadFull(r, seed); err != nil {
			return PrivateKey{}, fmt.Errorf("sandbox: generate key: %w", err)
		}
		seeds = append(seeds, seed...)
	}
	return PrivateKey{alg: alg, seeds: seeds}, nil
}

// Alg returns the key's algorithm.
func (k PublicKey) Alg() SigAlg { return k.alg }

// IsZero reports whether k is the zero key.
func (k PublicKey) IsZero() bool { return k.alg == "" }

// Equal reports whether k and o are the same key.
func (k PublicKey) Equal(o PublicKey) bool { return k == o }

// String returns "alg:base64".
func (k PublicKey) String() string {
	if k.IsZero() {
		return ""
	}
	return string(k.alg) + ":" + base64.StdEncoding.EncodeToString([]byte(k.raw))
}

// ParsePublicKey parses the "alg:base64" form.
func ParsePublicKey(s string) (PublicKey, error) {
	alg, b, err := splitKey(s, "")
	if err != nil {
		return PublicKey{}, err
	}
	want := 0
	for _, sc := range alg.schemes() {
		want += sc.PublicKeySize()
	}
	if len(b) != want {
		return PublicKey{}, fmt.Errorf("%w: %s public key is %d bytes, want %d", ErrBadKey, alg, len(b), want)
	}
	k := PublicKey{alg: alg, raw: string(b)}
	if _, err := k.keys(); err != nil {
		return PublicKey{}, err
	}
	return k, nil
}

// privatePrefix marks secret key text so it is never mistaken for a public
// key in a trust store.
const privatePrefix = "secret-"

// String returns "secret-alg:base64" of the seeds. Keep it secret.
func (k PrivateKey) String() string {
	return privatePrefix + string(k.alg) + ":" + base64.StdEncoding.EncodeToString(k.seeds)
}

// ParsePrivateKey parses PrivateKey.String's form.
func ParsePrivateKey(s string) (PrivateKey, error) {
	alg, b, err := splitKey(strings.TrimSpace(s), privatePrefix)
	if err != nil {
		return PrivateKey{}, err
	}
	want := 0
	for _, sc := range alg.schemes() {
		want += sc.SeedSize()
	}
	if len(b) != want {
		return PrivateKey{}, fmt.Errorf("%w: %s private key is %d bytes, want %d", ErrBadKey, alg, len(b), want)
	}
	return PrivateKey{alg: alg, seeds: b}, nil
}

func splitKey(s, prefix string) (SigAlg, []byte, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, prefix) {
		return "", nil, fmt.Errorf("%w: want %q prefix", ErrBadKey, prefix)
	}
	alg, enc, ok := strings.Cut(strings.TrimPrefix(s, prefix), ":")
	if !ok || !SigAlg(alg).IsValid() {
		return "", nil, fmt.Errorf("%w: %q is not alg:base64 with a known alg", ErrBadKey, truncate(s, 40))
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return SigAlg(alg), b, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Public returns the key that verifies k's signatures.
func (k PrivateKey) Public() PublicKey {
	var raw bytes.Buffer
	seeds := k.seeds
	for _, sc := range k.alg.schemes() {
		pub, _ := sc.DeriveKey(seeds[:sc.SeedSize()])
		seeds = seeds[sc.SeedSize():]
		b, _ := pub.MarshalBinary()
		raw.Write(b)
	}
	return PublicKey{alg: k.alg, raw: raw.String()}
}

func (k PublicKey) keys() ([]sign.PublicKey, error) {
	raw := []byte(k.raw)
	var out []sign.PublicKey
	for _, sc := range k.alg.schemes() {
		pk, err := sc.UnmarshalBinaryPublicKey(raw[:sc.PublicKeySize()])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
		}
		raw = raw[sc.PublicKeySize():]
		out = append(out, pk)
	}
	return out, nil
}

// sign signs msg with every scheme of k's algorithm, concatenating the
// signatures.
func (k PrivateKey) sign(msg []byte) []byte {
	var sig []byte
	seeds := k.seeds
	for _, sc := range k.alg.schemes() {
		_, sk := sc.DeriveKey(seeds[:sc.SeedSize()])
		seeds = seeds[sc.SeedSize():]
		sig = append(sig, sc.Sign(sk, msg, nil)...)
	}
	return sig
}

// verify checks every component signature; all must verify.
func (k PublicKey) verify(msg, sig []byte) bool {
	pks, err := k.keys()
	if err != nil {
		return false
	}
	for i, sc := range k.alg.schemes() {
		if len(sig) < sc.SignatureSize() || !sc.Verify(pks[i], msg, sig[:sc.SignatureSize()], nil) {
			return false
		}
		sig = sig[sc.SignatureSize():]
	}
	return len(sig) == 0
}
