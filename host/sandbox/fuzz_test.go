package sandbox_test

import (
	"errors"
	"testing"

	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/sdk/abi"
)

// FuzzParseManifest: any bytes give a manifest or ErrBadManifest, never a
// panic, and a parsed manifest survives a round trip.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"name":"tv","version":"1","abi":1,"wasm_sha256":"","categories":[706],"limits":{"memory_pages":5,"deadline_ms":20}}`))
	f.Add([]byte(`{"name":"x","author":"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`))
	f.Add([]byte(`{"name":"x","limits":{"fuel":-1}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := sandbox.ParseManifest(b)
		if err != nil {
			if !errors.Is(err, sandbox.ErrBadManifest) {
				t.Fatalf("error %v does not wrap ErrBadManifest", err)
			}
			return
		}
		again, err := m.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := sandbox.ParseManifest(again)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", again, err)
		}
		if m2.Name != m.Name || m2.WasmSHA256 != m.WasmSHA256 || !m2.Author.Equal(m.Author) || len(m2.Categories) != len(m.Categories) {
			t.Fatalf("round trip changed %+v into %+v", m, m2)
		}
	})
}

// FuzzVerifyManifest: no input verifies without the trusted key's
// signature, and every refusal wraps ErrRefused.
func FuzzVerifyManifest(f *testing.F) {
	key, _ := sandbox.ParsePrivateKey("secret-ed25519:" + "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	signed, _ := sandbox.SignManifest(sandbox.Manifest{Name: "example", Categories: []uint32{706}}, plugins.Example, key)
	trust := sandbox.NewTrustStore(key.Public())
	f.Add(signed)
	f.Add([]byte(`{"manifest":{"name":"x"},"signature":{"alg":"ed25519","sig":""}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := sandbox.VerifyManifest(b, trust)
		if err != nil {
			if !errors.Is(err, sandbox.ErrRefused) {
				t.Fatalf("error %v does not wrap ErrRefused", err)
			}
			return
		}
		if !m.Author.Equal(key.Public()) {
			t.Fatalf("verified a manifest by %v", m.Author)
		}
	})
}

// FuzzDecodeOutput: any plugin output decodes to validated scores or
// ErrBadOutput.
func FuzzDecodeOutput(f *testing.F) {
	declared := map[uint32]bool{706: true, 408: true}
	ok := make([]byte, 16)
	abi.PutScores(ok, []abi.Score{{Category: 706, Value: 0.5}, {Category: 408, Value: 1}})
	f.Add(ok)
	f.Add([]byte{0xc2, 2, 0, 0, 0, 0, 0xc0, 0x7f}) // NaN
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		scores, err := sandbox.DecodeOutput(b, declared)
		if err != nil {
			if !errors.Is(err, sandbox.ErrBadOutput) {
				t.Fatalf("error %v does not wrap ErrBadOutput", err)
			}
			return
		}
		seen := map[uint32]bool{}
		for _, s := range scores {
			if !declared[s.Category] || seen[s.Category] || !(s.Value >= 0 && s.Value <= 1) {
				t.Fatalf("accepted %v", scores)
			}
			seen[s.Category] = true
		}
	})
}
