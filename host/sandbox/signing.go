package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/wisp-project/wisp/sdk/abi"
)

// signedManifest is the signed file: the manifest's exact bytes (kept
// verbatim by json.RawMessage, so no canonical JSON is needed) and the
// author's signature over them.
type signedManifest struct {
	Manifest  json.RawMessage `json:"manifest"`
	Signature *signatureJSON  `json:"signature"`
}

type signatureJSON struct {
	Alg SigAlg `json:"alg"`
	Sig string `json:"sig"`
}

// signingContext separates manifest signatures from anything else an
// author's key might sign.
const signingContext = "wisp plugin manifest v1\n"

// SignManifest binds m to wasm (setting WasmSHA256, ABI and Author) and
// returns the signed manifest file.
func SignManifest(m Manifest, wasm []byte, key PrivateKey) ([]byte, error) {
	if !key.alg.IsValid() {
		return nil, fmt.Errorf("%w: no signing key", ErrBadKey)
	}
	m.WasmSHA256 = sha256.Sum256(wasm)
	m.ABI = m.abi()
	m.Author = key.Public()
	j, err := m.wire()
	if err != nil {
		return nil, err
	}
	body, err := json.MarshalIndent(j, "  ", "  ")
	if err != nil {
		return nil, err
	}
	sig, err := json.Marshal(signatureJSON{Alg: key.alg, Sig: base64.StdEncoding.EncodeToString(key.sign(append([]byte(signingContext), body...)))})
	if err != nil {
		return nil, err
	}
	// Written by hand, not by an encoder, so the signed bytes appear in the
	// file exactly as signed (encoders re-indent embedded JSON).
	var out bytes.Buffer
	out.WriteString("{\n  \"manifest\": ")
	out.Write(body)
	out.WriteString(",\n  \"signature\": ")
	out.Write(sig)
	out.WriteString("\n}\n")
	return out.Bytes(), nil
}

// VerifyManifest checks a signed manifest file against the trust store and
// returns the manifest. Every refusal wraps ErrRefused and one reason:
// ErrUnsigned, ErrBadManifest, ErrUnknownAuthor, ErrBadSignature or
// ErrWrongABI. It does not see the module; LoadSigned also checks the
// digest.
func VerifyManifest(signed []byte, trust *TrustStore) (Manifest, error) {
	m, err := verifyManifest(signed, trust)
	if err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return m, nil
}

func verifyManifest(signed []byte, trust *TrustStore) (Manifest, error) {
	if len(signed) > 2*maxManifestBytes {
		return Manifest{}, fmt.Errorf("%w: %d bytes", ErrBadManifest, len(signed))
	}
	var s signedManifest
	dec := json.NewDecoder(bytes.NewReader(signed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		// A bare manifest has fields the envelope does not know.
		if _, perr := ParseManifest(signed); perr == nil {
			return Manifest{}, fmt.Errorf("%w: a bare manifest, with no signature envelope", ErrUnsigned)
		}
		return Manifest{}, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if len(s.Manifest) == 0 {
		return Manifest{}, fmt.Errorf("%w: no manifest in the envelope", ErrBadManifest)
	}
	m, err := ParseManifest(s.Manifest)
	if err != nil {
		return Manifest{}, err
	}
	if s.Signature == nil || s.Signature.Sig == "" || m.Author.IsZero() {
		return Manifest{}, fmt.Errorf("%w: plugin %q", ErrUnsigned, m.Name)
	}
	if !trust.Trusts(m.Author) {
		return Manifest{}, fmt.Errorf("%w: plugin %q signed by %s", ErrUnknownAuthor, m.Name, truncate(m.Author.String(), 60))
	}
	sig, err := base64.StdEncoding.DecodeString(s.Signature.Sig)
	if err != nil || s.Signature.Alg != m.Author.alg ||
		!m.Author.verify(append([]byte(signingContext), s.Manifest...), sig) {
		return Manifest{}, fmt.Errorf("%w: plugin %q", ErrBadSignature, m.Name)
	}
	if m.ABI != abi.Version {
		return Manifest{}, fmt.Errorf("%w: plugin %q declares ABI v%d, this host speaks v%d", ErrWrongABI, m.Name, m.ABI, abi.Version)
	}
	return m, nil
}

// checkDigest refuses a module whose SHA-256, got, is not the one m names.
func checkDigest(m Manifest, got [sha256.Size]byte) error {
	if m.WasmSHA256 == ([32]byte{}) {
		return fmt.Errorf("%w: %w: manifest has no wasm_sha256", ErrRefused, ErrDigestMismatch)
	}
	if got != m.WasmSHA256 {
		return fmt.Errorf("%w: %w: module sha256 %x, manifest says %x", ErrRefused, ErrDigestMismatch, got[:8], m.WasmSHA256[:8])
	}
	return nil
}
