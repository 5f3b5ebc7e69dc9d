package ohttp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudflare/circl/hpke"

	"github.com/wisp-project/wisp/internal/bhttp"
)

func newGateway(t testing.TB, id uint8) (*KeyPair, *Gateway) {
	t.Helper()
	k, err := GenerateKeyPair(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGateway(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, g
}

func TestRoundTrip(t *testing.T) {
	k, g := newGateway(t, 7)
	for _, msg := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte{1}, 100000)} {
		enc, cctx, err := EncapsulateRequest(k.Config, msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, sctx, err := g.DecapsulateRequest(enc)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("request: %v", err)
		}
		res, err := sctx.EncapsulateResponse(append([]byte("re:"), msg...), nil)
		if err != nil {
			t.Fatal(err)
		}
		back, err := cctx.DecapsulateResponse(res)
		if err != nil || !bytes.Equal(back, append([]byte("re:"), msg...)) {
			t.Fatalf("response: %v", err)
		}
	}
	// Two encapsulations of one message differ (a fresh context each).
	a, _, _ := EncapsulateRequest(k.Config, []byte("m"), nil)
	b, _, _ := EncapsulateRequest(k.Config, []byte("m"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("encapsulation is deterministic")
	}
	// A private key round-trips through its serialization.
	priv, _ := k.MarshalPrivateKey()
	k2, err := NewKeyPair(7, hpke.KEM_X25519_HKDF_SHA256, priv, []Algorithms{DefaultAlgorithms})
	if err != nil || !bytes.Equal(k2.Config.PublicKey, k.Config.PublicKey) {
		t.Fatal(err)
	}
}

func TestDecapsulateErrors(t *testing.T) {
	k, g := newGateway(t, 7)
	enc, _, _ := EncapsulateRequest(k.Config, []byte("m"), nil)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), enc...)) }
	cases := map[string]struct {
		b    []byte
		want error
	}{
		"empty":       {nil, ErrMalformed},
		"header only": {enc[:7], ErrMalformed},
		"no ct":       {enc[:7+32], ErrOpen},
		"unknown id":  {mod(func(b []byte) []byte { b[0] = 8; return b }), ErrKey},
		"other KEM":   {mod(func(b []byte) []byte { binary.BigEndian.PutUint16(b[1:], 0x10); return b }), ErrKey},
		"other AEAD":  {mod(func(b []byte) []byte { binary.BigEndian.PutUint16(b[5:], 3); return b }), ErrKey},
		"flipped enc": {mod(func(b []byte) []byte { b[10] ^= 1; return b }), ErrOpen},
		"flipped ct":  {mod(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrOpen},
		"zero enc":    {mod(func(b []byte) []byte { clear(b[7:39]); return b }), ErrOpen},
	}
	for name, c := range cases {
		if _, _, err := g.DecapsulateRequest(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestKeyConfigs(t *testing.T) {
	k1, _ := newGateway(t, 1)
	k2, _ := newGateway(t, 2)
	g, err := NewGateway(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	list, err := g.KeyConfigs()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ParseKeyConfigs(list)
	if err != nil || len(cs) != 2 || cs[0].ID != 1 || cs[1].ID != 2 {
		t.Fatalf("%+v, %v", cs, err)
	}
	// A configuration with a KEM we do not know is skipped; the rest stays.
	unknown := []byte{9, 0xab, 0xcd, 1, 2, 3}
	withUnknown := append(binary.BigEndian.AppendUint16(nil, uint16(len(unknown))), unknown...)
	if cs, err := ParseKeyConfigs(append(withUnknown, list...)); err != nil || len(cs) != 2 {
		t.Fatalf("%+v, %v", cs, err)
	}
	// Any encoding error discards the whole list.
	for _, bad := range [][]byte{nil, list[:len(list)-1], append(list, 0), append(list, 0, 5, 1)} {
		if _, err := ParseKeyConfigs(bad); err == nil {
			t.Errorf("%x accepted", bad)
		}
	}
	if _, err := NewGateway(k1, k1); err == nil {
		t.Fatal("duplicate ids accepted")
	}
	// Only supported algorithm pairs are chosen.
	c := k1.Config
	c.Algorithms = []Algorithms{{hpke.KDF_HKDF_SHA256, 0xffff}, {0x99, hpke.AEAD_AES128GCM}}
	if _, _, err := EncapsulateRequest(c, nil, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("export-only AEAD: %v", err)
	}
}

// TestHTTP runs the gateway handler and the client transport over HTTP
// with a relay that only copies bodies.
func TestHTTP(t *testing.T) {
	k, g := newGateway(t, 3)
	var inner *http.Request
	target := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = r
		if !ViaGateway(r.Context()) {
			t.Error("inner request not marked")
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTeapot)
		w.Write(append([]byte("got "), body...))
	})
	gw := httptest.NewServer(&GatewayHandler{Gateway: g, Target: target})
	defer gw.Close()
	var flip bool
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if flip {
			b[len(b)-1] ^= 1
		}
		resp, err := http.Post(gw.URL, r.Header.Get("Content-Type"), bytes.NewReader(b))
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer relay.Close()

	refreshed := 0
	cfg := k.Config
	cfg.ID = 4 // stale: the first request is refused, the transport refetches
	hc := &http.Client{Transport: &Transport{Relay: relay.URL, Keys: func(_ context.Context, refresh bool) (KeyConfig, error) {
		if refresh {
			refreshed++
			return k.Config, nil
		}
		return cfg, nil
	}}}
	resp, err := hc.Post("http://aggregator.example/v1/reports?x=1", "application/cbor", strings.NewReader("batch"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTeapot || string(body) != "got batch" || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	if refreshed != 1 {
		t.Fatalf("refreshed %d times", refreshed)
	}
	if inner.Host != "aggregator.example" || inner.URL.Path != "/v1/reports" || inner.URL.RawQuery != "x=1" || inner.RemoteAddr != "" {
		t.Fatalf("inner %+v", inner)
	}
	if len(inner.Header) != 1 || inner.Header.Get("Content-Type") != "application/cbor" {
		t.Fatalf("inner header %v", inner.Header)
	}
	// A byte changed on the way is refused in the clear.
	flip = true
	if _, err := hc.Get("http://aggregator.example/"); !errors.Is(err, ErrRefused) {
		t.Fatalf("flipped: %v", err)
	}
	// The gateway refuses what is not an encapsulated request.
	for _, c := range []struct {
		method, ctype string
		body          []byte
		want          int
	}{
		{"GET", RequestMediaType, nil, 405},
		{"POST", "application/cbor", []byte("x"), 415},
		{"POST", RequestMediaType, []byte("x"), 400},
		{"POST", RequestMediaType, make([]byte, 2<<20), 413},
	} {
		req, _ := http.NewRequest(c.method, gw.URL, bytes.NewReader(c.body))
		req.Header.Set("Content-Type", c.ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.ctype, resp.StatusCode, c.want)
		}
	}
	// A bad inner message gets a sealed 400.
	enc, cctx, _ := EncapsulateRequest(k.Config, []byte{0, 1}, nil)
	r2, err := http.Post(gw.URL, RequestMediaType, bytes.NewReader(enc))
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := io.ReadAll(r2.Body)
	plain, err := cctx.DecapsulateResponse(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if br, err := bhttp.UnmarshalResponse(plain); err != nil || br.Status != 400 {
		t.Fatalf("%+v %v", br, err)
	}
}

func FuzzParseKeyConfigs(f *testing.F) {
	k, g := newGateway(f, 1)
	list, _ := g.KeyConfigs()
	one, _ := k.Config.MarshalBinary()
	f.Add(list)
	f.Add(one)
	f.Add(unhex(f, vecConfig))
	f.Fuzz(func(t *testing.T, b []byte) {
		if cs, err := ParseKeyConfigs(b); err == nil {
			if _, err := MarshalKeyConfigs(cs); err != nil {
				t.Fatalf("parsed list does not encode: %v", err)
			}
		}
		if c, err := ParseKeyConfig(b); err == nil {
			enc, err := c.MarshalBinary()
			if err != nil || !bytes.Equal(enc, b) {
				t.Fatalf("config round trip: %x vs %x (%v)", enc, b, err)
			}
		}
	})
}

// FuzzDecapsulateRequest: arbitrary bytes to the gateway, alone and
// through the HTTP handler. Nothing panics; a seed that opens is real.
func FuzzDecapsulateRequest(f *testing.F) {
	k, g := newGateway(f, 1)
	good, _, _ := EncapsulateRequest(k.Config, unhex(f, vecRequest), nil)
	f.Add(good)
	f.Add(good[:7])
	f.Add([]byte{1, 0, 0x20, 0, 1, 0, 1})
	h := &GatewayHandler{Gateway: g, Target: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) })}
	f.Fuzz(func(t *testing.T, b []byte) {
		g.DecapsulateRequest(b)
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b))
		req.Header.Set("Content-Type", RequestMediaType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && (rec.Code < 400 || rec.Code > 499) {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// FuzzDecapsulateResponse: arbitrary bytes to a client waiting for a
// response. Nothing panics; nothing but the real response opens.
func FuzzDecapsulateResponse(f *testing.F) {
	k, g := newGateway(f, 1)
	enc, cctx, _ := EncapsulateRequest(k.Config, []byte("q"), nil)
	_, sctx, _ := g.DecapsulateRequest(enc)
	good, _ := sctx.EncapsulateResponse(unhex(f, vecResponse), nil)
	f.Add(good)
	f.Add(good[:16])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if pt, err := cctx.DecapsulateResponse(b); err == nil && !bytes.Equal(b, good) {
			t.Fatalf("forged response opened: %x", pt)
		}
	})
}
