package privpass

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"
)

// FuzzDecoders: no decoder panics, and whatever decodes re-encodes to the
// same bytes (one encoding per value).
func FuzzDecoders(f *testing.F) {
	for _, v := range loadVectors(f)[:2] {
		f.Add(unhex(f, v.Token))
		f.Add(unhex(f, v.TokenRequest))
		f.Add(unhex(f, v.TokenChallenge))
		f.Add(unhex(f, v.PkS))
	}
	_, maker, _ := ed25519.GenerateKey(nil)
	cred, key := newDevice(f, maker, "d")
	cb, _ := cred.Marshal()
	f.Add(cb)
	var req TokenRequest
	body, _ := SignIssuance(key, cred, "c", 1, req, time.Unix(0, 0))
	f.Add(body)
	f.Add([]byte{0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		if tok, err := ParseToken(b); err == nil && !bytes.Equal(tok.Marshal(), b) {
			t.Fatal("token does not re-encode")
		}
		if req, err := ParseTokenRequest(b); err == nil && !bytes.Equal(req.Marshal(), b) {
			t.Fatal("token request does not re-encode")
		}
		if c, err := ParseChallenge(b); err == nil {
			if again, err := c.Marshal(); err != nil || !bytes.Equal(again, b) {
				t.Fatal("challenge does not re-encode")
			}
		}
		if k, err := ParsePublicKey(b); err == nil && !bytes.Equal(k.Bytes(), b) {
			t.Fatal("key does not re-encode")
		}
		if c, err := ParseCredential(b); err == nil {
			if again, _ := c.Marshal(); !bytes.Equal(again, b) {
				t.Fatal("credential does not re-encode")
			}
		}
		VerifyIssuance(b, nil, time.Unix(0, 0))
		VerifyKeyRequest(b, nil, time.Unix(0, 0))
	})
}

// FuzzAuthorization: the PrivateToken header and the issuer's key answer
// never panic; a header that decodes carries a token that re-encodes to
// the same header, and a key answer that decodes describes its key again.
func FuzzAuthorization(f *testing.F) {
	v := loadVectors(f)[0]
	tok, err := ParseToken(unhex(f, v.Token))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(AuthorizationHeader(&tok))
	f.Add(`PrivateToken token=`)
	f.Add(`Bearer abc`)
	pk, err := ParsePublicKey(unhex(f, v.PkS))
	if err != nil {
		f.Fatal(err)
	}
	info, _ := json.Marshal(NewKeyInfo("issuer", pk))
	f.Add(string(info))
	f.Fuzz(func(t *testing.T, h string) {
		if tok, ok, err := ParseAuthorization(h); ok && err == nil {
			if again, _, err := ParseAuthorization(AuthorizationHeader(&tok)); err != nil || again != tok {
				t.Fatal("header does not round-trip")
			}
		}
		var ki KeyInfo
		if json.Unmarshal([]byte(h), &ki) == nil {
			if k, err := ki.Key(); err == nil && NewKeyInfo(ki.IssuerName, k) != ki {
				t.Fatal("key info does not round-trip")
			}
		}
	})
}
