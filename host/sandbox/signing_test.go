package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/testdata"
)

func mustKey(t testing.TB, alg sandbox.SigAlg) sandbox.PrivateKey {
	t.Helper()
	k, err := sandbox.GenerateKey(alg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func tvManifest() sandbox.Manifest {
	return sandbox.Manifest{Name: "example", Version: "1.0.0", Categories: []uint32{706}}
}

func TestLoadSigned(t *testing.T) {
	ctx := context.Background()
	wasm := plugins.Example
	author := mustKey(t, sandbox.Ed25519)
	stranger := mustKey(t, sandbox.Ed25519)
	hybrid := mustKey(t, sandbox.Ed25519MLDSA65)
	signed, err := sandbox.SignManifest(tvManifest(), wasm, author)
	if err != nil {
		t.Fatal(err)
	}
	signedHybrid, err := sandbox.SignManifest(tvManifest(), wasm, hybrid)
	if err != nil {
		t.Fatal(err)
	}
	byStranger, _ := sandbox.SignManifest(tvManifest(), wasm, stranger)
	wrongABI := tvManifest()
	wrongABI.ABI = 2
	signedV2, _ := sandbox.SignManifest(wrongABI, wasm, author)
	bare, _ := tvManifest().MarshalJSON()
	tampered := bytes.Replace(signed, []byte("706"), []byte("707"), 1)
	otherWasm := append(append([]byte{}, wasm...), 0, 0) // a custom section would do too

	trust := sandbox.NewTrustStore(author.Public(), hybrid.Public())
	rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithTrustStore(trust))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		manifest []byte
		wasm     []byte
		want     error
	}{
		{"ed25519", signed, wasm, nil},
		{"hybrid", signedHybrid, wasm, nil},
		{"bare manifest", bare, wasm, sandbox.ErrUnsigned},
		{"tampered", tampered, wasm, sandbox.ErrBadSignature},
		{"unknown author", byStranger, wasm, sandbox.ErrUnknownAuthor},
		{"wrong digest", signed, otherWasm, sandbox.ErrDigestMismatch},
		{"wrong ABI", signedV2, wasm, sandbox.ErrWrongABI},
		{"garbage", []byte("{"), wasm, sandbox.ErrBadManifest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := rt.LoadSigned(ctx, tc.manifest, tc.wasm)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close(ctx)
				if got, err := p.Score(ctx, nil); err != nil || len(got) != 0 {
					t.Fatalf("Score = %v, %v", got, err)
				}
				if !p.Manifest().Author.Equal(trust2(tc.name, author, hybrid)) {
					t.Fatalf("author = %v", p.Manifest().Author)
				}
				return
			}
			if !errors.Is(err, sandbox.ErrRefused) || !errors.Is(err, tc.want) {
				if p != nil {
					p.Close(ctx)
				}
				t.Fatalf("LoadSigned error = %v, want ErrRefused and %v", err, tc.want)
			}
		})
	}
}

func trust2(name string, ed, hybrid sandbox.PrivateKey) sandbox.PublicKey {
	if name == "hybrid" {
		return hybrid.Public()
	}
	return ed.Public()
}

func TestKeysRoundTrip(t *testing.T) {
	for _, alg := range []sandbox.SigAlg{sandbox.Ed25519, sandbox.Ed25519MLDSA65} {
		k := mustKey(t, alg)
		k2, err := sandbox.ParsePrivateKey(k.String())
		if err != nil {
			t.Fatal(err)
		}
		pub, err := sandbox.ParsePublicKey(k2.Public().String())
		if err != nil || !pub.Equal(k.Public()) {
			t.Fatalf("%s: public key round trip: %v", alg, err)
		}
		if _, err := sandbox.ParsePublicKey(k.String()); !errors.Is(err, sandbox.ErrBadKey) {
			t.Fatalf("%s: a private key parsed as public: %v", alg, err)
		}
	}
}

func TestParseTrustStore(t *testing.T) {
	a, b := mustKey(t, sandbox.Ed25519), mustKey(t, sandbox.Ed25519MLDSA65)
	file := "# device trust store\n\n" + a.Public().String() + " Acme Plugins\n" + b.Public().String() + "\n"
	ts, err := sandbox.ParseTrustStore([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if ts.Len() != 2 || !ts.Trusts(a.Public()) || !ts.Trusts(b.Public()) || ts.Trusts(mustKey(t, sandbox.Ed25519).Public()) {
		t.Fatalf("trust store %d keys, wrong membership", ts.Len())
	}
	if _, err := sandbox.ParseTrustStore([]byte("ed25519:AAAA\n")); !errors.Is(err, sandbox.ErrBadKey) {
		t.Fatalf("short key error = %v", err)
	}
}

func TestParseManifest(t *testing.T) {
	good := `{"name":"tv","version":"1","abi":1,"wasm_sha256":"` + strings.Repeat("ab", 32) + `","categories":[706,709],"limits":{"memory_pages":16,"deadline_ms":20}}`
	m, err := sandbox.ParseManifest([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "tv" || len(m.Categories) != 2 || m.Limits.MemoryPages != 16 || m.Limits.Deadline.Milliseconds() != 20 {
		t.Fatalf("parsed %+v", m)
	}
	again, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if m2, err := sandbox.ParseManifest(again); err != nil || m2.WasmSHA256 != m.WasmSHA256 {
		t.Fatalf("round trip: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown field": `{"name":"x","evil":1}`,
		"no name":       `{"version":"1"}`,
		"short digest":  `{"name":"x","wasm_sha256":"abcd"}`,
		"dup category":  `{"name":"x","categories":[1,1]}`,
		"negative":      `{"name":"x","limits":{"fuel":-1}}`,
		"trailing":      `{"name":"x"} {}`,
		"bad author":    `{"name":"x","author":"rsa:AAAA"}`,
	} {
		if _, err := sandbox.ParseManifest([]byte(bad)); !errors.Is(err, sandbox.ErrBadManifest) {
			t.Errorf("%s: error = %v, want ErrBadManifest", name, err)
		}
	}
}

// TestExamplePluginsSigned loads every committed example plugin through the
// signed path, as a device would: a stale manifest (module rebuilt without
// re-signing) fails here.
func TestExamplePluginsSigned(t *testing.T) {
	ctx := context.Background()
	trust, err := sandbox.ParseTrustStore(testdata.PluginTrustStore)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := sandbox.NewRuntimeWithConfig(sandbox.NewRuntimeConfig().WithTrustStore(trust))
	if err != nil {
		t.Fatal(err)
	}
	for name, wasm := range map[string][]byte{"fitness": plugins.Fitness, "fridge": plugins.Fridge, "tv": plugins.TV, "car": plugins.Car, "home": plugins.Home} {
		signed, err := testdata.PluginManifests.ReadFile("plugins/" + name + ".manifest.json")
		if err != nil {
			t.Fatal(err)
		}
		p, err := rt.LoadSigned(ctx, signed, wasm)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p.Close(ctx)
	}
}
