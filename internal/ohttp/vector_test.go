package ohttp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/cloudflare/circl/hpke"

	"github.com/wisp-project/wisp/internal/bhttp"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 9458 Appendix A, every value as printed there.
const (
	vecSkR       = "3c168975674b2fa8e465970b79c8dcf09f1c741626480bd4c6162fc5b6a98e1a"
	vecConfig    = "01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e 79815500080001000100010003"
	vecRequest   = "00034745540568747470730b6578616d706c652e636f6d012f"
	vecSkE       = "bc51d5e930bda26589890ac7032f70ad12e4ecb37abb1b65b1256c9c48999c73"
	vecPkE       = "4b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad19dec96c208b472"
	vecInfo      = "6d6573736167652f626874747020726571756573740001002000010001"
	vecEncReq    = "010020000100014b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad1 9dec96c208b4726374e469135906992e1268c594d2a10c695d858c40a026e796 5e7d86b83dd440b2c0185204b4d63525"
	vecResponse  = "0140c8"
	vecSecret    = "62d87a6ba569ee81014c2641f52bea36"
	vecSalt      = "4b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad19dec96c208b472 c789e7151fcba46158ca84b04464910d"
	vecPRK       = "979aaeae066cf211ab407b31ae49767f344e1501e475c84e8aff547cc5a683db"
	vecAEADKey   = "5d0172a080e428b16d298c4ea0db620d"
	vecAEADNonce = "f6bf1aeb88d6df87007fa263"
	vecEncRes    = "c789e7151fcba46158ca84b04464910d86f9013e404feea014e7be4a441f234f 857fbd"
)

func TestRFC9458AppendixA(t *testing.T) {
	algs := []Algorithms{
		{hpke.KDF_HKDF_SHA256, hpke.AEAD_AES128GCM},
		{hpke.KDF_HKDF_SHA256, hpke.AEAD_ChaCha20Poly1305},
	}
	// The gateway's key configuration, from its secret key.
	kp, err := NewKeyPair(1, hpke.KEM_X25519_HKDF_SHA256, unhex(t, vecSkR), algs)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := kp.Config.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, vecConfig); !bytes.Equal(cfg, want) {
		t.Fatalf("key config\n%x\nwant\n%x", cfg, want)
	}
	parsed, err := ParseKeyConfig(cfg)
	if err != nil || parsed.ID != 1 || parsed.KEM != hpke.KEM_X25519_HKDF_SHA256 || len(parsed.Algorithms) != 2 || parsed.Algorithms[1] != algs[1] {
		t.Fatalf("parsed %+v, %v", parsed, err)
	}

	// The client's ephemeral key is the enc of the request, and the info
	// parameter is the one printed.
	skE, err := hpke.KEM_X25519_HKDF_SHA256.Scheme().UnmarshalBinaryPrivateKey(unhex(t, vecSkE))
	if err != nil {
		t.Fatal(err)
	}
	pkE, _ := skE.Public().MarshalBinary()
	if !bytes.Equal(pkE, unhex(t, vecPkE)) {
		t.Fatalf("pkE %x", pkE)
	}
	h := header{keyID: 1, kem: hpke.KEM_X25519_HKDF_SHA256, alg: algs[0]}
	if got := h.info(); !bytes.Equal(got, unhex(t, vecInfo)) {
		t.Fatalf("info %x", got)
	}

	// The gateway opens the printed Encapsulated Request to the printed
	// Binary HTTP request.
	g, err := NewGateway(kp)
	if err != nil {
		t.Fatal(err)
	}
	encReq := unhex(t, vecEncReq)
	req, sctx, err := g.DecapsulateRequest(encReq)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(req, unhex(t, vecRequest)) {
		t.Fatalf("request %x", req)
	}
	if r, err := bhttp.UnmarshalRequest(req); err != nil || r.Method != "GET" || r.Authority != "example.com" {
		t.Fatalf("bhttp %+v, %v", r, err)
	}

	// The client side seals the same bytes. circl derives the ephemeral key
	// from a seed, so the printed skE cannot be fed to its Sender; but base
	// mode gives sender and receiver the same context (key, base nonce,
	// exporter secret, sequence 0), so the receiver context serialized as a
	// sealer is the client's context, and our framing must reproduce the
	// printed Encapsulated Request byte for byte.
	receiver, _ := hpke.NewSuite(h.kem, h.alg.KDF, h.alg.AEAD).NewReceiver(kp.sk, h.info())
	opener, err := receiver.Setup(pkE)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := opener.MarshalBinary()
	raw[0] = 0 // role: sealer
	sealer, err := hpke.UnmarshalSealer(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sealRequest(h, pkE, sealer, unhex(t, vecRequest))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, encReq) {
		t.Fatalf("encapsulated request\n%x\nwant\n%x", got, encReq)
	}

	// Response: exported secret, salt, prk, key and nonce as printed.
	nonce := unhex(t, vecEncRes)[:16]
	if secret := sctx.ctx.Export([]byte(responseLabel), 16); !bytes.Equal(secret, unhex(t, vecSecret)) {
		t.Fatalf("secret %x", secret)
	}
	salt := append(append([]byte(nil), pkE...), nonce...)
	if !bytes.Equal(salt, unhex(t, vecSalt)) {
		t.Fatalf("salt %x", salt)
	}
	if prk := h.alg.KDF.Extract(unhex(t, vecSecret), salt); !bytes.Equal(prk, unhex(t, vecPRK)) {
		t.Fatalf("prk %x", prk)
	}
	key, aeadNonce := responseKeys(sctx.ctx, h.alg, pkE, nonce)
	if !bytes.Equal(key, unhex(t, vecAEADKey)) || !bytes.Equal(aeadNonce, unhex(t, vecAEADNonce)) {
		t.Fatalf("key %x nonce %x", key, aeadNonce)
	}
	encRes, err := sctx.EncapsulateResponse(unhex(t, vecResponse), bytes.NewReader(nonce))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, vecEncRes); !bytes.Equal(encRes, want) {
		t.Fatalf("encapsulated response\n%x\nwant\n%x", encRes, want)
	}

	// The client opens it with its own context (the sealer's exporter).
	cctx := &ClientContext{enc: pkE, alg: h.alg, ctx: sealer}
	res, err := cctx.DecapsulateResponse(encRes)
	if err != nil || !bytes.Equal(res, unhex(t, vecResponse)) {
		t.Fatalf("response %x, %v", res, err)
	}
	if r, err := bhttp.UnmarshalResponse(res); err != nil || r.Status != 200 {
		t.Fatalf("bhttp %+v, %v", r, err)
	}

	// Any flipped bit of either message fails to open.
	for i := range encReq {
		bad := append([]byte(nil), encReq...)
		bad[i] ^= 0x01
		if _, _, err := g.DecapsulateRequest(bad); err == nil {
			t.Fatalf("request with byte %d flipped opened", i)
		}
	}
	for i := range encRes {
		bad := append([]byte(nil), encRes...)
		bad[i] ^= 0x80
		if _, err := cctx.DecapsulateResponse(bad); !errors.Is(err, ErrOpen) {
			t.Fatalf("response with byte %d flipped: %v", i, err)
		}
	}
}
