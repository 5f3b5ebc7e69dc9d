package privpass

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"testing"
)

// vector is one test vector of RFC 9578 Appendix A.2 (token type 2), all
// fields hex as in the RFC; skS is a PEM PKCS#8 key.
type vector struct {
	SkS            string `json:"skS"`
	PkS            string `json:"pkS"`
	TokenChallenge string `json:"token_challenge"`
	Nonce          string `json:"nonce"`
	Blind          string `json:"blind"`
	Salt           string `json:"salt"`
	TokenRequest   string `json:"token_request"`
	TokenResponse  string `json:"token_response"`
	Token          string `json:"token"`
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc9578_type2.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 5 {
		t.Fatalf("%d vectors, RFC 9578 A.2 has 5", len(vs))
	}
	return vs
}

func vectorKey(t testing.TB, v vector) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(unhex(t, v.SkS))
	if block == nil {
		t.Fatal("skS is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

// TestVectors reproduces every RFC 9578 type-2 vector byte for byte: the
// key's SPKI, the challenge's decoding, the request (from the vector's
// nonce, salt and blind), the issuer's response, the token, and its
// verification.
func TestVectors(t *testing.T) {
	for i, v := range loadVectors(t) {
		sk := vectorKey(t, v)
		pk, err := NewPublicKey(&sk.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pk.Bytes(), unhex(t, v.PkS)) {
			t.Fatalf("vector %d: pkS differs:\n got %x\nwant %s", i+1, pk.Bytes(), v.PkS)
		}
		parsed, err := ParsePublicKey(unhex(t, v.PkS))
		if err != nil || parsed.ID() != pk.ID() {
			t.Fatalf("vector %d: ParsePublicKey: %v", i+1, err)
		}
		challenge := unhex(t, v.TokenChallenge)
		c, err := ParseChallenge(challenge)
		if err != nil {
			t.Fatalf("vector %d: %v", i+1, err)
		}
		if again, _ := c.Marshal(); !bytes.Equal(again, challenge) {
			t.Fatalf("vector %d: challenge does not re-encode", i+1)
		}
		random := bytes.NewReader(bytes.Join([][]byte{unhex(t, v.Nonce), unhex(t, v.Salt), unhex(t, v.Blind)}, nil))
		req, pending, err := begin(random, pk, challenge)
		if err != nil {
			t.Fatal(err)
		}
		if got := req.Marshal(); !bytes.Equal(got, unhex(t, v.TokenRequest)) {
			t.Fatalf("vector %d: token_request differs:\n got %x\nwant %s", i+1, got, v.TokenRequest)
		}
		if back, err := ParseTokenRequest(unhex(t, v.TokenRequest)); err != nil || back != req {
			t.Fatalf("vector %d: ParseTokenRequest: %v", i+1, err)
		}
		iss, err := NewIssuer(sk)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := iss.Evaluate(req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.BlindSig[:], unhex(t, v.TokenResponse)) {
			t.Fatalf("vector %d: token_response differs", i+1)
		}
		tok, err := pending.Finalize(resp)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Marshal(); !bytes.Equal(got, unhex(t, v.Token)) {
			t.Fatalf("vector %d: token differs:\n got %x\nwant %s", i+1, got, v.Token)
		}
		back, err := ParseToken(unhex(t, v.Token))
		if err != nil || back != tok {
			t.Fatalf("vector %d: ParseToken: %v", i+1, err)
		}
		if err := Verify(pk, &back, challenge); err != nil {
			t.Fatalf("vector %d: %v", i+1, err)
		}
	}
}
