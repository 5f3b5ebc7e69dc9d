package host_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/testdata"
)

func mustKey(t testing.TB, alg host.SigAlg) host.PrivateKey {
	t.Helper()
	k, err := host.GenerateKey(alg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func tvManifest() host.Manifest {
	return host.Manifest{Name: "example", Version: "1.0.0", Categories: []uint32{706}}
}

func TestLoadSigned(t *testing.T) {
	ctx := context.Background()
	wasm := testdata.ExamplePlugin
	author := mustKey(t, host.Ed25519)
	stranger := mustKey(t, host.Ed25519)
	hybrid := mustKey(t, host.Ed25519MLDSA65)
	signed, err := host.SignManifest(tvManifest(), wasm, author)
	if err != nil {
		t.Fatal(err)
	}
	signedHybrid, err := host.SignManifest(tvManifest(), wasm, hybrid)
	if err != nil {
		t.Fatal(err)
	}
	byStranger, _ := host.SignManifest(tvManifest(), wasm, stranger)
	wrongABI := tvManifest()
	wrongABI.ABI = 2
	signedV2, _ := host.SignManifest(wrongABI, wasm, author)
	bare, _ := tvManifest().MarshalJSON()
	tampered := bytes.Replace(signed, []byte("706"), []byte("707"), 1)
	otherWasm := append(append([]byte{}, wasm...), 0, 0) // a custom section would do too

	trust := host.NewTrustStore(author.Public(), hybrid.Public())
	rt, err := host.NewRuntimeWithConfig(host.NewRuntimeConfig().WithTrustStore(trust))
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
		{"bare manifest", bare, wasm, host.ErrUnsigned},
		{"tampered", tampered, wasm, host.ErrBadSignature},
		{"unknown author", byStranger, wasm, host.ErrUnknownAuthor},
		{"wrong digest", signed, otherWasm, host.ErrDigestMismatch},
		{"wrong ABI", signedV2, wasm, host.ErrWrongABI},
		{"garbage", []byte("{"), wasm, host.ErrBadManifest},
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
			if !errors.Is(err, host.ErrRefused) || !errors.Is(err, tc.want) {
				if p != nil {
					p.Close(ctx)
				}
				t.Fatalf("LoadSigned error = %v, want ErrRefused and %v", err, tc.want)
			}
		})
	}
}

func trust2(name string, ed, hybrid host.PrivateKey) host.PublicKey {
	if name == "hybrid" {
		return hybrid.Public()
	}
	return ed.Public()
}

func TestKeysRoundTrip(t *testing.T) {
	for _, alg := range []host.SigAlg{host.Ed25519, host.Ed25519MLDSA65} {
		k := mustKey(t, alg)
		k2, err := host.ParsePrivateKey(k.String())
		if err != nil {
			t.Fatal(err)
		}
		pub, err := host.ParsePublicKey(k2.Public().String())
		if err != nil || !pub.Equal(k.Public()) {
			t.Fatalf("%s: public key round trip: %v", alg, err)
		}
		if _, err := host.ParsePublicKey(k.String()); !errors.Is(err, host.ErrBadKey) {
			t.Fatalf("%s: a private key parsed as public: %v", alg, err)
		}
	}
}

func TestParseTrustStore(t *testing.T) {
	a, b := mustKey(t, host.Ed25519), mustKey(t, host.Ed25519MLDSA65)
	file := "# device trust store\n\n" + a.Public().String() + " Acme Plugins\n" + b.Public().String() + "\n"
	ts, err := host.ParseTrustStore([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if ts.Len() != 2 || !ts.Trusts(a.Public()) || !ts.Trusts(b.Public()) || ts.Trusts(mustKey(t, host.Ed25519).Public()) {
		t.Fatalf("trust store %d keys, wrong membership", ts.Len())
	}
	if _, err := host.ParseTrustStore([]byte("ed25519:AAAA\n")); !errors.Is(err, host.ErrBadKey) {
		t.Fatalf("short key error = %v", err)
	}
}

func TestParseManifest(t *testing.T) {
	good := `{"name":"tv","version":"1","abi":1,"wasm_sha256":"` + strings.Repeat("ab", 32) + `","categories":[706,709],"limits":{"memory_pages":16,"deadline_ms":20}}`
	m, err := host.ParseManifest([]byte(good))
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
	if m2, err := host.ParseManifest(again); err != nil || m2.WasmSHA256 != m.WasmSHA256 {
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
		if _, err := host.ParseManifest([]byte(bad)); !errors.Is(err, host.ErrBadManifest) {
			t.Errorf("%s: error = %v, want ErrBadManifest", name, err)
		}
	}
}

// TestExamplePluginsSigned loads every committed example plugin through the
// signed path, as a device would: a stale manifest (module rebuilt without
// re-signing) fails here.
func TestExamplePluginsSigned(t *testing.T) {
	ctx := context.Background()
	trust, err := host.ParseTrustStore(testdata.PluginTrustStore)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := host.NewRuntimeWithConfig(host.NewRuntimeConfig().WithTrustStore(trust))
	if err != nil {
		t.Fatal(err)
	}
	for name, wasm := range map[string][]byte{"fitness": testdata.FitnessPlugin, "fridge": testdata.FridgePlugin, "tv": testdata.TVPlugin, "car": testdata.CarPlugin} {
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
